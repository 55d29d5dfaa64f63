/**
 * `cnr cli [--state-dir DIR] [-c "cmd; cmd"]`: the Junos-like shell (controller/mgmt/
 * cli-shell.ts, shared with the SSH CLI) on this terminal, a thin client of the management
 * API (MgmtClient over <stateDir>/mgmt.sock).
 */
import { createInterface, type Interface } from 'node:readline';
import { splitUnquoted } from '../controller/config/tokens.js';
import { MgmtClient } from '../controller/mgmt/client.js';
import { printResult, Shell } from '../controller/mgmt/cli-shell.js';

export { Shell } from '../controller/mgmt/cli-shell.js';

const USAGE = `usage: cnr cli [--state-dir DIR] [-c "command; command ..."]
  --state-dir DIR   where the controller keeps mgmt.sock and mgmt.token
                    (default: $CNR_STATE_DIR or /var/lib/cnr)
  -c COMMANDS       run commands separated by ';' and exit (non-zero on error)`;

/** Split a `-c` script at unquoted semicolons. */
export function splitScript(s: string): string[] {
  return splitUnquoted(s, ';').filter((c) => c !== '');
}

async function interactive(shell: Shell): Promise<number> {
  const tty = Boolean(process.stdin.isTTY);
  const rl: Interface = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: tty,
    completer: (l: string) => shell.complete(l),
  });
  if (tty) {
    // `?` shows help at once, as in Junos, without waiting for Enter
    process.stdin.on('keypress', (ch: string | undefined) => {
      if (ch !== '?') return;
      const cur = rl.line;
      const before = cur.slice(0, -1);
      (rl as unknown as { line: string; cursor: number }).line = before;
      (rl as unknown as { line: string; cursor: number }).cursor = before.length;
      process.stdout.write(`\n${shell.help(`${before}?`)}${shell.banner()}`);
      rl.setPrompt(shell.prompt());
      rl.prompt(true);
    });
  }
  const ask = () => {
    if (tty) {
      process.stdout.write(shell.banner());
      rl.setPrompt(shell.prompt());
      rl.prompt();
    }
  };
  ask();
  for await (const l of rl) {
    try {
      if (!(await shell.line(l))) break;
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
    }
    ask();
  }
  rl.close();
  return 0;
}

export async function run(args: string[]): Promise<number> {
  let stateDir = process.env.CNR_STATE_DIR || '/var/lib/cnr';
  let script: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--state-dir' && args[i + 1] !== undefined) stateDir = args[++i]!;
    else if (a.startsWith('--state-dir=')) stateDir = a.slice('--state-dir='.length);
    else if (a === '-c' && args[i + 1] !== undefined) script = args[++i]!;
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      return 0;
    } else {
      console.error(`cnr cli: unexpected argument '${a}'\n${USAGE}`);
      return 2;
    }
  }
  let client: MgmtClient;
  try {
    client = MgmtClient.fromStateDir(stateDir);
  } catch (e) {
    console.error(`cnr cli: cannot read the management token in ${stateDir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): is the controller running, and may you read its state directory?`);
    return 1;
  }
  if (script !== undefined) {
    const results = await client.exec(splitScript(script));
    for (const r of results) printResult(r, process.stdout, process.stderr);
    return results.some((r) => r.error !== undefined) ? 1 : 0;
  }
  const shell = new Shell(client);
  await shell.init();
  return interactive(shell);
}
