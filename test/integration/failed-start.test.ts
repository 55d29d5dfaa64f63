/**
 * A start that fails exits, non-zero, with its reason on stderr (issue 11, item 5): a
 * refused startup configuration, a damaged commit history, a stored configuration the checks
 * refuse, a port that is taken, a wrong option. A process that stayed up with no listeners
 * would never be restarted by Kubernetes, so each case runs the real `bin/cnr` and bounds
 * its exit. `cnr controller` cases run unprivileged; `cnr start` and `cnr vrouter` (a data
 * plane) need root and skip otherwise. And `--recover-config` does start, saying so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cnrBin } from '../lib/cnr-node.js';

const EXIT_BOUND_MS = 15_000;
const ISO_LINE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z /;
const root = process.getuid?.() === 0;
const ROOT_SKIP = root ? false : 'needs root: cnr start and cnr vrouter run a data plane';

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs bin/cnr to its exit; a process still running after the bound is killed (by its pid) and fails the test. */
function runToExit(args: string[], until?: { line: RegExp }): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cnrBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stopping = false;
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // a start that is meant to succeed: stop it once it says it runs (once: a second SIGTERM kills)
      if (until && !stopping && until.line.test(stderr)) {
        stopping = true;
        child.kill('SIGTERM');
      }
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cnr ${args.join(' ')} still running after ${EXIT_BOUND_MS} ms; stderr:\n${stderr}`));
    }, EXIT_BOUND_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

function assertRefused(r: Exit, reason: RegExp): void {
  assert.equal(r.signal, null, `exited by itself, not by a signal; stderr:\n${r.stderr}`);
  assert.equal(r.code, 1, `exit code; stderr:\n${r.stderr}`);
  assert.match(r.stderr, reason);
  for (const l of r.stderr.trimEnd().split('\n')) assert.match(l, ISO_LINE, `every line timestamped: ${l}`);
}

/** A loopback port held by this test, so that cnr cannot bind it. */
async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), `cnr-failed-start-${process.pid}-`));
}

/** The options of `cnr controller` that keep it to loopback and to no fixed port; the agent is unreachable. */
const CONTROLLER = (dir: string) => ['controller', '--state-dir', join(dir, 'state'), '--metrics', 'none', '--agent-address', '127.0.0.1:1'];
const START = (dir: string, agent = '127.0.0.1:0') => ['start', '--state-dir', join(dir, 'state'), '--metrics', 'none', '--agent-address', agent, '--introspect', 'none', '--health', 'none', '--no-vhost'];

function file(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A state directory with one good commit (host-name r1) made by a real `cnr controller`, stopped again. */
async function stateWithOneCommit(dir: string): Promise<string> {
  const cfg = file(dir, 'good.set', 'set system host-name r1\n');
  const r = await runToExit([...CONTROLLER(dir), '--config', cfg], { line: /cnr controller: running/ });
  assert.equal(r.code, 0, r.stderr);
  return join(dir, 'state', 'config', 'commit-00000001.json');
}

const UNPRIVILEGED: { name: string; args: (dir: string) => Promise<string[]>; reason: RegExp }[] = [
  {
    name: 'a startup configuration the checks refuse',
    args: async (d) => [...CONTROLLER(d), '--config', file(d, 'unit.set', 'set interfaces eth0 unit 5 family inet address 10.0.0.1/24\n')],
    reason: /cnr controller: error: rib: interfaces eth0 unit 5: only unit 0 is supported/,
  },
  {
    name: 'a startup configuration that does not parse',
    args: async (d) => [...CONTROLLER(d), '--config', file(d, 'bad.set', 'set bogus-top foo\n')],
    reason: /bad\.set: line 1: syntax error at 'bogus-top'/,
  },
  {
    name: 'a startup configuration file that is not there',
    args: async (d) => [...CONTROLLER(d), '--config', join(d, 'missing.set')],
    reason: /ENOENT.*missing\.set/,
  },
  {
    name: 'a management port that is taken',
    args: async (d) => [...CONTROLLER(d), '--config', file(d, 'rest.set', `set system services rest port ${held.port}\n`)],
    reason: /mgmt-rest: listen EADDRINUSE/,
  },
  { name: 'an unknown option', args: async (d) => [...CONTROLLER(d), '--bogus'], reason: /cnr controller: Unknown option '--bogus'/ },
  {
    name: 'a truncated newest commit',
    args: async (d) => {
      const f = await stateWithOneCommit(d);
      truncateSync(f, 10);
      return CONTROLLER(d);
    },
    reason: /commit history: \S+commit-00000001\.json: not valid JSON .*\n.*start with --recover-config/,
  },
  {
    name: 'a commit file holding null',
    args: async (d) => {
      writeFileSync(await stateWithOneCommit(d), 'null');
      return CONTROLLER(d);
    },
    reason: /commit-00000001\.json: not a commit record \(the file holds null\)/,
  },
  {
    name: 'a stored configuration the checks refuse',
    args: async (d) => {
      const f = await stateWithOneCommit(d);
      // a record of the old format (no checksum) with a configuration this version refuses
      const rec = JSON.parse(readFileSync(f, 'utf8'));
      delete rec.sha256;
      rec.config = { interfaces: { eth0: { unit: { '5': {} } } } };
      writeFileSync(f, JSON.stringify(rec));
      return CONTROLLER(d);
    },
    reason: /only unit 0 is supported[\s\S]*stored configuration \S+commit-00000001\.json is not valid/,
  },
];

let held: { port: number; server: Server };

test('cnr controller: every failed start exits 1 within the bound, its reason on stderr', async (t) => {
  held = await takenPort();
  try {
    for (const c of UNPRIVILEGED) {
      await t.test(c.name, async () => {
        const dir = scratch();
        try {
          assertRefused(await runToExit(await c.args(dir)), c.reason);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  } finally {
    held.server.close();
  }
});

test('cnr controller --recover-config starts from the newest valid commit, says so and keeps the damaged file', async () => {
  const dir = scratch();
  try {
    const f = await stateWithOneCommit(dir);
    writeFileSync(f, '{"seq":1');
    const r = await runToExit([...CONTROLLER(dir), '--recover-config', '--config', file(dir, 'again.set', 'set system host-name r2\n')], { line: /cnr controller: running/ });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /WARNING: commit history: commit-00000001\.json is damaged \(not valid JSON/);
    assert.match(r.stderr, /WARNING: commit history recovered: running the startup configuration file \(no valid commit left\); the next commit is 2/);
    assert.match(r.stderr, /commit 2 by system: initial configuration/);
    assert.equal(readFileSync(join(dir, 'state', 'config', 'damaged', 'commit-00000001.json'), 'utf8'), '{"seq":1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cnr start and cnr vrouter: a failed start exits 1 within the bound, its reason on stderr', { skip: ROOT_SKIP }, async (t) => {
  const taken = await takenPort();
  try {
    const cases: { name: string; args: (dir: string) => string[]; reason: RegExp }[] = [
      {
        name: 'cnr start, a startup configuration the checks refuse',
        args: (d) => [...START(d), '--config', file(d, 'unit.set', 'set interfaces eth0 unit 5\n')],
        reason: /cnr start: error: rib: interfaces eth0 unit 5: only unit 0 is supported/,
      },
      {
        name: 'cnr start, a damaged commit history',
        args: (d) => {
          const cfgDir = join(d, 'state', 'config');
          mkdirSync(cfgDir, { recursive: true });
          file(cfgDir, 'commit-00000001.json', '');
          return START(d);
        },
        reason: /cnr start: commit history: \S+commit-00000001\.json: empty file \(0 bytes\)/,
      },
      {
        name: 'cnr start, the agent port is taken',
        args: (d) => START(d, `127.0.0.1:${taken.port}`),
        reason: /cnr start: .*EADDRINUSE/,
      },
      { name: 'cnr vrouter, the agent port is taken', args: () => ['vrouter', '--no-vhost', '--agent-address', `127.0.0.1:${taken.port}`, '--introspect', 'none', '--health', 'none'], reason: /cnr vrouter: .*EADDRINUSE/ },
      { name: 'cnr vrouter, the introspect port is taken', args: () => ['vrouter', '--no-vhost', '--agent-address', '127.0.0.1:0', '--introspect', `127.0.0.1:${taken.port}`, '--health', 'none'], reason: /cnr vrouter: listen EADDRINUSE/ },
      { name: 'cnr vrouter, an unknown option', args: () => ['vrouter', '--bogus'], reason: /cnr vrouter: unknown option '--bogus'/ },
    ];
    for (const c of cases) {
      await t.test(c.name, async () => {
        const dir = scratch();
        try {
          assertRefused(await runToExit(c.args(dir)), c.reason);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  } finally {
    taken.server.close();
  }
});
