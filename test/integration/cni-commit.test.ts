/**
 * The CNI service's committer (src/cni/committer.ts): ADD and DEL make the attachment's
 * intent durable and the committer applies it to the controller; DEL replies then, ADD once
 * its commit is done (and in the data plane, where there is one: cni-first-packet.test.ts).
 * - crash safety: a `cnr controller` process whose committer is paused (CNR_CNI_PAUSE_COMMITS)
 *   holds an ADD's durable intent and is killed (SIGKILL) before committing; restarted, its
 *   group is in the configuration and the pod's route in the RIB. The same for an answered
 *   DEL (the group goes).
 * - coalescing: 20 concurrent ADDs through the executable take far fewer than 20 commits;
 *   an ADD still queued and a DEL of it leave nothing (the ADD is told it was cancelled).
 * - a commit the controller refuses fails the ADD with the reason and undoes it; a refused
 *   DEL of a committed group is reported by STATUS until reconcile commits it once the cause
 *   is gone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCniBin } from '../../src/cni/pod.js';
import { CniService, cniPortPath } from '../../src/cni/server.js';
import { attachmentNames } from '../../src/cni/names.js';
import { forgetGroupShapes } from '../../src/cni/plugin.js';
import { Controller } from '../../src/controller/controller.js';
import { MgmtClient } from '../../src/controller/mgmt/client.js';
import type { ExecResult } from '../../src/controller/mgmt/command-session.js';
import { NetnsLab } from '../lib/netns.js';

const root = process.getuid?.() === 0;
const haveCni = existsSync('/usr/lib/cni/host-local');
const skip = !root ? 'needs root (network namespaces)' : !haveCni ? 'needs containernetworking-plugins in /usr/lib/cni' : false;
if (skip) console.log(`# cni-commit: skipped: ${skip}`);

const repo = resolve(import.meta.dirname, '..', '..', '..');
const tag = `cnicc${process.pid}`;
const tmp = mkdtempSync(join(tmpdir(), `${tag}-`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function conf(stateDir: string, subnet: string): string {
  return JSON.stringify({
    cniVersion: '1.1.0',
    name: `${tag}-net`,
    type: 'cnr-cni',
    instanceName: 'blue',
    stateDir,
    dataDir: join(tmp, 'cni'),
    ipam: { type: 'host-local', dataDir: join(tmp, 'ipam'), ranges: [[{ subnet }]] },
  });
}

function vars(command: string, cid: string, ns: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: cid, CNI_NETNS: `/var/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
}

async function until(what: string, ms: number, f: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await sleep(50);
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

// pods' namespaces, bare as a runtime hands them to the plugin
const lab = new NetnsLab('cnicc');
const netns = (name: string): string => lab.netns(name, { loopbackUp: false });
const cids: string[] = [];

after(async () => {
  await lab.cleanup();
  for (const c of cids) spawnSync('ip', ['link', 'del', attachmentNames(c, 'eth0').hostVeth]);
  rmSync(tmp, { recursive: true, force: true });
});

describe('a controller killed between the reply and the commit', { skip }, () => {
  const stateDir = join(tmp, 'proc');
  let child: ChildProcess | undefined;
  const log = join(tmp, 'controller.log');

  /** `cnr controller` (no data plane; the RIB is there), its committer paused or not. */
  async function startController(paused: boolean): Promise<void> {
    rmSync(cniPortPath(stateDir), { force: true });
    const fd = openSync(log, 'a');
    child = spawn(process.execPath, [join(repo, 'bin', 'cnr'), 'controller', '--state-dir', stateDir, '--metrics', 'none', '--agent-address', '127.0.0.1:9'], {
      env: { ...process.env, CNR_CNI_PAUSE_COMMITS: paused ? '1' : '0' },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const c = child;
    await until('the controller and its CNI service', 20_000, async () => {
      assert.equal(c.exitCode, null, `cnr controller exited: ${readFileSync(log, 'utf8')}`);
      return existsSync(cniPortPath(stateDir));
    });
  }

  async function kill(): Promise<void> {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  }

  async function cli(command: string): Promise<string> {
    const [r] = await MgmtClient.fromStateDir(stateDir).exec([command], 'test');
    return r!.text;
  }

  after(() => kill());

  test('an ADD durable, then SIGKILL before its commit: after the restart the group is committed and the pod route is in the RIB; the same for a DEL', async () => {
    const ns = netns('crash');
    const cid = `${tag}-crash`;
    cids.push(cid);
    const g = attachmentNames(cid, 'eth0').group;
    const c = conf(stateDir, '10.71.0.0/24');
    await startController(true);
    // ADD waits for its commit, which the paused committer does not make: the controller
    // dies with the intent durable (the shim's fallback then finds the attachment there and
    // refuses the repeated ADD: the runtime's DEL follows, below)
    const add = runCniBin(vars('ADD', cid, ns), c);
    const journal = join(stateDir, 'cni.journal');
    await until('the intent in the journal', 20_000, async () => existsSync(journal) && readFileSync(journal, 'utf8').includes(g));
    assert.ok(!(await cli('show configuration | display set')).includes(g), 'paused: not committed before the kill');
    await kill();
    const answered = await add;
    assert.notEqual(answered.status, 0, 'the ADD was not answered as a success: its controller died before the commit');
    const podAddr = (JSON.parse(readFileSync(journal, 'utf8').split('\n')[0]!) as { statements: string[] }).statements.find((l) => / static route /.test(l))!.split(' static route ')[1]!.split(' ')[0]!;

    await startController(false);
    await until('the group after the restart', 10_000, async () => (await cli('show configuration | display set')).includes(`set apply-groups ${g}`));
    await until('the pod route in the RIB', 10_000, async () => (await cli('show route table blue.inet.0')).includes(podAddr));
    await kill();

    await startController(true);
    const del = await runCniBin(vars('DEL', cid, ns), c);
    assert.equal(del.status, 0, del.stdout + del.stderr);
    assert.ok((await cli('show configuration | display set')).includes(g), 'paused: the group is still there at the kill');
    await kill();

    await startController(false);
    await until('the group to go after the restart', 10_000, async () => !(await cli('show configuration | display set')).includes(g));
    assert.ok(!(await cli('show route table blue.inet.0')).includes(podAddr));
    assert.ok(!existsSync(`/sys/class/net/${attachmentNames(cid, 'eth0').hostVeth}`));
    await until('the journal to be emptied', 5000, async () => readFileSync(join(stateDir, 'cni.journal'), 'utf8') === '');
  });
});

describe('the CNI service commits in the background', { skip }, () => {
  const stateDir = join(tmp, 'inproc');
  let ctl: Controller;
  let service: CniService;
  /** commits are refused while this is set */
  let refuse: string | undefined;
  /** `set` statements are refused (as the schema would) while this is set */
  let refuseSet: string | undefined;

  before(async () => {
    ctl = new Controller({ stateDir, log: () => {} });
    await ctl.start();
    service = new CniService({
      stateDir,
      exec: async (commands, user, via): Promise<ExecResult[]> => {
        const bad = refuseSet !== undefined ? commands.findIndex((c) => c.startsWith('set ')) : -1;
        if (bad >= 0) return [...(await ctl.exec(commands.slice(0, bad), user, via)), { command: commands[bad]!, text: '', error: refuseSet! }];
        const i = commands.findIndex((c) => c.startsWith('commit'));
        if (refuse !== undefined && i >= 0) {
          const r = await ctl.exec(commands.slice(0, i), user, via);
          return [...r, { command: commands[i]!, text: '', error: refuse }];
        }
        return ctl.exec(commands, user, via);
      },
    });
    await service.start();
  });
  after(async () => {
    await service?.stop();
    await ctl?.stop();
  });

  const c = () => conf(stateDir, '10.72.0.0/24');
  const run = async (command: string, cid: string, ns: string, config = c()) => {
    const r = await runCniBin(vars(command, cid, ns), config);
    return { code: r.status, out: r.stdout ? (JSON.parse(r.stdout) as Record<string, any>) : undefined };
  };
  async function applied(): Promise<string[]> {
    await service.settled();
    const [r] = await ctl.exec(['show configuration | display set']);
    return r!.text.split('\n').filter((l) => l.startsWith('set apply-groups cni-')).map((l) => l.split(' ')[2]!);
  }

  test('20 concurrent ADDs take far fewer than 20 commits; an ADD and a DEL queued together leave nothing', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `${tag}-m${i}`);
    cids.push(...ids);
    const nss = ids.map((_, i) => netns(`m${i}`));
    const before = service.committer.commits;
    const adds = await Promise.all(ids.map((id, i) => run('ADD', id, nss[i]!)));
    assert.deepEqual(adds.filter((a) => a.code !== 0), []);
    assert.deepEqual((await applied()).sort(), ids.map((id) => attachmentNames(id, 'eth0').group).sort());
    const commits = service.committer.commits - before;
    console.log(`# 20 concurrent ADDs: ${commits} commits`);
    assert.ok(commits < 15, `${commits} commits for 20 ADDs`);
    const dels = await Promise.all(ids.map((id, i) => run('DEL', id, nss[i]!)));
    assert.deepEqual(dels.filter((d) => d.code !== 0), []);
    assert.deepEqual(await applied(), []);

    // an ADD queued while the committer waits, and a DEL of it (a runtime giving up on the
    // ADD): the pair cancels out, no commit at all; the ADD fails and undoes its part
    service.committer.pause();
    const atCancel = service.committer.commits;
    try {
      const add = run('ADD', ids[0]!, nss[0]!);
      const g0 = attachmentNames(ids[0]!, 'eth0').group;
      await until('the ADD queued', 10_000, async () => service.committer.state(g0).pending === 'add');
      assert.equal((await run('DEL', ids[0]!, nss[0]!)).code, 0);
      const cancelled = await add;
      assert.equal(cancelled.code, 1);
      assert.match(String(cancelled.out?.msg), /cancelled by a DEL/);
    } finally {
      service.committer.resume();
    }
    assert.deepEqual(await applied(), []);
    assert.equal(service.committer.commits, atCancel);
    assert.deepEqual(readdirSync(join(tmp, 'cni', `${tag}-net`)), []);
    assert.deepEqual(readdirSync('/sys/class/net').filter((n) => ids.some((id) => attachmentNames(id, 'eth0').hostVeth === n)), []);
  });

  test('a refused commit fails ADD with the reason and undoes it; a refused DEL is reported by STATUS until reconcile commits it', async () => {
    const ns = netns('ref');
    const cid = `${tag}-ref`;
    cids.push(cid);
    const n = attachmentNames(cid, 'eth0');
    refuse = 'refused by the test';
    try {
      const add = await run('ADD', cid, ns);
      assert.equal(add.code, 1, JSON.stringify(add.out));
      assert.match(String(add.out?.msg), /controller refused the configuration: .*refused by the test/);
      assert.ok(!existsSync(`/sys/class/net/${n.hostVeth}`), 'the veth is gone');
      assert.deepEqual(readdirSync(join(tmp, 'cni', `${tag}-net`)).filter((f) => f.startsWith(cid)), [], 'no record');
      await service.settled();
      assert.ok(!(await applied()).includes(n.group));
      // The undo's DEL is refused as well, but its group was never committed: the backoff's
      // reconcile (200 ms on) rightly finds nothing to do and forgets it, so STATUS may say
      // either here (asserting the refusal raced that timer, and lost under load).
    } finally {
      refuse = undefined;
    }
    await service.committer.reconcile();
    await until('nothing refused any more', 10_000, async () => (await run('STATUS', cid, ns)).code === 0);
    assert.ok(!(await applied()).includes(n.group));
    // the runtime's next ADD goes through
    const again = await run('ADD', cid, ns);
    assert.equal(again.code, 0, JSON.stringify(again.out));
    assert.ok((await applied()).includes(n.group));

    // a DEL of a committed group that the controller refuses: DEL answers (its intent is
    // durable), the group stays, and STATUS reports the refusal for as long as it lasts -
    // each backoff reconcile finds the group still there and is refused again
    refuse = 'refused by the test';
    try {
      assert.equal((await run('DEL', cid, ns)).code, 0);
      await service.settled();
      assert.ok((await applied()).includes(n.group), 'refused: the group is still committed');
      for (let round = 0; round < 2; round++) {
        const status = await run('STATUS', cid, ns);
        assert.equal(status.out?.code, 50, JSON.stringify(status.out));
        assert.match(String(status.out?.msg), new RegExp(`${cid}/eth0: .*refused by the test`));
        // a retry in between changes nothing while the cause lasts
        if (round === 0) await service.committer.reconcile();
      }
    } finally {
      refuse = undefined;
    }
    // the backoff's reconcile commits it (or this one does, whichever comes first)
    await service.committer.reconcile();
    await until('nothing refused any more', 10_000, async () => (await run('STATUS', cid, ns)).code === 0);
    assert.ok(!(await applied()).includes(n.group));
  });

  test('statements the controller refuses are refused before ADD answers, and everything is undone', async () => {
    const ns = netns('val');
    const cid = `${tag}-val`;
    cids.push(cid);
    const n = attachmentNames(cid, 'eth0');
    const before = service.committer.commits;
    refuseSet = 'syntax error: refused by the test';
    // the shape was checked by the tests before, with a controller that took it
    forgetGroupShapes();
    try {
      const add = await run('ADD', cid, ns);
      assert.equal(add.code, 1);
      assert.match(String(add.out?.msg), /controller refused the configuration: .*refused by the test/);
    } finally {
      refuseSet = undefined;
    }
    await service.settled();
    assert.equal(service.committer.commits, before, 'nothing committed');
    assert.deepEqual(service.committer.state(n.group), {});
    assert.ok(!existsSync(`/sys/class/net/${n.hostVeth}`), 'the veth is gone');
    assert.deepEqual(readdirSync(join(tmp, 'cni', `${tag}-net`)).filter((f) => f.startsWith(cid)), [], 'no record');
    const ipam = join(tmp, 'ipam', `${tag}-net`);
    assert.ok(!readdirSync(ipam).some((f) => /^10\.72\./.test(f) && readFileSync(join(ipam, f), 'utf8').startsWith(cid)), 'the address is released');
  });

  test('while its group is queued, GC leaves the attachment alone; CHECK finds no drift once ADD answered', async () => {
    const ns = netns('q');
    const cid = `${tag}-q`;
    cids.push(cid);
    const n = attachmentNames(cid, 'eth0');
    const gc = JSON.stringify({ ...JSON.parse(c()), 'cni.dev/valid-attachments': [] });
    service.committer.pause();
    let add: Promise<{ code: number | null; out: Record<string, any> | undefined }> | undefined;
    try {
      add = run('ADD', cid, ns);
      await until('the ADD queued', 10_000, async () => service.committer.state(n.group).pending === 'add');
      assert.equal((await run('GC', cid, ns, gc)).code, 0);
      assert.ok(existsSync(`/sys/class/net/${n.hostVeth}`), 'GC kept the attachment of a queued ADD');
    } finally {
      service.committer.resume();
    }
    const added = await add;
    assert.equal(added.code, 0, JSON.stringify(added.out));
    assert.ok((await applied()).includes(n.group));
    const check = await run('CHECK', cid, ns, JSON.stringify({ ...JSON.parse(c()), prevResult: added.out }));
    assert.equal(check.code, 0, JSON.stringify(check.out));
    // committed now: GC removes it as the runtime asks
    assert.equal((await run('GC', cid, ns, gc)).code, 0);
    assert.ok(!existsSync(`/sys/class/net/${n.hostVeth}`));
    assert.ok(!(await applied()).includes(n.group));
  });
});
