/**
 * A `cnr controller` with NETCONF on loopback for the Junos-client interop tests (PyEZ,
 * Ansible, netmiko over the SSH CLI): its own temporary directory named after the test's pid, a free port, one
 * password user from `system login`, an interface, a router id and one BGP neighbor that
 * never comes up (state for the operational RPCs to show). No metrics listener: these tests
 * run side by side, and its fixed port would be taken. Stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './harness/cnr.js';
import { MgmtClient } from '../../src/controller/mgmt/client.js';
import { crypt } from '../../src/controller/mgmt/login.js';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return p;
}

export class NetconfController {
  private output = '';

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly child: ChildProcess,
    /** the CLI over SSH, when started with `ssh: true` */
    readonly sshPort: number,
  ) {
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  static async start(name: string, hostName: string, user: string, password: string, opts: { ssh?: boolean; extra?: string[] } = {}): Promise<NetconfController> {
    const dir = mkdtempSync(join(tmpdir(), `cnr-${name}-${process.pid}-`));
    const port = await freePort();
    const sshPort = opts.ssh ? await freePort() : 0;
    const config = [
      `set system host-name ${hostName}`,
      `set system services netconf ssh port ${port}`,
      ...(opts.ssh ? [`set system services ssh port ${sshPort}`] : []),
      ...(opts.extra ?? []),
      `set system login user ${user} authentication encrypted-password "${crypt(password, `$6$${name}salt$`)}"`,
      'set interfaces eth1 unit 0 family inet address 192.0.2.1/24',
      'set routing-options router-id 192.0.2.1',
      'set routing-options autonomous-system 65001',
      'set protocols bgp group peers type external',
      'set protocols bgp group peers neighbor 192.0.2.2 peer-as 65002',
    ];
    writeFileSync(join(dir, 'cnr.set'), `${config.join('\n')}\n`);
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'cnr'), 'controller', '--agent-address', '127.0.0.1:1', '--config', join(dir, 'cnr.set'), '--state-dir', join(dir, 'state'), '--metrics', 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const c = new NetconfController(dir, port, child, sshPort);
    const end = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`cnr controller exited: ${c.log()}`);
      // started whole: a start that fails after the listeners bound (a port taken) exits
      if (/cnr controller: running/.test(c.output)) return c;
      if (Date.now() > end) throw new Error(`cnr controller: not running within 20 s: ${c.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The controller's recent output, for failure messages. */
  log(): string {
    return this.output.slice(-2000);
  }

  /** Runs CLI commands through the management API (as `cnr cli` does). */
  exec(commands: string[]) {
    return MgmtClient.fromStateDir(join(this.dir, 'state')).exec(commands, 'interop');
  }

  /** Stops the controller by its pid (SIGTERM, then SIGKILL after 5 s). */
  async terminate(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.terminate();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
