/**
 * What cnr-cni remembers between invocations: one small JSON record per attachment under
 * <dataDir>/<network name>/, written before anything is created, so GC can find every
 * attachment of containers the runtime has forgotten, and a lock file for the sections
 * that must not interleave between concurrent invocations.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from './errors.js';

export interface AttachmentRecord {
  containerId: string;
  ifname: string;
  netns: string;
  hostVeth: string;
  group: string;
  instanceName: string;
  /** pod addresses, CIDR as reported (TAP attachments; a veth ADD leaves it empty: CHECK reads prevResult) */
  ips: string[];
  created: string;
  /** interfaceType memif: the socket the vRouter serves for the pod (DEL and GC find its directory by it) */
  memifSocket?: string;
}

function networkDir(dataDir: string, network: string): string {
  return join(dataDir, network);
}

function recordPath(dataDir: string, network: string, containerId: string, ifname: string): string {
  return join(networkDir(dataDir, network), `${containerId}_${ifname}.json`);
}

export function writeRecord(dataDir: string, network: string, rec: AttachmentRecord): void {
  const dir = networkDir(dataDir, network);
  mkdirSync(dir, { recursive: true });
  const p = recordPath(dataDir, network, rec.containerId, rec.ifname);
  const tmp = `${p}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec));
  renameSync(tmp, p);
}

export function readRecord(dataDir: string, network: string, containerId: string, ifname: string): AttachmentRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(dataDir, network, containerId, ifname), 'utf8')) as AttachmentRecord;
  } catch {
    return undefined;
  }
}

export function removeRecord(dataDir: string, network: string, containerId: string, ifname: string): void {
  try {
    unlinkSync(recordPath(dataDir, network, containerId, ifname));
  } catch {
    // already gone
  }
}

export function listRecords(dataDir: string, network: string): AttachmentRecord[] {
  let files: string[];
  try {
    files = readdirSync(networkDir(dataDir, network));
  } catch {
    return [];
  }
  const out: AttachmentRecord[] = [];
  for (const f of files) {
    if (!f.endsWith('.json')) continue;
    try {
      out.push(JSON.parse(readFileSync(join(networkDir(dataDir, network), f), 'utf8')) as AttachmentRecord);
    } catch {
      // a torn or foreign file: skip it
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs `fn` holding the lock file `path` (O_EXCL create; the holder's pid inside, so a lock
 * left by a killed invocation is broken). Gives up with code 11 after `timeoutMs`.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        mkdirSync(join(path, '..'), { recursive: true });
        continue;
      }
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (fd !== undefined) {
      writeSync(fd, String(process.pid));
      closeSync(fd);
      try {
        return await fn();
      } finally {
        try {
          unlinkSync(path);
        } catch {
          // broken by someone who thought we were dead: nothing to release
        }
      }
    }
    let holder = NaN;
    try {
      holder = Number(readFileSync(path, 'utf8'));
    } catch {
      continue; // released between our open and read
    }
    // An empty file is a holder between open and write: give it time before judging.
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
      try {
        unlinkSync(path);
      } catch {
        // another waiter broke it first
      }
      continue;
    }
    if (Date.now() > deadline) throw new CniError(ErrorCode.TryAgainLater, `lock ${path} is held by pid ${holder}`);
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 20);
  }
}
