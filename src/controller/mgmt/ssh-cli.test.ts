// The CLI over SSH against a real Controller on loopback, with ssh2's client: a pty shell
// (echo, prompt, `?`, Tab, pipes, configure and commit), a read-only user refused
// configuration mode, `ssh host COMMAND` with its exit status, and `configure exclusive`
// binding every other session until the terminal leaves or drops.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { Controller } from '../controller.js';
import { crypt } from './login.js';

const dir = mkdtempSync(join(tmpdir(), `cnr-ssh-cli-${process.pid}-`));
const PASSWORD = 'correct horse';
const hash = crypt(PASSWORD, '$6$cnrsshtest$')!;
let ctl: Controller;
let port = 0;

before(async () => {
  ctl = new Controller({
    stateDir: join(dir, 'state'),
    serve: false,
    log: () => {},
    initialConfig: {
      system: {
        'host-name': 'r1',
        services: { ssh: { port: 0 } },
        login: {
          user: {
            alice: { authentication: { 'encrypted-password': hash } },
            bob: { class: 'read-only', authentication: { 'encrypted-password': hash } },
          },
        },
      },
    },
  });
  await ctl.start();
  port = ctl.sshAddress()!.port;
});

after(async () => {
  await ctl.stop();
  rmSync(dir, { recursive: true, force: true });
});

function connect(username: string): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.on('error', reject);
    c.on('ready', () => resolve(c));
    c.connect({ host: '127.0.0.1', port, username, password: PASSWORD, readyTimeout: 5000 });
  });
}

/** An interactive pty session: type text, wait until the screen shows a pattern. */
class Terminal {
  screen = '';
  private constructor(
    readonly conn: ssh2.Client,
    private readonly ch: ssh2.ClientChannel,
  ) {
    ch.on('data', (d: Buffer) => (this.screen += d.toString()));
  }

  static async open(user: string): Promise<Terminal> {
    const conn = await connect(user);
    const ch = await new Promise<ssh2.ClientChannel>((resolve, reject) => conn.shell({ term: 'xterm', cols: 120, rows: 40 }, (e, s) => (e ? reject(e) : resolve(s))));
    const t = new Terminal(conn, ch);
    await t.wait(/> $/);
    return t;
  }

  /** Types `text` and waits for `until` in what came back since. */
  async type(text: string, until: RegExp = /[>#] $/): Promise<string> {
    const from = this.screen.length;
    this.ch.write(text);
    return this.wait(until, from);
  }

  async wait(until: RegExp, from = 0): Promise<string> {
    const end = Date.now() + 5000;
    for (;;) {
      const got = this.screen.slice(from);
      if (until.test(got)) return got;
      if (Date.now() > end) throw new Error(`waited for ${until} in ${JSON.stringify(got)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.conn.end();
  }
}

function exec(user: string, command: string): Promise<{ out: string; err: string; code: number }> {
  return connect(user).then(
    (conn) =>
      new Promise((resolve, reject) => {
        conn.exec(command, (e, ch) => {
          if (e) return reject(e);
          let out = '';
          let err = '';
          let code = -1;
          ch.on('data', (d: Buffer) => (out += d));
          ch.stderr.on('data', (d: Buffer) => (err += d));
          ch.on('exit', (c: number) => (code = c));
          ch.on('close', () => {
            conn.end();
            resolve({ out, err, code });
          });
        });
      }),
  );
}

test('a pty shell: Junos prompt, echo, ? and Tab, pipes, configure and commit', async () => {
  const t = await Terminal.open('alice');
  try {
    assert.match(t.screen, /^alice@r1> $/);
    // echo with CR LF line ends, as a terminal in raw mode needs
    const shown = await t.type('show configuration system host-name\r');
    assert.match(shown, /^show configuration system host-name\r\nhost-name r1;\r\nalice@r1> $/);
    assert.match(await t.type('show configuration | display set | match host\r'), /set system host-name r1\r\n/);
    assert.match(await t.type('show configuration system | count\r'), /Count: \d+ lines\r\n/);
    assert.match(await t.type('show configuration | display json | no-more\r'), /"host-name": "r1"/);
    assert.match(await t.type('show configuration | display xml\r'), /<host-name>r1<\/host-name>/);
    // netmiko's terminal settings are acknowledged
    assert.match(await t.type('set cli screen-length 0\r'), /Screen length set to 0\r\n/);
    // `?` answers at once and the line stays typed
    const help = await t.type('show configuration sys?', /sys$/);
    assert.match(help, /system\s+System parameters/);
    // Tab completes a unique word
    assert.match(await t.type('\x15sho\t', /show $/), /show $/);
    assert.match(await t.type('\x15configure\r', /\[edit\]\r\nalice@r1# $/), /Entering configuration mode/);
    await t.type('set system domain-name ssh.example\r', /# $/);
    assert.match(await t.type('show | compare\r'), /\+\s+domain-name ssh\.example;/);
    assert.match(await t.type('commit comment "over ssh"\r'), /commit complete/);
    assert.match(await t.type('exit\r', /alice@r1> $/), /Exiting configuration mode/);
    assert.match(await t.type('show system commit\r'), /by alice via ssh\r\n\s+over ssh/);
    assert.match(await t.type('show configuration | compare rollback 1\r'), /\+\s+domain-name ssh\.example;/);
  } finally {
    t.close();
  }
});

test('a read-only user reads but cannot enter configuration mode; secrets are hidden from it', async () => {
  const t = await Terminal.open('bob');
  try {
    assert.match(await t.type('configure\r', /bob@r1> $/), /error: permission denied/);
    assert.match(await t.type('show configuration system login\r'), /SECRET-DATA/);
  } finally {
    t.close();
  }
});

test('ssh host COMMAND: output on stdout, the exit status says whether every command succeeded', async () => {
  const ok = await exec('alice', 'show configuration system host-name; show configuration | display set | match domain');
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /host-name r1;\nset system domain-name ssh\.example\n/);
  const bad = await exec('alice', 'show bogus');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /error: syntax error/);
  assert.equal((await exec('bob', 'configure')).code, 1);
});

test('configure exclusive: the candidate is locked for the terminal until it leaves or drops, its uncommitted changes discarded', async () => {
  const t = await Terminal.open('alice');
  try {
    assert.match(await t.type('configure exclusive\r', /# $/), /Entering configuration mode/);
    await t.type('set system time-zone UTC\r', /# $/);
    // every other session is bound: the API's CLI, and a second SSH terminal
    const [, other] = await ctl.exec(['configure', 'set system domain-name other.example']);
    assert.match(other!.error!, /locked by the SSH CLI session \d+ of alice/);
    const second = await Terminal.open('alice');
    assert.match(await second.type('configure exclusive\r', /[>#] $/), /error: .*locked/);
    second.close();
    assert.match(await t.type('show | compare\r'), /\+\s+time-zone UTC;/);
    assert.match(await t.type('exit configuration-mode\r', /> $/), /uncommitted changes discarded/);
    assert.equal(ctl.store.locks.holder('candidate'), undefined);
    const [, again] = await ctl.exec(['configure', 'show | compare']);
    assert.equal(again!.text, '', 'the exclusive session\'s change is gone');
    // dropping the connection in configure exclusive releases the lock too
    await t.type('configure exclusive\r', /# $/);
    await t.type('set system time-zone UTC\r', /# $/);
    assert.notEqual(ctl.store.locks.holder('candidate'), undefined);
    t.close();
    const end = Date.now() + 5000;
    while (ctl.store.locks.holder('candidate') !== undefined && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(ctl.store.locks.holder('candidate'), undefined);
    const [, after] = await ctl.exec(['configure', 'show | compare']);
    assert.equal(after!.text, '');
  } finally {
    t.close();
  }
});
