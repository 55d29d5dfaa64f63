/**
 * What a software router can truthfully say about itself, as operational commands every
 * adapter shares: `show version` (cnr's version in Junos's `NN.NRN` form, which PyEZ and
 * Ansible parse), `show system uptime`, `show chassis routing-engine` (this host's memory,
 * load and boot time) and `show chassis hardware` (no hardware: the chassis is the host,
 * its serial number the machine id), `show system memory` and `show system storage` (the
 * host's memory and root file system).
 */
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import { cpus, freemem, hostname, loadavg, totalmem, uptime } from 'node:os';
import type { CommandResult, OperationalCommand } from '../types.js';
import type { ConfigStore } from '../config/store.js';

const started = Date.now();

/** cnr's package version, `0.1.0`. */
export function cnrVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** `0.1.0` → `0.1R0`: Junos's MAJOR.MINOR R build, the only form Junos tools parse. */
export function junosVersion(version = cnrVersion()): string {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? `${m[1]}.${m[2]}R${m[3]}` : '0.0R0';
}

function hostName(store: ConfigStore): string {
  const sys = store.running.system;
  const h = sys && typeof sys === 'object' && !Array.isArray(sys) ? sys['host-name'] : undefined;
  return typeof h === 'string' ? h : hostname();
}

function machineId(): string {
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    if (existsSync(f)) {
      const id = readFileSync(f, 'utf8').trim();
      if (id) return id;
    }
  }
  return hostname();
}

/** `1d 02:03` / `02:03:04`, as Junos prints a duration. */
export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  const hms = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return d ? `${d}d ${hms}` : hms;
}

const utc = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');

export interface VersionData {
  'host-name': string;
  'product-model': string;
  'product-name': string;
  'junos-version': string;
  'cnr-version': string;
}

export interface UptimeData {
  'current-time': number;
  'system-booted-time': number;
  'protocols-started-time': number;
  'last-configured-time'?: number;
  'last-configured-user'?: string;
  'load-average': number[];
}

export interface RoutingEngineData {
  slot: number;
  'mastership-state': string;
  status: string;
  model: string;
  'memory-total-mb': number;
  'memory-used-percent': number;
  cpus: number;
  'start-time': number;
  'up-time-seconds': number;
  'load-average': number[];
}

export interface ChassisData {
  name: string;
  'serial-number': string;
  description: string;
}

export interface MemoryData {
  'total-mb': number;
  'free-mb': number;
}

export interface StorageData {
  filesystems: { name: string; 'mounted-on': string; 'total-kb': number; 'used-kb': number; 'available-kb': number; 'used-percent': number }[];
}

/** The file systems holding `paths`, from statfs(2). */
function storage(paths: string[]): StorageData {
  const out: StorageData['filesystems'] = [];
  for (const path of paths) {
    try {
      const st = statfsSync(path);
      const kb = (blocks: number) => Math.floor((blocks * st.bsize) / 1024);
      const total = kb(st.blocks);
      const avail = kb(st.bavail);
      const used = total - kb(st.bfree);
      out.push({ name: path, 'mounted-on': path, 'total-kb': total, 'used-kb': used, 'available-kb': avail, 'used-percent': total ? Math.round((used / total) * 100) : 0 });
    } catch {
      // a path that is gone has no file system to report
    }
  }
  return { filesystems: out };
}

export function systemCommands(store: ConfigStore): OperationalCommand[] {
  return [
    {
      path: ['show', 'system', 'memory'],
      help: "The host's memory",
      run: async (): Promise<CommandResult> => {
        const data: MemoryData = { 'total-mb': Math.round(totalmem() / 2 ** 20), 'free-mb': Math.round(freemem() / 2 ** 20) };
        return { text: `Memory: ${data['total-mb']} MB total, ${data['free-mb']} MB free\n`, data };
      },
    },
    {
      path: ['show', 'system', 'storage'],
      help: 'The root file system',
      run: async (): Promise<CommandResult> => {
        const data = storage(['/']);
        const rows = data.filesystems.map((f) => `${f['mounted-on'].padEnd(30)} ${String(f['total-kb']).padStart(12)} ${String(f['used-kb']).padStart(12)} ${String(f['available-kb']).padStart(12)} ${String(f['used-percent']).padStart(4)}%`);
        return { text: `${'Mounted on'.padEnd(30)} ${'Size (KB)'.padStart(12)} ${'Used'.padStart(12)} ${'Avail'.padStart(12)} Capacity\n${rows.join('\n')}\n`, data };
      },
    },
    {
      path: ['show', 'version'],
      help: 'Host name, model and software version',
      run: async (): Promise<CommandResult> => {
        const data: VersionData = { 'host-name': hostName(store), 'product-model': 'cnr', 'product-name': 'cnr', 'junos-version': junosVersion(), 'cnr-version': cnrVersion() };
        return {
          text: `Hostname: ${data['host-name']}\nModel: cnr\nJunos: ${data['junos-version']}\ncnr cloud-native router [${data['cnr-version']}]\n`,
          data,
        };
      },
    },
    {
      path: ['show', 'system', 'uptime'],
      help: 'Current time, when the host booted, when cnr started and was last configured',
      run: async (): Promise<CommandResult> => {
        const now = Date.now();
        const last = store.records().at(-1);
        const data: UptimeData = { 'current-time': now, 'system-booted-time': now - uptime() * 1000, 'protocols-started-time': started, 'load-average': loadavg() };
        if (last) {
          data['last-configured-time'] = Date.parse(last.time);
          data['last-configured-user'] = last.user;
        }
        const ago = (t: number) => `${utc(t)} (${formatDuration((now - t) / 1000)} ago)`;
        const lines = [`Current time: ${utc(now)}`, `System booted: ${ago(data['system-booted-time'])}`, `Protocols started: ${ago(started)}`];
        if (last) lines.push(`Last configured: ${ago(data['last-configured-time']!)} by ${last.user}`);
        lines.push(`load averages: ${data['load-average'].map((l) => l.toFixed(2)).join(', ')}`);
        return { text: `${lines.join('\n')}\n`, data };
      },
    },
    {
      path: ['show', 'chassis', 'routing-engine'],
      help: 'The routing engine: this host (memory, CPUs, load, uptime)',
      run: async (): Promise<CommandResult> => {
        const data: RoutingEngineData = {
          slot: 0,
          'mastership-state': 'master',
          status: 'OK',
          model: 'cnr',
          'memory-total-mb': Math.round(totalmem() / 2 ** 20),
          'memory-used-percent': Math.round(100 - (freemem() / totalmem()) * 100),
          cpus: cpus().length,
          'start-time': started,
          'up-time-seconds': Math.floor(uptime()),
          'load-average': loadavg(),
        };
        const text = [
          'Routing Engine status:',
          `  Slot 0:\n    Current state                  Master`,
          `    Model                          cnr`,
          `    Total memory                   ${data['memory-total-mb']} MB Max  ${data['memory-used-percent']} % used`,
          `    CPUs                           ${data.cpus}`,
          `    Start time                     ${utc(started)}`,
          `    Uptime                         ${formatDuration(data['up-time-seconds'])}`,
          `    Load averages                  ${data['load-average'].map((l) => l.toFixed(2)).join(' ')}`,
        ];
        return { text: `${text.join('\n')}\n`, data };
      },
    },
    {
      path: ['show', 'chassis', 'hardware'],
      help: 'Hardware inventory: a software router has a host, no modules',
      run: async (): Promise<CommandResult> => {
        const data: ChassisData = { name: 'Chassis', 'serial-number': machineId(), description: 'cnr software router' };
        return { text: `Hardware inventory:\nItem             Version  Part number  Serial number     Description\nChassis                                ${data['serial-number']}  ${data.description}\n`, data };
      },
    },
  ];
}
