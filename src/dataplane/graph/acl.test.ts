/**
 * The IP filters' actions beyond permit and deny, in memory, with the fast path on and off:
 * reject (ICMP unreachable, administratively prohibited, back to the source), skip (Junos
 * `except`: the scan leaves the term), ICMP types, and output filters (acl-out) with their
 * own hit counters and drop reasons; packets toward a vif without an output filter keep the
 * fast path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane, type VRouterDataplane } from '../dataplane.js';
import * as F from '../../../test/support/frames.js';

const H1 = '02:00:00:00:01:01';
const H2 = '02:00:00:00:02:02';
const R1 = '02:aa:00:00:00:01';
const R2 = '02:aa:00:00:00:02';

async function setup(fast: boolean): Promise<VRouterDataplane> {
  const dp = createDataplane({ workers: 0 });
  await dp.addVif({ name: 'p1', driver: 'memory', mac: R1, addresses: ['10.0.1.1/24', '2001:db8:1::1/64'] });
  await dp.addVif({ name: 'p2', driver: 'memory', mac: R2, addresses: ['10.0.2.1/24', '2001:db8:2::1/64'] });
  (dp as unknown as { engine: { graph: { fastOn: boolean } } }).engine.graph.fastOn = fast;
  const nh2 = dp.addNexthop({ type: 'encap', vif: 'p2', dmac: H2 });
  dp.addRoute('default', '198.51.100.0/24', nh2);
  dp.addRoute('default', '2001:db8:100::/48', nh2);
  // replies toward the sources on p1
  const nh1 = dp.addNexthop({ type: 'encap', vif: 'p1', dmac: H1 });
  dp.addRoute('default', '10.9.0.0/16', nh1);
  dp.addRoute('default', '2001:db8:9::/48', nh1);
  return dp;
}

function send(dp: VRouterDataplane, vif: string, ...frames: Uint8Array[]): Record<string, Uint8Array[]> {
  for (const f of frames) assert.ok(dp.memoryDriver(vif).inject(f));
  dp.runUntilIdle();
  const out: Record<string, Uint8Array[]> = {};
  for (const v of dp.listVifs()) out[v.name] = dp.memoryDriver(v.name).collect();
  return out;
}

const v4 = (src: string, dst: string, proto: number, payload: Uint8Array) => F.eth(R1, H1, 0x0800, F.ipv4({ src, dst, proto, payload }));
const v6 = (src: string, dst: string, next: number, payload: Uint8Array) => F.eth(R1, H1, 0x86dd, F.ipv6({ src, dst, next, payload }));
const tcp = (dport: number) => Uint8Array.of(0x30, 0x39, dport >> 8, dport & 255, ...new Uint8Array(16));

for (const fast of [true, false]) {
  const how = fast ? 'fast path on' : 'general nodes only';

  test(`input filter: reject sends ICMP administratively prohibited, except prefixes leave their term, ICMP types (${how})`, async () => {
    const dp = await setup(fast);
    dp.setAcl('p1', [
      // term 1: from 10.9.0.0/16 except 10.9.9.0/24, tcp 22: reject
      { action: 'skip', skip: 1, family: 'inet', src: '10.9.9.0/24' },
      { action: 'reject', src: '10.9.0.0/16', protocol: 'tcp', dstPort: 22 },
      // term 2: echo requests are discarded, other ICMP goes
      { action: 'deny', protocol: 'icmp', icmpType: 8 },
      { action: 'permit', protocol: 'icmp' },
      { action: 'permit', family: 'inet', protocol: 'tcp' },
      { action: 'reject', family: 'inet6', protocol: 'udp', dstPort: 53 },
      { action: 'permit', family: 'inet6' },
    ]);
    let o = send(dp, 'p1', v4('10.9.1.1', '198.51.100.7', 6, tcp(22)));
    assert.equal(o.p2!.length, 0, 'rejected');
    assert.equal(o.p1!.length, 1, 'an ICMP error back to the source');
    const e = o.p1![0]!;
    assert.equal(e[14 + 9], 1, 'ICMP');
    assert.deepEqual([e[14 + 20], e[14 + 21]], [3, 13], 'unreachable, administratively prohibited');
    assert.equal(F.hex(e, 14 + 16, 4), '0a:09:01:01', 'to the source');
    assert.equal(dp.dropStats().acl_reject, 1);
    o = send(dp, 'p1', v4('10.9.9.1', '198.51.100.7', 6, tcp(22)));
    assert.equal(o.p2!.length, 1, 'the except prefix left term 1; the tcp term permits it');
    o = send(dp, 'p1', v4('10.9.1.1', '198.51.100.7', 1, F.icmpEcho(8)), v4('10.9.1.1', '198.51.100.7', 1, F.icmpEcho(0)));
    assert.equal(o.p2!.length, 1, 'the echo request discarded, the reply passed');
    assert.equal(o.p2![0]![14 + 20], 0);
    o = send(dp, 'p1', v6('2001:db8:9::1', '2001:db8:100::7', 17, F.udp(1000, 53)), v6('2001:db8:9::1', '2001:db8:100::7', 17, F.udp(1000, 54)));
    assert.equal(o.p2!.length, 1, 'udp 53 rejected, 54 passed');
    assert.equal(o.p1!.length, 1);
    assert.equal(o.p1![0]![14 + 6], 58, 'ICMPv6');
    assert.deepEqual([o.p1![0]![14 + 40], o.p1![0]![14 + 41]], [1, 1], 'destination unreachable, administratively prohibited');
    const [info] = dp.listAcls();
    // (a skip rule decides nothing: no hits of its own; the ICMP errors the router sent are no input)
    assert.deepEqual(info!.rules.map((r) => r.hits), [0, 1, 1, 1, 1, 1, 1]);
    assert.equal(info!.rules[0]!.skip, 1);
    assert.equal(info!.rules[2]!.icmpType, 8);
    assert.throws(() => dp.setAcl('p1', [{ action: 'skip', skip: 1 }]), /skip 1 runs past the last rule/);
    assert.throws(() => dp.setAcl('p1', [{ action: 'deny', protocol: 'tcp', icmpType: 3 }]), /icmp type needs protocol icmp or icmpv6/);
  });

  test(`output filter: checked on the outgoing vif, counted apart; removal restores (${how})`, async () => {
    const dp = await setup(fast);
    dp.setAcl('p2', [
      { action: 'deny', protocol: 'udp', dstPort: 9 },
      { action: 'reject', protocol: 'tcp', dstPort: 23 },
      { action: 'permit', family: 'inet' },
    ], 'output');
    const o = send(dp, 'p1',
      v4('10.9.1.1', '198.51.100.7', 17, F.udp(1000, 9)),
      v4('10.9.1.1', '198.51.100.7', 17, F.udp(1000, 10)),
      v4('10.9.1.1', '198.51.100.7', 6, tcp(23)),
      v6('2001:db8:9::1', '2001:db8:100::7', 17, F.udp(1000, 10)),
    );
    assert.equal(o.p2!.length, 1, 'only the udp 10 datagram left p2');
    assert.equal(o.p1!.length, 1, 'one ICMP error for the rejected tcp');
    assert.deepEqual([o.p1![0]![14 + 20], o.p1![0]![14 + 21]], [3, 13]);
    const st = dp.dropStats();
    assert.equal(st.acl_out_deny, 2, 'udp 9, and IPv6 that no rule matched');
    assert.equal(st.acl_out_reject, 1);
    assert.equal(st.acl_deny ?? 0, 0, 'no input filter');
    const infos = dp.listAcls();
    assert.equal(infos.length, 1);
    assert.equal(infos[0]!.direction, 'output');
    assert.deepEqual(infos[0]!.rules.map((r) => r.hits), [1, 1, 1]);
    assert.equal(infos[0]!.unmatched, 1);
    // the other direction is untouched: p2 to p1 passes (p2 has an output filter only)
    const back = send(dp, 'p2', F.eth(R2, H2, 0x0800, F.ipv4({ src: '10.0.2.9', dst: '10.9.1.1', payload: F.udp(1000, 9) })));
    assert.equal(back.p1!.length, 1);
    dp.setAcl('p2', [], 'output');
    assert.equal(send(dp, 'p1', v4('10.9.1.1', '198.51.100.7', 17, F.udp(1000, 9))).p2!.length, 1, 'no filter after an empty list');
    assert.deepEqual(dp.listAcls(), []);
  });
}
