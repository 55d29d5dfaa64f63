/**
 * `firewall family bridge` filters through the real controller and agent (docs/l2.md): the
 * filter applied with `family bridge filter input` reaches the data plane with the port
 * (codec, agent), discards and accepts frames injected on memory vifs as its terms say, shows
 * its hits per term in listAcls (`cnr acl --list`), follows a change of the filter alone, and
 * goes when the port loses it; bad lines are refused with their reason.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerStack, type ControllerStack } from '../support/controller-stack.js';
import * as F from '../support/frames.js';

let S: ControllerStack;
let dp: ControllerStack['dp'];
const run = (...commands: string[]) => S.run(...commands);

before(async () => {
  S = await startControllerStack('l2fw');
  dp = S.dp;
});

after(async () => {
  await S?.stop();
});

async function eventually(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const BCAST = 'ff:ff:ff:ff:ff:ff';
const BAD = '02:00:00:00:00:bd';
const GOOD = '02:00:00:00:00:0d';
const payload = F.ipv4({ src: '10.9.0.1', dst: '10.9.0.2', payload: F.udp(1000, 2000) });

/** Frames a2 receives when `frame` comes in on t1 (the data plane polls on the event loop). */
async function toA2(frame: Uint8Array): Promise<number> {
  await S.deliver('t1', frame);
  return dp.memoryDriver('a2').collect().length;
}

test('a bridge filter in Junos form filters a trunk\'s input in the data plane; terms counted; changes follow', { timeout: 30_000 }, async () => {
  const c = await run(
    'configure private',
    'set interfaces t1 unit 0 family bridge interface-mode trunk',
    'set interfaces t1 unit 0 family bridge vlan-id-list 100',
    'set interfaces t1 unit 0 family bridge filter input f1',
    'set interfaces a2 unit 0 family bridge interface-mode access',
    'set interfaces a2 unit 0 family bridge vlan-id 100',
    'set bridge-domains bd100 vlan-id 100',
    `set firewall family bridge filter f1 term t1 from source-mac-address ${BAD}/48`,
    'set firewall family bridge filter f1 term t1 then discard',
    'set firewall family bridge filter f1 term t1 then count bad-mac',
    'set firewall family bridge filter f1 term no-v6 from ether-type ipv6',
    'set firewall family bridge filter f1 term no-v6 then discard',
    'set firewall family bridge filter f1 term rest then accept',
    'commit',
  );
  assert.equal(c.failed, undefined, JSON.stringify(c.failed));
  await eventually('the filter in the data plane', () => dp.listAcls().some((a) => a.vif === 't1' && a.bridge?.length === 3));
  // the main thread lists the filter once it is written; a worker takes the new tables at its
  // next burst: the bad MAC is sent until term t1 has counted it (bounded)
  const t1Hits = () => dp.listAcls().find((a) => a.vif === 't1')?.bridge?.[0]?.hits ?? 0;
  for (let i = 0; i < 20 && t1Hits() === 0; i++) assert.equal(await toA2(F.eth(BCAST, BAD, 0x0800, payload, 100)), 0, 'the bad MAC is discarded');
  const badHits = t1Hits();
  assert.ok(badHits >= 1, 'term t1 counted the bad MAC');
  assert.equal(await toA2(F.eth(BCAST, GOOD, 0x86dd, new Uint8Array(40), 100)), 0, 'IPv6 is discarded');
  assert.equal(await toA2(F.eth(BCAST, GOOD, 0x0800, payload, 100)), 1, 'the rest passes');
  const [acl] = dp.listAcls();
  assert.deepEqual(acl!.bridge!.map((t) => [t.name, t.action, t.hits]), [['t1', 'discard', badHits], ['no-v6', 'discard', 1], ['rest', 'accept', 1]]);
  assert.equal(acl!.bridge![0]!.count, 'bad-mac');
  assert.equal(acl!.bridge![1]!.etherType, 0x86dd);
  assert.equal(dp.dropStats().l2_filter_discard, badHits + 1);
  // show firewall lists it beside IP filters: the filter's name, frames per term and counter
  const fw = await run('show firewall');
  assert.match(fw.last.text, /Filter: f1 \(bridge input of t1\)/);
  assert.match(fw.last.text, new RegExp(`Counters:[^]*\\nbad-mac\\s+-\\s+${badHits}\\n`));
  assert.match(fw.last.text, new RegExp(`Terms:[^]*\\nt1\\s+-\\s+${badHits}\\nno-v6\\s+-\\s+1\\nrest\\s+-\\s+1\\n\\(implicit discard\\)\\s+-\\s+0\\n`));
  const fwData = (fw.last.data as { filters: { family: string; terms: { name: string; packets: number; bytes?: number }[] }[] }).filters;
  assert.deepEqual(fwData.map((f) => [f.family, f.terms.map((t) => [t.name, t.packets, t.bytes])]), [['bridge', [['t1', badHits, undefined], ['no-v6', 1, undefined], ['rest', 1, undefined]]]]);

  // a change of the filter alone reaches the port
  const ch = await run('configure private', 'delete firewall family bridge filter f1 term no-v6', 'commit');
  assert.equal(ch.failed, undefined, JSON.stringify(ch.failed));
  await eventually('the changed filter', () => dp.listAcls()[0]?.bridge?.length === 2);
  assert.equal(await toA2(F.eth(BCAST, GOOD, 0x86dd, new Uint8Array(40), 100)), 1, 'IPv6 passes now');

  // the port without its filter: everything passes, listAcls is empty
  const rm = await run('configure private', 'delete interfaces t1 unit 0 family bridge filter', 'commit');
  assert.equal(rm.failed, undefined, JSON.stringify(rm.failed));
  await eventually('no filter', () => dp.listAcls().length === 0);
  assert.equal(await toA2(F.eth(BCAST, BAD, 0x0800, payload, 100)), 1, 'the bad MAC passes without the filter');
});

test('bad bridge filter lines are refused with their reason', async () => {
  const cases: [string[], RegExp][] = [
    [['set firewall family bridge filter f2 term a from source-mac-address 02:00:00:00:00/48'], /not a MAC address match/],
    [['set firewall family bridge filter f2 term a from source-mac-address 02:00:00:00:00:01/49'], /not a MAC address match/],
    [['set firewall family bridge filter f2 term a from ether-type 0x0100'], /not an EtherType/],
    [['set firewall family bridge filter f2 term a from vlan-id 4095'], /4094/],
    [['set interfaces t1 unit 0 family bridge filter input nope', 'commit'], /firewall family bridge filter 'nope' is not defined/],
    [['set firewall family bridge filter f2 term a then accept', 'set firewall family bridge filter f2 term a then discard', 'commit'], /accept and discard exclude each other/],
  ];
  for (const [lines, re] of cases) {
    const r = await run('configure private', ...lines);
    assert.match(r.failed?.error ?? '', re, lines.join('; '));
    await run('rollback 0');
  }
});
