/**
 * ExaBGP in a namespace, driven through its API: the config's `process` runs a tiny reader
 * that copies lines from a FIFO we own to ExaBGP's API, so a test can announce and withdraw
 * routes — including ones with crafted attributes (`attribute [ 0xCODE 0xFLAGS 0xDATA ]`) —
 * whenever it likes. ExaBGP runs in the foreground with its environment settings passed as
 * variables, logging to a file in the lab's directory.
 */
import { closeSync, constants, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './lab.js';
import { must, sleep, waitFor, type Daemon, WaitAborted } from './proc.js';

export interface ExabgpNeighbor {
  address: string;
  localAddress: string;
  asn: number;
  localAs: number;
  routerId: string;
  /** families block body, e.g. 'ipv4 unicast; ipv6 unicast;' */
  families?: string;
}

const READER = `import os, sys, time
fifo = sys.argv[1]
while True:
    with open(fifo) as f:
        for line in f:
            sys.stdout.write(line)
            sys.stdout.flush()
`;

export class Exabgp {
  daemon!: Daemon;
  readonly fifo: string;
  readonly logFile: string;

  private constructor(readonly dir: string) {
    this.fifo = join(dir, 'api.fifo');
    this.logFile = join(dir, 'exabgp.log');
  }

  static async start(lab: Lab, ns: string, name: string, neighbors: ExabgpNeighbor[]): Promise<Exabgp> {
    const dir = join(lab.dir, `exabgp-${name}`);
    mkdirSync(dir, { recursive: true });
    const e = new Exabgp(dir);
    must('mkfifo', [e.fifo]);
    const reader = join(dir, 'api-reader.py');
    writeFileSync(reader, READER);
    const conf = [
      'process api {',
      `  run /usr/bin/python3 ${reader} ${e.fifo};`,
      '  encoder text;',
      '}',
      ...neighbors.map((n) =>
        [
          `neighbor ${n.address} {`,
          `  router-id ${n.routerId};`,
          `  local-address ${n.localAddress};`,
          `  local-as ${n.localAs};`,
          `  peer-as ${n.asn};`,
          `  family { ${n.families ?? (n.address.includes(':') ? 'ipv6 unicast;' : 'ipv4 unicast;')} }`,
          '  capability { route-refresh; }',
          '  api { processes [ api ]; }',
          '}',
        ].join('\n'),
      ),
    ].join('\n');
    const confPath = join(dir, 'exabgp.conf');
    writeFileSync(confPath, conf + '\n');
    e.daemon = lab.daemon(`exabgp-${name}`, ns, 'env', [
      'exabgp.daemon.user=root',
      'exabgp.daemon.daemonize=false',
      `exabgp.log.destination=${e.logFile}`,
      'exabgp.log.level=INFO',
      'exabgp.log.packets=true',
      'exabgp.api.cli=false',
      'exabgp.api.ack=false',
      `exabgp.daemon.pid=${join(dir, 'exabgp.pid')}`,
      'exabgp', confPath,
    ]);
    await waitFor('exabgp api reader', async () => {
      if (e.daemon.child.exitCode !== null) throw new WaitAborted(`exabgp exited: ${e.daemon.output().slice(-2000)}`);
      return e.tryOpenFifo();
    }, 20_000);
    return e;
  }

  /** The FIFO opens for writing only once the reader has it open. */
  private tryOpenFifo(): boolean {
    try {
      closeSync(openSync(this.fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      return true;
    } catch {
      return false;
    }
  }

  /** Send API commands (e.g. 'announce route 10.0.0.0/24 next-hop self'). */
  async api(...commands: string[]): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const fd = openSync(this.fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        try {
          writeSync(fd, commands.map((c) => c + '\n').join(''));
        } finally {
          closeSync(fd);
        }
        // the reader reopens the FIFO after each writer; give it the moment it needs
        await sleep(100);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`exabgp api: ${String(err)}`);
        await sleep(50);
      }
    }
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}
