/**
 * cnr-cni's own parts against real namespaces, veths and Debian's IPAM and tuning plugins,
 * with a controller (configuration store and management API, no data plane) and its CNI
 * service running in this process (cni-e2e.test.ts runs the same against `cnr start`).
 * Every call runs bin/cnr-cni as a runtime does (a fresh process, the environment and
 * stdin a runtime gives): the shim hands it to the service; the fallback test takes the
 * service away, and the shim runs the Node plugin instead.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCniBin } from '../../src/cni/pod.js';
import { CniService } from '../../src/cni/server.js';
import { Controller } from '../../src/controller/controller.js';
import { attachmentNames } from '../../src/cni/names.js';
import { NetnsLab } from '../lib/netns.js';

const root = process.getuid?.() === 0;
const haveCni = existsSync('/usr/lib/cni/host-local') && existsSync('/usr/lib/cni/tuning');
const skip = !root ? 'needs root (network namespaces)' : !haveCni ? 'needs containernetworking-plugins in /usr/lib/cni' : false;
if (skip) console.log(`# cni-plugin: skipped: ${skip}`);

const tag = `cnicp${process.pid}`;
const tmp = mkdtempSync(join(tmpdir(), `${tag}-`));
// the pods' namespaces, bare as a runtime hands them to the plugin
const lab = new NetnsLab('cnicp');
const netnsNames = ['a', 'b', 'c'].map((x) => lab.name(x));
const nsPath = (i: number) => `/var/run/netns/${netnsNames[i]}`;

/** The controller (configuration store and management API, no data plane) the plugin talks to. */
let ctl: Controller;
let service: CniService | undefined;
const stateDir = join(tmp, 'cnr');

async function startService(): Promise<void> {
  service = new CniService({ stateDir, exec: (c, u, via) => ctl.exec(c, u, via) });
  await service.start();
}

/** bin/cnr-cni run as a runtime runs it. Never spawnSync: the service answering it runs on this event loop. */
const runBin = runCniBin;

/** The running configuration's statements of group `g` and its apply-groups line. */
async function group(g: string): Promise<string[]> {
  await service?.settled(); // the service commits in the background after replying
  const [r] = await ctl.exec(['show configuration | display set']);
  return r!.text.split('\n').filter((l) => l.startsWith(`set groups ${g} `) || l === `set apply-groups ${g}`);
}

async function allGroups(): Promise<string[]> {
  await service?.settled();
  const [r] = await ctl.exec(['show configuration | display set']);
  return r!.text.split('\n').filter((l) => l.startsWith('set groups ') || l.startsWith('set apply-groups '));
}

function conf(extra: Record<string, unknown> = {}, version = '1.0.0'): Record<string, unknown> {
  return {
    cniVersion: version,
    name: `${tag}-net`,
    type: 'cnr-cni',
    instanceName: 'blue',
    vrfTarget: 'target:65000:1',
    mtu: 1400,
    stateDir,
    dataDir: join(tmp, 'cni'),
    ipam: {
      type: 'host-local',
      dataDir: join(tmp, 'ipam'),
      ranges: [[{ subnet: '10.77.0.0/24', gateway: '10.77.0.1' }], [{ subnet: 'fd00:77::/64', gateway: 'fd00:77::1' }]],
    },
    ...extra,
  };
}

function env(command: string, cid: string, ns: number | string | undefined, ifname = 'eth0'): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, CNI_COMMAND: command, CNI_CONTAINERID: cid, CNI_IFNAME: ifname, CNI_PATH: '/usr/lib/cni' };
  if (ns !== undefined) e.CNI_NETNS = typeof ns === 'number' ? nsPath(ns) : ns;
  return e;
}

async function cni(command: string, cid: string, ns: number | string | undefined, c: Record<string, unknown>, ifname = 'eth0', extra: NodeJS.ProcessEnv = {}) {
  const r = await runBin({ ...env(command, cid, ns, ifname), ...extra }, JSON.stringify(c));
  let json: Record<string, any> | undefined;
  try {
    json = r.stdout.trim() ? (JSON.parse(r.stdout) as Record<string, any>) : undefined;
  } catch {
    assert.fail(`cnr-cni ${command} printed no JSON: ${r.stdout} ${r.stderr}`);
  }
  return { code: r.status, json, stdout: r.stdout };
}

function ipj(ns: number, ...args: string[]): any {
  return JSON.parse(execFileSync('ip', ['-n', netnsNames[ns]!, '-j', ...args], { encoding: 'utf8' }) || '[]');
}

function ipamFiles(): string[] {
  const d = join(tmp, 'ipam', `${tag}-net`);
  return existsSync(d) ? readdirSync(d).filter((f) => /^[0-9a-f.:]+$/.test(f)) : [];
}

function hostVeths(): string[] {
  return readdirSync('/sys/class/net').filter((n) => n.startsWith('cnr'));
}

/** Whether this kernel can make 802.1Q devices (a container may lack the 8021q module). */
function vlanSupported(): boolean {
  if (skip) return false;
  const ns = `${tag}-vq`;
  spawnSync('ip', ['netns', 'add', ns]);
  try {
    spawnSync('ip', ['-n', ns, 'link', 'add', 'd0', 'type', 'dummy']);
    return spawnSync('ip', ['-n', ns, 'link', 'add', 'link', 'd0', 'name', 'd0.5', 'type', 'vlan', 'id', '5']).status === 0;
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}
const vlanSkip = vlanSupported() ? false : 'this kernel has no 802.1Q (8021q) support';

describe('cnr-cni plugin', { skip }, () => {
  const cid = `${tag}-pod1`;
  before(async () => {
    for (const x of ['a', 'b', 'c']) lab.netns(x, { loopbackUp: false });
    ctl = new Controller({ stateDir, log: () => {} });
    await ctl.start();
    await startService();
  });
  after(async () => {
    await service?.stop();
    await ctl?.stop();
    await lab.cleanup();
    for (const c of [cid, `${tag}-fb`, `${tag}-pod2`, `${tag}-v031`, `${tag}-v110`, `${tag}-vlan`, `${tag}-gc1`, `${tag}-gc2`, `${tag}-proc`]) {
      for (const i of ['eth0', 'net1']) spawnSync('ip', ['link', 'del', attachmentNames(c, i).hostVeth]);
    }
    for (let i = 0; i < 20; i++) spawnSync('ip', ['link', 'del', attachmentNames(`${tag}-many${i}`, 'eth0').hostVeth]);
    rmSync(tmp, { recursive: true, force: true });
  });

  test('ADD gives the pod its veth, /32 and /128 addresses, routes via the vRouter, and a config group', async () => {
    const { code, json } = await cni('ADD', cid, 0, conf());
    assert.equal(code, 0, JSON.stringify(json));
    const n = attachmentNames(cid, 'eth0');
    assert.equal(json!.cniVersion, '1.0.0');
    assert.deepEqual(json!.interfaces, [
      { name: n.hostVeth, mac: n.hostMac },
      { name: 'eth0', mac: n.podMac, sandbox: nsPath(0) },
    ]);
    assert.deepEqual(json!.ips, [
      { interface: 1, address: '10.77.0.2/32', gateway: '10.77.0.1' },
      { interface: 1, address: 'fd00:77::2/128', gateway: 'fd00:77::1' },
    ]);
    assert.deepEqual(json!.routes, [
      { dst: '0.0.0.0/0', gw: '10.77.0.1' },
      { dst: '::/0', gw: 'fd00:77::1' },
    ]);
    const [link] = ipj(0, 'addr', 'show', 'dev', 'eth0');
    assert.equal(link.address, n.podMac);
    assert.equal(link.mtu, 1400);
    assert.ok(link.flags.includes('UP'));
    assert.deepEqual(
      link.addr_info.filter((a: any) => a.scope === 'global').map((a: any) => `${a.local}/${a.prefixlen}`),
      ['10.77.0.2/32', 'fd00:77::2/128'],
    );
    assert.deepEqual(ipj(0, 'route', 'show', 'default')[0].gateway, '10.77.0.1');
    assert.deepEqual(ipj(0, '-6', 'route', 'show', 'default')[0].gateway, 'fd00:77::1');
    assert.ok(existsSync(`/sys/class/net/${n.hostVeth}`), 'host veth exists');
    assert.equal(execFileSync('cat', [`/proc/sys/net/ipv6/conf/${n.hostVeth}/disable_ipv6`], { encoding: 'utf8' }).trim(), '1');
    const tx = execFileSync('ip', ['netns', 'exec', netnsNames[0]!, 'ethtool', '-k', 'eth0'], { encoding: 'utf8' });
    assert.match(tx, /tx-checksumming: off/);
    const g = await group(n.group);
    // the address, with the pod as its static neighbour (display set shows the address within that statement)
    assert.ok(g.some((l) => l.startsWith(`set groups ${n.group} interfaces ${n.hostVeth} unit 0 family inet address 10.77.0.1/32 arp 10.77.0.2 mac `)), g.join('\n'));
    assert.ok(g.includes(`set groups ${n.group} routing-instances blue interface ${n.hostVeth}`));
    assert.ok(g.includes(`set groups ${n.group} routing-instances blue routing-options static route 10.77.0.2/32 qualified-next-hop 10.77.0.2 interface ${n.hostVeth}`));
    assert.ok(g.includes(`set groups ${n.group} routing-instances blue routing-options rib blue.inet6.0 static route fd00:77::2/128 qualified-next-hop fd00:77::2 interface ${n.hostVeth}`));
    assert.ok(g.includes(`set apply-groups ${n.group}`));
    assert.deepEqual(ipamFiles().sort(), ['10.77.0.2', 'fd00:77::2']);

    // CHECK passes on the fresh attachment, then reports each kind of drift.
    const check = () => cni('CHECK', cid, 0, conf({ prevResult: json }));
    assert.equal((await check()).code, 0, JSON.stringify((await check()).json));
    execFileSync('ip', ['-n', netnsNames[0]!, 'route', 'del', 'default']);
    let r = await check();
    assert.equal(r.code, 1);
    assert.equal(r.json!.code, 100);
    assert.match(r.json!.msg, /route 0\.0\.0\.0\/0 via 10\.77\.0\.1 is missing/);
    execFileSync('ip', ['-n', netnsNames[0]!, 'route', 'add', 'default', 'via', '10.77.0.1', 'dev', 'eth0']);
    execFileSync('ip', ['-n', netnsNames[0]!, 'addr', 'del', 'fd00:77::2/128', 'dev', 'eth0']);
    r = await check();
    assert.match(r.json!.msg, /address fd00:77::2\/128 is missing/);
    execFileSync('ip', ['-n', netnsNames[0]!, 'addr', 'add', 'fd00:77::2/128', 'dev', 'eth0', 'nodad']);
    const drop = await ctl.exec(['configure private', `delete groups ${n.group} routing-instances blue routing-options static route 10.77.0.2/32`, 'commit']);
    assert.equal(drop.at(-1)!.error, undefined, JSON.stringify(drop));
    r = await check();
    assert.match(r.json!.msg, /controller has no route 10\.77\.0\.2\/32/);
    const back = await ctl.exec(['configure private', `set groups ${n.group} routing-instances blue routing-options static route 10.77.0.2/32 qualified-next-hop 10.77.0.2 interface ${n.hostVeth}`, 'commit']);
    assert.equal(back.at(-1)!.error, undefined, JSON.stringify(back));
    assert.equal((await check()).code, 0);
    // A second ADD of the same attachment is refused and leaves the first one intact.
    const again = await cni('ADD', cid, 0, conf());
    assert.equal(again.json!.code, 999);
    assert.match(again.json!.msg, /already attached/);
    assert.equal((await check()).code, 0);
    assert.deepEqual(ipamFiles().sort(), ['10.77.0.2', 'fd00:77::2']);

    // DEL removes every trace, and succeeds again when there is nothing left.
    for (let i = 0; i < 2; i++) {
      const d = await cni('DEL', cid, 0, conf());
      assert.equal(d.code, 0, JSON.stringify(d.json));
      assert.equal(d.json, undefined);
      assert.ok(!existsSync(`/sys/class/net/${n.hostVeth}`));
      assert.deepEqual(ipj(0, 'link', 'show', 'dev', 'lo').length, 1);
      assert.equal(ipj(0, 'link', 'show').filter((l: any) => l.ifname === 'eth0').length, 0);
      assert.deepEqual(await group(n.group), []);
      assert.deepEqual(ipamFiles(), []);
      assert.equal(readdirSync(join(tmp, 'cni', `${tag}-net`)).length, 0);
    }
    // DEL without a netns (the runtime lost it) succeeds too.
    assert.equal((await cni('DEL', cid, undefined, conf())).code, 0);
  });

  test('results follow the config version (0.3.1 and 1.1.0; Debian IPAM speaks up to 1.0.0)', async () => {
    const a = await cni('ADD', `${tag}-v031`, 1, conf({}, '0.3.1'));
    assert.equal(a.code, 0, JSON.stringify(a.json));
    assert.equal(a.json!.cniVersion, '0.3.1');
    assert.deepEqual(a.json!.ips.map((i: any) => i.version), ['4', '6']);
    const b = await cni('ADD', `${tag}-v110`, 1, conf({}, '1.1.0'), 'net1');
    assert.equal(b.code, 0, JSON.stringify(b.json));
    assert.equal(b.json!.cniVersion, '1.1.0');
    assert.equal(b.json!.interfaces[1].mtu, 1400);
    assert.equal(b.json!.ips[0].version, undefined);
    // CHECK is not a 0.3.1 command
    const c = await cni('CHECK', `${tag}-v031`, 1, conf({ prevResult: a.json }, '0.3.1'));
    assert.equal(c.json!.code, 1);
    assert.equal((await cni('DEL', `${tag}-v031`, 1, conf({}, '0.3.1'))).code, 0);
    assert.equal((await cni('DEL', `${tag}-v110`, 1, conf({}, '1.1.0'), 'net1')).code, 0);
    assert.deepEqual(ipamFiles(), []);
  });

  test('chained before the tuning plugin: tuning edits the interface from our result, CHECK and DEL still work', async () => {
    const id = `${tag}-pod2`;
    const a = await cni('ADD', id, 2, conf());
    assert.equal(a.code, 0, JSON.stringify(a.json));
    const tuning = { cniVersion: '1.0.0', name: `${tag}-net`, type: 'tuning', promisc: true, sysctl: { 'net.ipv4.conf.eth0.rp_filter': '0' }, prevResult: a.json };
    const t = spawnSync('/usr/lib/cni/tuning', [], { env: env('ADD', id, 2), input: JSON.stringify(tuning), encoding: 'utf8' });
    assert.equal(t.status, 0, t.stdout + t.stderr);
    const tuned = JSON.parse(t.stdout);
    assert.deepEqual(tuned.ips, a.json!.ips);
    const [link] = ipj(2, 'link', 'show', 'dev', 'eth0');
    assert.ok(link.flags.includes('PROMISC'));
    // A plugin chained after another one keeps the earlier interfaces and indexes its own after them.
    const chained = await cni('ADD', id, 2, conf({ prevResult: tuned }), 'net1');
    assert.equal(chained.code, 0, JSON.stringify(chained.json));
    assert.equal(chained.json!.interfaces.length, 4);
    assert.deepEqual(chained.json!.ips.slice(2).map((i: any) => i.interface), [3, 3]);
    assert.equal((await cni('CHECK', id, 2, conf({ prevResult: chained.json }), 'net1')).code, 0);
    assert.equal((await cni('CHECK', id, 2, conf({ prevResult: tuned }))).code, 0);
    // without ipam, the addresses come from the prevResult (an IPAM-only plugin before us)
    const noIpam = conf({ ipam: undefined, prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.78.0.9/24', gateway: '10.78.0.1' }], routes: [{ dst: '192.0.2.0/24' }] } });
    const third = await cni('ADD', id, 2, noIpam, 'net2');
    assert.equal(third.code, 0, JSON.stringify(third.json));
    assert.deepEqual(third.json!.ips, [{ interface: 1, address: '10.78.0.9/32', gateway: '10.78.0.1' }]);
    assert.deepEqual(third.json!.routes, [{ dst: '192.0.2.0/24', gw: '10.78.0.1' }]);
    assert.equal(ipj(2, 'route', 'show', '192.0.2.0/24')[0].gateway, '10.78.0.1');
    assert.equal((await cni('DEL', id, 2, conf({ ipam: undefined }), 'net2')).code, 0);
    const td = spawnSync('/usr/lib/cni/tuning', [], { env: env('DEL', id, 2), input: JSON.stringify(tuning), encoding: 'utf8' });
    assert.equal(td.status, 0, td.stdout);
    assert.equal((await cni('DEL', id, 2, conf(), 'net1')).code, 0);
    assert.equal((await cni('DEL', id, 2, conf())).code, 0);
    assert.deepEqual(ipamFiles(), []);
  });

  test('vlanId makes the pod interface an 802.1Q sub-interface and tags the host veth in the config', { skip: vlanSkip }, async () => {
    const id = `${tag}-vlan`;
    const a = await cni('ADD', id, 1, conf({ vlanId: 42 }));
    assert.equal(a.code, 0, JSON.stringify(a.json));
    const n = attachmentNames(id, 'eth0');
    const [link] = ipj(1, '-d', 'link', 'show', 'dev', 'eth0');
    assert.equal(link.linkinfo.info_kind, 'vlan');
    assert.equal(link.linkinfo.info_data.id, 42);
    assert.ok((await group(n.group)).includes(`set groups ${n.group} interfaces ${n.hostVeth} vlan-id 42`));
    assert.equal((await cni('CHECK', id, 1, conf({ vlanId: 42, prevResult: a.json }))).code, 0);
    assert.equal((await cni('DEL', id, 1, conf({ vlanId: 42 }))).code, 0);
    assert.equal(ipj(1, 'link', 'show').length, 1);
  });

  test('with the controller down, ADD undoes the veth and the IPAM allocation; DEL frees what it can and asks to be retried', async () => {
    const id = `${tag}-pod2`;
    const down = { stateDir: join(tmp, 'no-controller') };
    const a = await cni('ADD', id, 2, conf(down));
    assert.equal(a.code, 1);
    assert.equal(a.json!.code, 11, JSON.stringify(a.json));
    assert.deepEqual(hostVeths().filter((h) => h === attachmentNames(id, 'eth0').hostVeth), []);
    assert.deepEqual(ipamFiles(), []);
    assert.equal(ipj(2, 'link', 'show').length, 1);
    // an attachment made while the controller was up, deleted while it is down
    assert.equal((await cni('ADD', id, 2, conf())).code, 0);
    const d = await cni('DEL', id, 2, conf(down));
    assert.equal(d.json!.code, 11);
    assert.ok(!existsSync(`/sys/class/net/${attachmentNames(id, 'eth0').hostVeth}`), 'the veth is gone anyway');
    assert.deepEqual(ipamFiles(), []);
    assert.ok((await group(attachmentNames(id, 'eth0').group)).length > 0, 'the group waits for the controller');
    assert.equal((await cni('DEL', id, 2, conf())).code, 0, 'the retried DEL finishes the job');
    assert.deepEqual(await group(attachmentNames(id, 'eth0').group), []);
  });

  test('IPAM by the static plugin, and STATUS while the controller answers', async () => {
    const id = `${tag}-v031`;
    const st = conf({ ipam: { type: 'static', addresses: [{ address: '10.79.0.5/24', gateway: '10.79.0.1' }, { address: 'fd00:79::5/64', gateway: 'fd00:79::1' }] } });
    const a = await cni('ADD', id, 1, st);
    assert.equal(a.code, 0, JSON.stringify(a.json));
    assert.deepEqual(a.json!.ips.map((i: any) => [i.address, i.gateway]), [['10.79.0.5/32', '10.79.0.1'], ['fd00:79::5/128', 'fd00:79::1']]);
    assert.deepEqual(ipj(1, 'route', 'show', 'default')[0].gateway, '10.79.0.1');
    assert.equal((await cni('CHECK', id, 1, { ...st, prevResult: a.json })).code, 0);
    assert.equal((await cni('DEL', id, 1, st)).code, 0);
    assert.equal(ipj(1, 'link', 'show').length, 1);
    const status = await cni('STATUS', '', undefined, conf({}, '1.1.0'));
    assert.deepEqual([status.code, status.stdout], [0, '']);
  });

  test('a namespace given as /proc/PID/ns/net (not under /run/netns) is entered with nsenter', async () => {
    const holder = spawn('ip', ['netns', 'exec', netnsNames[2]!, 'sleep', '30'], { stdio: 'ignore' });
    try {
      // `ip netns exec` enters the namespace, then execs sleep in the same process
      const path = `/proc/${holder.pid}/ns/net`;
      const target = statSync(`/var/run/netns/${netnsNames[2]}`).ino;
      for (let i = 0; i < 100 && statSync(path).ino !== target; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(statSync(path).ino, target, 'the holder entered the namespace');
      const id = `${tag}-proc`;
      const a = await cni('ADD', id, path, conf());
      assert.equal(a.code, 0, JSON.stringify(a.json));
      assert.equal(a.json!.interfaces[1].sandbox, path);
      assert.equal(ipj(2, 'addr', 'show', 'dev', 'eth0')[0].addr_info.filter((x: any) => x.scope === 'global').length, 2);
      assert.equal((await cni('CHECK', id, path, conf({ prevResult: a.json }))).code, 0);
      assert.equal((await cni('DEL', id, path, conf())).code, 0);
      assert.equal(ipj(2, 'link', 'show').length, 1);
    } finally {
      holder.kill();
    }
  });

  test('GC removes attachments of containers the runtime no longer lists', async () => {
    assert.equal((await cni('ADD', `${tag}-gc1`, 1, conf())).code, 0);
    assert.equal((await cni('ADD', `${tag}-gc2`, 2, conf())).code, 0);
    // the runtime's GC comes long after its ADDs; an ADD whose commit is still queued is left
    // alone by design (cmdGc), so wait for the background commits as a runtime's pace would
    await service?.settled();
    const gc = await cni('GC', '', undefined, conf({ 'cni.dev/valid-attachments': [{ containerID: `${tag}-gc2`, ifname: 'eth0' }] }, '1.1.0'));
    assert.equal(gc.code, 0, JSON.stringify(gc.json));
    assert.ok(!existsSync(`/sys/class/net/${attachmentNames(`${tag}-gc1`, 'eth0').hostVeth}`));
    assert.ok(existsSync(`/sys/class/net/${attachmentNames(`${tag}-gc2`, 'eth0').hostVeth}`));
    assert.deepEqual(await group(attachmentNames(`${tag}-gc1`, 'eth0').group), []);
    assert.equal(ipamFiles().length, 2);
    assert.equal((await cni('GC', '', undefined, conf({ 'cni.dev/valid-attachments': [] }, '1.1.0'))).code, 0);
    assert.deepEqual(ipamFiles(), []);
    assert.equal(ipj(1, 'link', 'show').length, 1);
    assert.equal(ipj(2, 'link', 'show').length, 1);
    assert.equal((await cni('GC', '', undefined, conf({}, '1.0.0'))).json!.code, 1);
  });

  test('GC is passed on to an IPAM plugin that speaks 1.1.0, with the valid attachments', async () => {
    const dir = join(tmp, 'fake-ipam');
    const seen = join(tmp, 'fake-ipam.gc');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(
      join(dir, 'fake-ipam'),
      `#!/bin/sh\ncase "$CNI_COMMAND" in\n  VERSION) echo '{"cniVersion":"1.1.0","supportedVersions":["1.0.0","1.1.0"]}' ;;\n  GC) cat > ${seen} ;;\n  *) exit 1 ;;\nesac\n`,
      { mode: 0o755 },
    );
    const valid = [{ containerID: 'keep-me', ifname: 'eth0' }];
    const out = await runBin(
      { ...process.env, CNI_COMMAND: 'GC', CNI_PATH: `${dir}:/usr/lib/cni` },
      JSON.stringify(conf({ ipam: { type: 'fake-ipam' }, 'cni.dev/valid-attachments': valid }, '1.1.0')),
    );
    assert.equal(out.status, 0, out.stdout);
    assert.deepEqual(JSON.parse(readFileSync(seen, 'utf8'))['cni.dev/valid-attachments'], valid);
  });

  test('20 concurrent ADDs, then ADDs and DELs at once, then 20 DELs, through the executable, leave nothing behind', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `${tag}-many${i}`);
    const spaces = ids.map((_, i) => `${tag}-m${i}`);
    for (const ns of spaces) execFileSync('ip', ['netns', 'add', ns]);
    try {
      const run = (command: string, i: number) =>
        runBin(env(command, ids[i]!, `/var/run/netns/${spaces[i]}`), JSON.stringify(conf())).then((r) => ({ code: r.status, out: r.stdout }));
      const adds = await Promise.all(ids.map((_, i) => run('ADD', i)));
      assert.deepEqual(adds.filter((a) => a.code !== 0), []);
      const addrs = adds.map((a) => (JSON.parse(a.out) as { ips: { address: string }[] }).ips[0]!.address);
      assert.equal(new Set(addrs).size, 20, 'every pod got its own address');
      assert.equal(ipamFiles().length, 40);
      assert.equal((await allGroups()).filter((l) => l.startsWith('set apply-groups')).length, 20);
      // then ADDs and DELs at once: the first ten pods go and come back while the others go
      const mixed = await Promise.all(ids.map((_, i) => (i < 10 ? run('DEL', i).then(() => run('ADD', i)) : run('DEL', i))));
      assert.deepEqual(mixed.filter((m) => m.code !== 0), []);
      assert.equal(ipamFiles().length, 20);
      const applied = (await allGroups()).filter((l) => l.startsWith('set apply-groups')).map((l) => l.split(' ')[2]);
      assert.deepEqual(applied.sort(), ids.slice(0, 10).map((id) => attachmentNames(id, 'eth0').group).sort());
      const dels = await Promise.all(ids.map((_, i) => run('DEL', i)));
      assert.deepEqual(dels.filter((d) => d.code !== 0), []);
      assert.deepEqual(ipamFiles(), []);
      assert.deepEqual(hostVeths().filter((h) => ids.some((id) => attachmentNames(id, 'eth0').hostVeth === h)), []);
      for (const ns of spaces) assert.equal(execFileSync('ip', ['-n', ns, '-o', 'link', 'show'], { encoding: 'utf8' }).trim().split('\n').length, 1);
      assert.deepEqual(await allGroups(), []);
      assert.deepEqual(readdirSync(join(tmp, 'cni', `${tag}-net`)), []);
    } finally {
      for (const ns of spaces) spawnSync('ip', ['netns', 'del', ns]);
    }
  });

  test('without the CNI service the shim runs the Node plugin: the same bytes and effects (fallback end to end)', async () => {
    const id = `${tag}-fb`;
    const st = conf({ ipam: { type: 'static', addresses: [{ address: '10.79.1.5/24', gateway: '10.79.1.1' }, { address: 'fd00:79:1::5/64', gateway: 'fd00:79:1::1' }] } });
    const lastCommit = async () => (await ctl.exec(['show system commit']))[0]!.text.split('\n')[0]!;
    const viaService = await cni('ADD', id, 1, st);
    assert.equal(viaService.code, 0, viaService.stdout);
    assert.match(await lastCommit(), /by cnr-cni via cni$/, 'the service committed in process');
    assert.equal((await cni('DEL', id, 1, st)).code, 0);
    await service!.stop();
    try {
      assert.ok(!existsSync(join(stateDir, 'cni.sock')), 'the service removed its socket');
      const viaNode = await cni('ADD', id, 1, st);
      assert.equal(viaNode.code, 0, viaNode.stdout);
      assert.equal(viaNode.stdout, viaService.stdout, 'byte-identical result');
      assert.doesNotMatch(await lastCommit(), /via cni$/, 'the Node plugin committed through mgmt.sock');
      const n = attachmentNames(id, 'eth0');
      assert.ok(existsSync(`/sys/class/net/${n.hostVeth}`));
      assert.ok((await group(n.group)).length > 0);
      assert.equal((await cni('CHECK', id, 1, { ...st, prevResult: viaNode.json })).code, 0);
      assert.equal((await cni('DEL', id, 1, st)).code, 0);
      assert.ok(!existsSync(`/sys/class/net/${n.hostVeth}`));
      assert.deepEqual(await group(n.group), []);
      assert.equal(ipj(1, 'link', 'show').length, 1);
    } finally {
      await startService();
    }
  });

  test('the executable answers as a runtime expects: VERSION, decode, version, environment and netns errors', async () => {
    const run = async (e: NodeJS.ProcessEnv, input: string) => {
      const r = await runBin({ PATH: process.env.PATH, ...e }, input);
      return { status: r.status, out: r.stdout ? JSON.parse(r.stdout) : undefined };
    };
    let r = await run({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
    assert.equal(r.status, 0);
    assert.deepEqual(r.out, { cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    const e = { CNI_CONTAINERID: `${tag}-x`, CNI_NETNS: `/var/run/netns/${tag}-missing`, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
    r = await run({ CNI_COMMAND: 'ADD', ...e }, '{"cniVersion": "1.0.0", "name": ');
    assert.deepEqual([r.status, r.out.code], [1, 6]);
    r = await run({ CNI_COMMAND: 'ADD', ...e }, JSON.stringify(conf({}, '0.1.0')));
    assert.deepEqual([r.status, r.out.code], [1, 1]);
    r = await run({ CNI_COMMAND: 'ADD', ...e }, JSON.stringify(conf({ instanceType: 'l2' })));
    assert.deepEqual([r.status, r.out.code, r.out.cniVersion], [1, 7, '1.0.0']);
    r = await run({ CNI_COMMAND: 'ADD', ...e }, JSON.stringify(conf()));
    assert.deepEqual([r.status, r.out.code], [1, 3]);
    r = await run({ CNI_COMMAND: 'ADD', ...e, CNI_NETNS: '' }, JSON.stringify(conf()));
    assert.deepEqual([r.status, r.out.code], [1, 4]);
    r = await run({ CNI_COMMAND: 'FROB', ...e }, JSON.stringify(conf()));
    assert.deepEqual([r.status, r.out.code], [1, 4]);
    r = await run({ CNI_COMMAND: 'ADD', ...e, CNI_NETNS: nsPath(0) }, JSON.stringify(conf({ ipam: { type: 'no-such-ipam' } })));
    assert.deepEqual([r.status, r.out.code], [1, 7]);
    assert.match(r.out.msg, /failed to find plugin "no-such-ipam"/);
    r = await run({ CNI_COMMAND: 'STATUS' }, JSON.stringify(conf({}, '1.1.0')));
    assert.deepEqual([r.status, r.out.code], [1, 50], 'no CNI_PATH: the IPAM plugin is not found');
    r = await run({ CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni' }, JSON.stringify(conf({ stateDir: join(tmp, 'no-controller') }, '1.1.0')));
    assert.deepEqual([r.status, r.out.code], [1, 50], 'no controller');
    assert.match(r.out.msg, /controller not running/);
  });
});
