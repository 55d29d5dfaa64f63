/**
 * Packet capture inside a namespace with tshark: start before sending, stop, then read the
 * decoded fields. Files go to a root-owned temporary directory (dumpcap drops privileges
 * and cannot write into directories of other users).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { sh, stopChild, type NetnsLab } from './netns.js';

export class Capture {
  private readonly dir: string;
  readonly file: string;
  private proc: ChildProcess | undefined;

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'cnr-cap-'));
    this.file = join(this.dir, 'cap.pcapng');
  }

  /** Start tshark on `ifname` in `ns`, with an optional capture filter; resolves once it captures. */
  static async start(lab: NetnsLab, ns: string, ifname: string, filter?: string, maxSeconds = 30): Promise<Capture> {
    const c = new Capture();
    const args = ['tshark', '-q', '-i', ifname, '-a', `duration:${maxSeconds}`, '-w', c.file];
    if (filter) args.push('-f', filter);
    c.proc = lab.spawn(ns, args);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      // tshark says "Capturing on" before dumpcap has opened the interface and "Capture
      // started" once it has; older versions print only the first, so allow for both.
      let t = setTimeout(() => finish(), 8000);
      const finish = (e?: Error): void => {
        clearTimeout(t);
        c.proc!.stderr!.removeAllListeners('data');
        c.proc!.removeAllListeners('exit');
        if (e) reject(e);
        else resolve();
      };
      c.proc!.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (/Capture started/.test(err)) finish();
        else if (/Capturing on/.test(err)) {
          clearTimeout(t);
          t = setTimeout(() => finish(), 500);
        }
      });
      c.proc!.once('exit', (code) => finish(new Error(`tshark exited (${code}): ${err.trim()}`)));
    });
    return c;
  }

  /** Stop capturing (SIGINT lets tshark finish the file). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => void stopChild(p, 1000).then(resolve), 3000);
      p.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      process.kill(p.pid!, 'SIGINT');
    });
  }

  /** One row per packet matching the display filter, with the requested tshark fields (multi-valued fields joined by ','). */
  fields(displayFilter: string, fields: string[]): string[][] {
    const args = ['tshark', '-r', this.file, '-Y', displayFilter, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,'];
    for (const f of fields) args.push('-e', f);
    const out = sh(args, { timeout: 30000 });
    return out.split('\n').filter((l) => l.length > 0).map((l) => l.split('|'));
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
