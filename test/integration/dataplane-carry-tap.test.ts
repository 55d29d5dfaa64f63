/**
 * A pod attached by TAP (as cnr-cni's `interfaceType: tap` does: the vRouter makes the TAP, it
 * is moved into the pod's namespace as eth0) sends and receives TCP through the vRouter with
 * the kernel's default offloads on both sides (root only). The pod's kernel hands its TAP
 * 64 KiB TSO super-frames (the vRouter offers TSO by TUNSETOFFLOAD), the host behind the
 * AF_PACKET vif sends GSO super-frames on its veth; both are carried through the graph whole
 * (io/super-frame.ts) and leave whole: toward the pod by the TAP's txSuper, toward the host by
 * AF_PACKET's GSO send. Checked both ways, IPv4 and IPv6, byte for byte, with the carried
 * counters of both vifs and no checksum error in either receiver.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { NetnsLab, needsRoot, numberedHost, ping, snmp } from '../lib/netns.js';
import { startVrouter, vifIo, type RunningVrouter } from '../lib/vrouter.js';
import { tcpBulk } from '../lib/tcp-bulk.js';

const skip = needsRoot() || (!existsSync('/dev/net/tun') ? 'needs /dev/net/tun' : false);
if (skip) console.log(`# dataplane-carry-tap: skipped: ${skip}`);
const lab = new NetnsLab('dpct');
let pod = '';
let h2 = '';
let r = '';
let vr: RunningVrouter | undefined;

before(async () => {
  if (skip) return;
  ({ router: r, hosts: [h2] } = lab.topology({ router: 'r', hosts: [numberedHost(2)] }));
  pod = lab.netns('pod');
  vr = await startVrouter(lab, r, {
    workers: 1,
    vifs: [
      { name: 'tp1', driver: 'tap', addresses: ['10.1.0.1/24', '2001:db8:1::1/64'] },
      { name: 'r2', driver: 'af-packet', mac: '02:ee:00:00:02:01', addresses: ['10.2.0.1/24', '2001:db8:2::1/64'] },
    ],
  });
  // the TAP's file descriptor stays the vRouter's wherever the netdev goes
  lab.run(r, ['ip', 'link', 'set', 'tp1', 'netns', pod, 'name', 'eth0']);
  lab.run(pod, ['ip', 'link', 'set', 'eth0', 'up']);
  lab.run(pod, ['ip', 'addr', 'add', '10.1.0.2/24', 'dev', 'eth0']);
  lab.run(pod, ['ip', 'addr', 'add', '2001:db8:1::2/64', 'dev', 'eth0', 'nodad']);
  lab.run(pod, ['ip', 'route', 'add', 'default', 'via', '10.1.0.1']);
  lab.run(pod, ['ip', '-6', 'route', 'add', 'default', 'via', '2001:db8:1::1']);
  for (const dst of ['10.2.0.2', '2001:db8:2::2']) ping(lab, pod, dst, { count: 2, deadlineS: 5 });
});

after(async () => {
  // the vRouter first: closing its fd removes the TAP from the pod
  if (vr) await vr.stop();
  await lab.cleanup();
});

const io = (): ReturnType<typeof vifIo> => vifIo(vr!, () => ping(lab, pod, '10.2.0.2', { count: 1, deadlineS: 2 }));
const tcpIn = (ns: string): { segs: number; csumErrors: number } => {
  const s = snmp(lab, ns);
  return { segs: s['Tcp.InSegs']!, csumErrors: s['Tcp.InCsumErrors']! };
};

for (const [family, addr, port] of [['IPv4', '10.2.0.2', 1811], ['IPv6', '2001:db8:2::2', 1812]] as const) {
  test(`TCP between a TAP pod and a host at default offloads is carried whole both ways (${family})`, { skip, timeout: 60000 }, async () => {
    const bytes = 16 << 20;
    const a = await io();
    const p0 = tcpIn(pod);
    const h0 = tcpIn(h2);
    const t = await tcpBulk(lab, h2, pod, addr, port, bytes);
    assert.deepEqual([t.upBytes, t.upOk, t.downBytes, t.downOk], [bytes, true, bytes, true], JSON.stringify(t));
    const b = await io();
    const p1 = tcpIn(pod);
    const h1 = tcpIn(h2);
    const d = (vif: string, key: string): number => (b[vif]![key] ?? 0) - (a[vif]![key] ?? 0);
    console.log(`${family}: tp1 carried ${d('tp1', 'carried')} (${d('tp1', 'carriedSegments')} segments), cut ${d('tp1', 'gsoFrames')}, r2 sent ${d('r2', 'txCarried')} whole; r2 carried ${d('r2', 'carried')} (${d('r2', 'carriedSegments')} segments), tp1 wrote ${d('tp1', 'txCarried')} whole and ${d('tp1', 'txGsoFrames')} merged; pod took ${p1.segs - p0.segs} skbs, h2 ${h1.segs - h0.segs}`);
    // pod to host: the pod's TSO frames carried from the TAP, sent whole on r2
    assert.ok(d('tp1', 'carried') > 0 && d('tp1', 'carriedSegments') > d('tp1', 'carried'), 'the TAP carried the pod\'s super-frames');
    assert.ok(d('r2', 'txCarried') > 0, 'r2 sent them whole');
    // host to pod: the host's GSO frames carried from r2, written whole into the TAP
    assert.ok(d('r2', 'carried') > 0 && d('r2', 'carriedSegments') > d('r2', 'carried'), 'r2 carried the host\'s super-frames');
    assert.ok(d('tp1', 'txCarried') > 0, 'the TAP wrote them whole to the pod');
    assert.equal(p1.csumErrors - p0.csumErrors, 0, 'pod checksum errors');
    assert.equal(h1.csumErrors - h0.csumErrors, 0, 'host checksum errors');
  });
}
