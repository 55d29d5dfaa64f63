/**
 * Syslog (`system syslog`): the process's log lines (log.ts) as RFC 5424 messages over UDP
 * (RFC 5426) to each configured `host`, and as lines in each configured `file` (under
 * <stateDir>/log, read back by `show log NAME`). The log lines are the one source: a table
 * of patterns (EVENTS) gives each line its Junos-style facility, severity and MSGID, and the
 * structured data of the events that have some (the committing user and comment, the BGP
 * neighbour and its states); a line no pattern knows is `daemon info`. Each destination
 * keeps what its facility filters let through (`any info`, `interactive-commands notice`;
 * a named facility wins over `any`; `none` keeps nothing).
 *
 * Facilities on the wire (Junos's names → syslog codes): kernel 0, user 1, daemon 3,
 * authorization 4, firewall 19 (local3), pfe 20 (local4), change-log 22 (local6),
 * interactive-commands 23 (local7). The structured-data ID is `cnr@32473` (32473 is the
 * enterprise number RFC 5612 sets aside for documentation: cnr has none of its own).
 */
import { createSocket, type Socket } from 'node:dgram';
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

export const FACILITIES = {
  kernel: 0,
  user: 1,
  daemon: 3,
  authorization: 4,
  firewall: 19,
  pfe: 20,
  'change-log': 22,
  'interactive-commands': 23,
} as const;
export type Facility = keyof typeof FACILITIES;

/** RFC 5424 severities, most severe first; `any` lets all through, `none` nothing */
export const SEVERITIES = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type Level = Severity | 'any' | 'none';

/** What one destination keeps: facility (or `any`) → the least severe level it takes. */
export type SyslogFilter = Partial<Record<Facility | 'any', Level>>;

export interface SyslogHost {
  address: string;
  port: number;
  filter: SyslogFilter;
}

export interface SyslogFile {
  name: string;
  filter: SyslogFilter;
}

export interface SyslogConfig {
  hosts: SyslogHost[];
  files: SyslogFile[];
}

/** One classified log line. */
export interface SyslogEvent {
  facility: Facility;
  severity: Severity;
  msgid: string;
  /** SD-PARAMs of `cnr@32473`, when the event carries some */
  data?: Record<string, string>;
  text: string;
}

interface EventPattern {
  re: RegExp;
  facility: Facility;
  severity: Severity;
  msgid: string;
  data?: (m: RegExpExecArray) => Record<string, string>;
}

/** The events cnr's log lines tell, most specific first. */
const EVENTS: EventPattern[] = [
  {
    re: /\bcommit (\d+) by (\S+?)(?: via (\S+?))?(?:: (.*))?$/,
    facility: 'interactive-commands',
    severity: 'notice',
    msgid: 'UI_COMMIT',
    data: (m) => ({ seq: m[1]!, user: m[2]!, ...(m[3] ? { via: m[3] } : {}), ...(m[4] ? { comment: m[4] } : {}) }),
  },
  { re: /\bcommit (\d+) .*: rolling back$/, facility: 'interactive-commands', severity: 'warning', msgid: 'UI_COMMIT_ROLLBACK', data: (m) => ({ seq: m[1]! }) },
  {
    re: /\bcommit by (\S+?)(?: via (\S+?))? refused: (.*)$/,
    facility: 'interactive-commands',
    severity: 'error',
    msgid: 'UI_CONFIGURATION_ERROR',
    data: (m) => ({ user: m[1]!, ...(m[2] ? { via: m[2] } : {}) }),
  },
  { re: /\bconfig file (\S+) refused/, facility: 'interactive-commands', severity: 'error', msgid: 'UI_CONFIGURATION_ERROR', data: (m) => ({ file: m[1]! }) },
  {
    re: /\bbgp neighbor (\S+): (\S+) -> (Established) on (\S+)/,
    facility: 'daemon',
    severity: 'notice',
    msgid: 'BGP_NEIGHBOR_STATE_CHANGED',
    data: (m) => ({ peer: m[1]!, from: m[2]!, to: m[3]!, event: m[4]! }),
  },
  {
    re: /\bbgp neighbor (\S+): (Established) -> (\S+) on (\S+)/,
    facility: 'daemon',
    severity: 'warning',
    msgid: 'BGP_NEIGHBOR_STATE_CHANGED',
    data: (m) => ({ peer: m[1]!, from: m[2]!, to: m[3]!, event: m[4]! }),
  },
  // link state as the vRouter reports it (attached and forwarding, or gone), as Junos's mib2d logs it
  { re: /\binterface (\S+): link up$/, facility: 'daemon', severity: 'info', msgid: 'SNMP_TRAP_LINK_UP', data: (m) => ({ interface: m[1]! }) },
  { re: /\binterface (\S+): link down$/, facility: 'daemon', severity: 'warning', msgid: 'SNMP_TRAP_LINK_DOWN', data: (m) => ({ interface: m[1]! }) },
  { re: /\bisis: adjacency (\S+) on (\S+): (\S+) -> up\b/, facility: 'daemon', severity: 'notice', msgid: 'RPD_ISIS_ADJUP', data: (m) => ({ neighbor: m[1]!, interface: m[2]!, from: m[3]! }) },
  { re: /\bisis: adjacency (\S+) on (\S+): up -> (\S+)/, facility: 'daemon', severity: 'warning', msgid: 'RPD_ISIS_ADJDOWN', data: (m) => ({ neighbor: m[1]!, interface: m[2]!, to: m[3]! }) },
  { re: /\bdata plane drops: (\d+) in (\S+) s \((\d+)\/s; (.*)\)$/, facility: 'pfe', severity: 'warning', msgid: 'CNR_DATAPLANE_DROPS', data: (m) => ({ drops: m[1]!, seconds: m[2]!, rate: m[3]!, reasons: m[4]! }) },
  { re: /\bcnr (\S+): running\b/, facility: 'daemon', severity: 'notice', msgid: 'DAEMON_START', data: (m) => ({ daemon: m[1]! }) },
  { re: /\bcnr (\S+): (?:stopping|\S+ during start-up: exiting)/, facility: 'daemon', severity: 'notice', msgid: 'DAEMON_STOP', data: (m) => ({ daemon: m[1]! }) },
  { re: /\b(?:logged in|password refused)\b/, facility: 'authorization', severity: 'info', msgid: 'LOGIN' },
  { re: /\bWARNING\b/, facility: 'daemon', severity: 'warning', msgid: '-' },
  { re: /\b(?:error|failed|cannot)\b/i, facility: 'daemon', severity: 'error', msgid: '-' },
];

/** The facility, severity and MSGID of one log line. */
export function classify(text: string): SyslogEvent {
  for (const p of EVENTS) {
    const m = p.re.exec(text);
    if (!m) continue;
    const ev: SyslogEvent = { facility: p.facility, severity: p.severity, msgid: p.msgid, text };
    if (p.data) ev.data = p.data(m);
    return ev;
  }
  return { facility: 'daemon', severity: 'info', msgid: '-', text };
}

/** Whether a destination's filter keeps an event. */
export function keeps(filter: SyslogFilter, ev: SyslogEvent): boolean {
  const level = filter[ev.facility] ?? filter.any;
  if (level === undefined || level === 'none') return false;
  if (level === 'any') return true;
  return SEVERITIES.indexOf(ev.severity) <= SEVERITIES.indexOf(level);
}

/** RFC 5424 section 6.3.3: `"`, `\` and `]` are escaped in a PARAM-VALUE. */
function sdValue(v: string): string {
  return v.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** An RFC 5424 header field: printable US-ASCII, no spaces, or the NILVALUE. */
function field(s: string, max: number): string {
  const clean = s.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean || '-';
}

/** One RFC 5424 message (no BOM: the MSG is plain text). */
export function formatRfc5424(ev: SyslogEvent, o: { time: Date; hostName: string; appName: string; procId: number }): string {
  const pri = FACILITIES[ev.facility] * 8 + SEVERITIES.indexOf(ev.severity);
  const sd = ev.data && Object.keys(ev.data).length ? `[cnr@32473${Object.entries(ev.data).map(([k, v]) => ` ${k}="${sdValue(v)}"`).join('')}]` : '-';
  return `<${pri}>1 ${o.time.toISOString()} ${field(o.hostName, 255)} ${field(o.appName, 48)} ${o.procId} ${field(ev.msgid, 32)} ${sd} ${ev.text}`;
}

/** A log file grows to this size, then moves to NAME.0 (one archive kept). */
const FILE_LIMIT = 1 << 20;

export interface SyslogOptions {
  /** relative file names live here (<stateDir>/log) */
  logDir: string;
  hostName: () => string;
  appName?: string;
}

export class Syslog {
  private config: SyslogConfig = { hosts: [], files: [] };
  private sockets = new Map<'udp4' | 'udp6', Socket>();
  private sending = 0;
  private drained: (() => void) | undefined;

  constructor(private readonly opts: SyslogOptions) {}

  configure(config: SyslogConfig): void {
    this.config = config;
  }

  /** Where a configured file lives. */
  filePath(name: string): string {
    return isAbsolute(name) ? name : join(this.opts.logDir, name);
  }

  /** One log line of the process (its text without the time). */
  line(text: string, time = new Date()): void {
    const { hosts, files } = this.config;
    if (hosts.length === 0 && files.length === 0) return;
    const ev = classify(text);
    const hostName = this.opts.hostName();
    const appName = this.opts.appName ?? 'cnr';
    for (const h of hosts) {
      if (!keeps(h.filter, ev)) continue;
      this.send(h, Buffer.from(formatRfc5424(ev, { time, hostName, appName, procId: process.pid })));
    }
    for (const f of files) {
      if (!keeps(f.filter, ev)) continue;
      this.append(f.name, `${time.toISOString()} ${hostName} ${appName}[${process.pid}]: ${ev.msgid === '-' ? '' : `${ev.msgid}: `}${text}\n`);
    }
  }

  private send(h: SyslogHost, msg: Buffer): void {
    const family = h.address.includes(':') ? 'udp6' : 'udp4';
    let sock = this.sockets.get(family);
    if (!sock) {
      sock = createSocket(family);
      sock.on('error', () => {}); // an unreachable collector must not take the router down
      sock.unref();
      this.sockets.set(family, sock);
    }
    this.sending++;
    sock.send(msg, h.port, h.address, () => {
      if (--this.sending === 0) this.drained?.();
    });
  }

  private append(name: string, text: string): void {
    const path = this.filePath(name);
    try {
      mkdirSync(this.opts.logDir, { recursive: true, mode: 0o750 });
      try {
        if (statSync(path).size > FILE_LIMIT) renameSync(path, `${path}.0`);
      } catch {
        // no file yet
      }
      appendFileSync(path, text, { mode: 0o640 });
    } catch {
      // a full or read-only disk must not stop the router; the stderr line still exists
    }
  }

  /** Sends what is queued (bounded wait), then closes the sockets. */
  async close(): Promise<void> {
    if (this.sending > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, 1000).unref();
      });
    }
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}
