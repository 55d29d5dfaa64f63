/**
 * A cnr node's controller with its frame port, as a child process in a lab namespace, for
 * frame-port.test.ts: `node frame-port-child.js single|split AGENT_ADDRESS CONFIG_FILE STATE_DIR`.
 * `single` runs the vRouter in the same process (`cnr start`), `split` only the controller
 * (`cnr controller`, beside a `cnr vrouter` the test started): startNode either way, the code
 * those commands run. It listens for OSI frames on every interface named in the configuration
 * and prints "link IF up|down MAC" and "frame IF HEX"; each stdin line "send IF HEX" sends a
 * frame through the port and prints "sent IF true|false"; "stats" prints "stats JSON" (the port's counters).
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startNode } from '../../src/cmd/node.js';
import { formatMac } from '../../src/lib/addr.js';

async function main(): Promise<void> {
  const [mode, agentAddress, config, stateDir] = process.argv.slice(2);
  if ((mode !== 'single' && mode !== 'split') || !agentAddress || !config || !stateDir) throw new Error('usage: frame-port-child single|split AGENT_ADDRESS CONFIG_FILE STATE_DIR');
  const node = await startNode({ stateDir, config, agentAddress, vrouter: mode === 'single', vhost: false, introspect: false, health: false, metrics: false });
  const port = node.framePort;
  const ifnames = [...new Set([...readFileSync(config, 'utf8').matchAll(/^set interfaces (\S+)/gm)].map((m) => m[1]!))];
  const printLink = (ifname: string, up: boolean) => console.log(`link ${ifname} ${up ? 'up' : 'down'} ${formatMac(port.macOf(ifname) ?? new Uint8Array(6))}`);
  port.onLinkChange(printLink);
  // onLinkChange reports changes only: interfaces the agent announced while startNode was still
  // running (a vRouter thread answers the Frames stream at once) are read from the port as they are now
  for (const ifname of ifnames) if (port.macOf(ifname)) printLink(ifname, true);
  for (const ifname of ifnames) port.listen(ifname, 'osi', (f) => console.log(`frame ${f.ifname} ${Buffer.from(f.frame).toString('hex')}`));
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, ifname, hex] = line.trim().split(' ');
    if (cmd === 'send' && ifname && hex) console.log(`sent ${ifname} ${port.send(ifname, Buffer.from(hex, 'hex'))}`);
    else if (cmd === 'stats') console.log(`stats ${JSON.stringify(port.stats)}`);
  });
  console.log(`running ${mode}`);
  process.on('SIGTERM', () => {
    void node.stop().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
