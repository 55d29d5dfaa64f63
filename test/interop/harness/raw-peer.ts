/**
 * A raw BGP peer for crafted messages ExaBGP cannot produce (duplicate attributes, attribute
 * lengths that overrun the attribute field): the project's injector (bench/lib/bgp-injector)
 * run inside a namespace in its `--stdin` mode, fed one hex-encoded message per line.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.js';
import { waitFor, type Daemon, WaitAborted } from './proc.js';

const injectorJs = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'bench', 'lib', 'bgp-injector.js');

export class RawPeer {
  private constructor(readonly daemon: Daemon) {}

  static async start(lab: Lab, ns: string, o: { peer: string; localAddress: string; localAs: number }): Promise<RawPeer> {
    const d = lab.daemon('raw-peer', ns, process.execPath, [
      injectorJs, '--stdin', '1', '--peer', o.peer, '--local-address', o.localAddress, '--local-as', String(o.localAs),
    ], undefined, 'pipe');
    const r = new RawPeer(d);
    await waitFor('raw peer session', () => {
      if (d.child.exitCode !== null) throw new WaitAborted(`raw peer exited: ${d.output()}`);
      return d.output().includes('"established"');
    }, 30_000);
    return r;
  }

  /** Send one complete BGP message. */
  async send(msg: Uint8Array): Promise<void> {
    const before = this.count('sent-raw');
    this.daemon.child.stdin!.write(Buffer.from(msg).toString('hex') + '\n');
    await waitFor('raw message written', () => this.count('sent-raw') > before, 5000, 20);
  }

  private count(ev: string): number {
    return this.daemon.output().split(`"event":"${ev}"`).length - 1;
  }

  /** Whether the session is still up (the injector exits when it closes). */
  get alive(): boolean {
    return this.daemon.child.exitCode === null;
  }
}
