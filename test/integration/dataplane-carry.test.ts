/**
 * TCP super-frames forwarded between two fabric vifs whole (root only; io/super-frame.ts):
 * host1 — vRouter (AF_PACKET, 1500-byte MTU) — host2, both hosts at the kernel's default
 * offloads, so their TCP reaches the vRouter as 64 KiB super-frames with a partial checksum.
 * Without filters they cross the graph as one packet each and leave by the GSO send whole
 * (counted `carried` on the receiving vif, `txCarried` on the sending one); with an input
 * filter on host1's vif they are cut at the filter, every segment matched and counted, and
 * nothing crosses whole from that side. With the AF_PACKET GSO send off (CNR_AF_PACKET_TX_GSO=0)
 * no out-port can send them whole: tx cuts each into MTU-sized segments with finished
 * checksums, and the receiving hosts' TCP sees every segment and no checksum error. Both
 * transfers are checked byte for byte.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, needsRoot, numberedHost, ping, snmp } from '../lib/netns.js';
import { startVrouter, vifIo, type RunningVrouter } from '../lib/vrouter.js';
import { tcpBulk } from '../lib/tcp-bulk.js';
import type { VrouterConfig } from '../lib/vrouter-child.js';

const skip = needsRoot();
const lab = new NetnsLab('dpcar');
let h1 = '';
let h2 = '';
let r = '';
let vr: RunningVrouter | undefined;

before(async () => {
  if (skip) return;
  ({ router: r, hosts: [h1, h2] } = lab.topology({ router: 'r', hosts: [numberedHost(1), numberedHost(2)] }));
  vr = await startRouter();
});

async function startRouter(acls?: VrouterConfig['acls'], env?: Record<string, string>): Promise<RunningVrouter> {
  const v = await startVrouter(lab, r, {
    workers: 1,
    vifs: [
      { name: 'r1', driver: 'af-packet', mac: '02:ee:00:00:01:01', addresses: ['10.1.0.1/24', '2001:db8:1::1/64'] },
      { name: 'r2', driver: 'af-packet', mac: '02:ee:00:00:02:01', addresses: ['10.2.0.1/24', '2001:db8:2::1/64'] },
    ],
    ...(acls ? { acls } : {}),
  }, env ? { env } : {});
  for (const dst of ['10.2.0.2', '2001:db8:2::2']) ping(lab, h1, dst, { count: 2, deadlineS: 3 });
  return v;
}

after(async () => {
  if (vr) await vr.stop();
  await lab.cleanup();
});

const io = (): ReturnType<typeof vifIo> => vifIo(vr!, () => ping(lab, h1, '10.2.0.2', { count: 1, deadlineS: 2 }));

const delta = (a: Record<string, Record<string, number>>, b: Record<string, Record<string, number>>, vif: string, key: string): number => (b[vif]![key] ?? 0) - (a[vif]![key] ?? 0);

for (const [family, addr, port] of [['IPv4', '10.2.0.2', 1801], ['IPv6', '2001:db8:2::2', 1802]] as const) {
  test(`TCP between two neighbours at default offloads crosses whole (${family})`, { skip, timeout: 60000 }, async () => {
    const bytes = 16 << 20;
    const a = await io();
    const t = await tcpBulk(lab, h2, h1, addr, port, bytes);
    assert.deepEqual([t.upBytes, t.upOk, t.downBytes, t.downOk], [bytes, true, bytes, true], JSON.stringify(t));
    const b = await io();
    const d = (vif: string, key: string): number => delta(a, b, vif, key);
    console.log(`${family}: r1 carried ${d('r1', 'carried')} (${d('r1', 'carriedSegments')} segments), r2 sent ${d('r2', 'txCarried')} whole; r2 carried ${d('r2', 'carried')}, r1 sent ${d('r1', 'txCarried')} whole; cut on the way in: r1 ${d('r1', 'gsoFrames')}, r2 ${d('r2', 'gsoFrames')}`);
    for (const [from, to] of [['r1', 'r2'], ['r2', 'r1']] as const) {
      assert.ok(d(from, 'carried') > 0 && d(from, 'carriedSegments') > d(from, 'carried'), `${from} carried`);
      assert.ok(d(to, 'txCarried') > 0, `${to} sent whole`);
    }
  });
}

test('an input filter on host1\'s vif cuts its super-frames: every segment matched and counted, none sent whole from that side', { skip, timeout: 60000 }, async () => {
  const bytes = 8 << 20;
  await vr!.stop();
  // host1 sends to port 1803: its segments (and its ACKs) hit rule 0
  vr = await startRouter([{ vif: 'r1', direction: 'input', rules: [{ action: 'permit', protocol: 'tcp', dstPort: 1803 }, { action: 'permit' }] }]);
  const a = await io();
  const t = await tcpBulk(lab, h2, h1, '10.2.0.2', 1803, bytes);
  assert.deepEqual([t.upBytes, t.upOk, t.downBytes, t.downOk], [bytes, true, bytes, true], JSON.stringify(t));
  const b = await io();
  const d = (vif: string, key: string): number => delta(a, b, vif, key);
  const rule = (JSON.parse(vr!.cnr('acl', '--list', '--json')) as { vif: string; rules: { hits: number; bytes: number }[] }[]).find((x) => x.vif === 'r1')!.rules[0]!;
  console.log(`filtered: r1 carried ${d('r1', 'carried')}, r2 sent ${d('r2', 'txCarried')} whole and ${d('r2', 'txGsoFrames')} merged again; the other way r1 sent ${d('r1', 'txCarried')} whole; rule 0: ${rule.hits} hits, ${rule.bytes} bytes`);
  assert.ok(d('r1', 'carried') > 0, 'carried to the filter');
  assert.equal(d('r2', 'txCarried'), 0, 'none sent whole past the filter');
  assert.ok(d('r2', 'txGsoFrames') > 0, 'its segments merged again on the way out');
  assert.ok(d('r1', 'txCarried') > 0, 'the unfiltered direction still whole');
  // the bytes of every segment counted, not the first segment's of each super-frame
  assert.ok(rule.bytes >= bytes, `${rule.bytes} bytes counted by rule 0`);
});

test('with the AF_PACKET GSO send off, carried super-frames are cut at tx into MTU-sized segments, checksums finished, bytes intact both ways', { skip, timeout: 90000 }, async () => {
  const bytes = 8 << 20;
  await vr!.stop();
  vr = await startRouter(undefined, { CNR_AF_PACKET_TX_GSO: '0' });
  for (const [addr, port] of [['10.2.0.2', 1804], ['2001:db8:2::2', 1805]] as const) {
    const a = await io();
    const s1 = snmp(lab, h1);
    const s2 = snmp(lab, h2);
    const t = await tcpBulk(lab, h2, h1, addr, port, bytes);
    assert.deepEqual([t.upBytes, t.upOk, t.downBytes, t.downOk], [bytes, true, bytes, true], JSON.stringify(t));
    const b = await io();
    const e1 = snmp(lab, h1);
    const e2 = snmp(lab, h2);
    const d = (vif: string, key: string): number => delta(a, b, vif, key);
    const seg = (x: Record<string, number>, y: Record<string, number>, key: string): number => y[key]! - x[key]!;
    console.log(`GSO send off (${addr}): r1 carried ${d('r1', 'carried')} (${d('r1', 'carriedSegments')} segments), r2 carried ${d('r2', 'carried')}; sent whole r1 ${d('r1', 'txCarried')} r2 ${d('r2', 'txCarried')}, merged r1 ${d('r1', 'txGsoFrames')} r2 ${d('r2', 'txGsoFrames')}; h2 took ${seg(s2, e2, 'Tcp.InSegs')} segments (${seg(s2, e2, 'Tcp.InCsumErrors')} bad checksums), h1 ${seg(s1, e1, 'Tcp.InSegs')} (${seg(s1, e1, 'Tcp.InCsumErrors')})`);
    for (const [from, to] of [['r1', 'r2'], ['r2', 'r1']] as const) {
      // super-frames came in and were carried, but none left whole nor merged again
      assert.ok(d(from, 'carried') > 0 && d(from, 'carriedSegments') > d(from, 'carried'), `${from} carried`);
      assert.equal(d(to, 'txCarried'), 0, `${to} sent none whole`);
      assert.equal(d(to, 'txGsoFrames'), 0, `${to} merged none`);
    }
    // each receiver's TCP took MTU-sized segments (at most 1448 bytes of payload each: the
    // veths do no GRO toward the hosts), every checksum good
    for (const [x, y, name] of [[s1, e1, 'h1'], [s2, e2, 'h2']] as const) {
      assert.equal(seg(x, y, 'Tcp.InCsumErrors'), 0, `${name} checksum errors`);
      assert.ok(seg(x, y, 'Tcp.InSegs') >= bytes / 1448, `${name} took ${seg(x, y, 'Tcp.InSegs')} segments for ${bytes} bytes`);
    }
  }
});
