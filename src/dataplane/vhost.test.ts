/**
 * vhost0 for real (root only): the router's namespace runs the data plane with one AF_PACKET
 * vif toward a host namespace and vhost0 (a TAP) toward its own kernel. Pings to the router's
 * addresses (both families) and a TCP connection to a socket bound in the router's kernel
 * must work: punted up through vhost0, answered by the kernel, sent back out through the FIB
 * after the data plane answers the kernel's ARP/NDP on vhost0. The host namespace keeps the
 * kernel's default offloads (TSO/GSO on): its TCP reaches the vRouter as 64 KiB super-frames,
 * which the vRouter carries through its graph whole (io/super-frame.ts) and writes into vhost0
 * whole, as a NIC's GRO would hand them over (before: cut by io/gso.ts, merged again by
 * io/tcp-coalesce.ts).
 * The other way the router's kernel hands vhost0 its own 64 KiB super-frames (TUNSETOFFLOAD),
 * carried through the graph whole (io/super-frame.ts) and sent on toward the host namespace
 * as GSO super-frames (io/gso-send.ts); with an output filter on the fabric vif they are cut
 * there instead, each segment matched and counted. Both directions are checked byte for byte
 * (test/lib/tcp-bulk.ts) and the super-frames counted on each side.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { NetnsLab, needsRoot, ping, stopChild, waitForLine } from '../../test/lib/netns.js';
import { tcpBulk } from '../../test/lib/tcp-bulk.js';

const skip = needsRoot();
const lab = new NetnsLab('dpvh');
const child = fileURLToPath(new URL('../../test/support/vhost-child.js', import.meta.url));
let r = '';
let h = '';
let proc: ChildProcess | undefined;
let out = '';

before(async () => {
  if (skip) return;
  ({ router: r, hosts: [h] } = lab.topology({ router: 'r', hosts: [{ name: 'h', routerIf: 'r0', addrs: ['10.77.0.2/24', 'fd77::2/64'] }] }));
  proc = lab.spawn(r, [process.execPath, child, JSON.stringify({ vif: 'r0', mac: '02:dd:00:00:00:01', addresses: ['10.77.0.1/24', 'fd77::1/64'] })]);
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitForLine(proc, /^ready/, 30000);
});

after(async () => {
  if (proc) await stopChild(proc, 5000);
  await lab.cleanup();
});

interface ChildStats {
  counters: Record<string, number>;
  vifs: { name: string; io?: Record<string, number> }[];
  acls: { vif: string; direction?: string; rules: { hits: number; bytes: number }[] }[];
}

/**
 * The child's counters, vifs and filters (its stdin protocol, test/support/vhost-child.ts),
 * once the worker has copied its drivers' I/O counters in (every 250 ms of its turns: a ping
 * wakes it after the last traffic).
 */
async function childStats(): Promise<ChildStats> {
  await new Promise((res) => setTimeout(res, 300));
  ping(lab, h, '10.77.0.1', { count: 1, deadlineS: 2 });
  await new Promise((res) => setTimeout(res, 400));
  ping(lab, h, '10.77.0.1', { count: 1, deadlineS: 2 });
  const at = out.length;
  proc!.stdin!.write(`${JSON.stringify({ stats: true })}\n`);
  const t0 = Date.now();
  for (;;) {
    const m = /stats (.*)\n/.exec(out.slice(at));
    if (m) return JSON.parse(m[1]!) as ChildStats;
    if (Date.now() - t0 > 5000) throw new Error('no stats from the child');
    await new Promise((res) => setTimeout(res, 20));
  }
}

async function setAcl(rules: object[], direction: 'input' | 'output'): Promise<void> {
  const at = out.length;
  proc!.stdin!.write(`${JSON.stringify({ acl: { vif: 'r0', direction, rules } })}\n`);
  const t0 = Date.now();
  while (!out.slice(at).includes('acl-set')) {
    if (Date.now() - t0 > 5000) throw new Error('the child did not set the filter');
    await new Promise((res) => setTimeout(res, 20));
  }
}

function io(s: ChildStats, vif: string, key: string): number {
  return s.vifs.find((v) => v.name === vif)!.io![key] ?? 0;
}

/** Frames the vRouter wrote into the router's kernel on vhost0 (its rx, seen from the kernel). */
function vhostRxPackets(): number {
  return (JSON.parse(lab.run(r, ['ip', '-s', '-j', 'link', 'show', 'vhost0'])) as { stats64: { rx: { packets: number } } }[])[0]!.stats64.rx.packets;
}

test('the router\'s kernel owns its addresses on vhost0', { skip }, () => {
  const a = lab.run(r, ['ip', '-o', 'addr', 'show', 'dev', 'vhost0']);
  assert.match(a, /10\.77\.0\.1\/32/);
  assert.match(a, /fd77::1\/128/);
  const rt = lab.run(r, ['ip', 'route', 'show', 'dev', 'vhost0']);
  assert.match(rt, /10\.77\.0\.0\/24/);
});

test('ping the router (IPv4, IPv6) through vhost0', { skip }, () => {
  const p4 = ping(lab, h, '10.77.0.1', { count: 3, deadlineS: 8 });
  assert.ok(p4.received >= 2, p4.output);
  const p6 = ping(lab, h, 'fd77::1', { count: 3, deadlineS: 8 });
  assert.ok(p6.received >= 2, p6.output);
});

test('TCP to a socket in the router\'s kernel (what BGP does)', { skip }, async () => {
  const server = lab.spawn(r, ['python3', '-c', [
    'import socket',
    's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
    's.bind(("10.77.0.1", 1790)); s.listen(1); print("listening", flush=True)',
    's.settimeout(15); c, _ = s.accept(); c.sendall(b"hello from the router\\n"); c.close()',
  ].join('\n')]);
  await waitForLine(server, /listening/, 10000);
  const got = lab.run(h, ['python3', '-c', [
    'import socket',
    'c = socket.create_connection(("10.77.0.1", 1790), timeout=10)',
    'print(c.recv(100).decode().strip())',
  ].join('\n')], { timeout: 15000 });
  assert.equal(got.trim(), 'hello from the router');
  await stopChild(server, 2000);
});

for (const [family, addr, port] of [['IPv4', '10.77.0.1', 1791], ['IPv6', 'fd77::1', 1792]] as const) {
  test(`TCP bulk transfer from a neighbour at default offloads to vhost0 and back (${family})`, { skip, timeout: 60000 }, async () => {
    const bytes = 24 << 20;
    const framesIn0 = vhostRxPackets();
    const r1 = await tcpBulk(lab, r, h, addr, port, bytes);
    const framesIn = vhostRxPackets() - framesIn0;
    assert.deepEqual([r1.upBytes, r1.upOk, r1.downBytes, r1.downOk], [bytes, true, bytes, true], JSON.stringify(r1));
    console.log(`${family}: ${bytes >> 20} MiB to vhost0 in ${r1.upSeconds} s, back in ${r1.downSeconds} s; ${framesIn} frames into the router's kernel`);
    // the neighbour's segments reached the router's TCP merged into super-frames (io/tcp-coalesce.ts),
    // not one frame per ~1400-byte segment (which made 18,000 frames of 24 MiB)
    assert.ok(framesIn < bytes / 1400 / 2, `${framesIn} frames into the kernel for ${bytes} bytes`);
  });
}

test('vhost0 takes super-frames from the router\'s kernel: TSO and checksum offload on the TAP; TSO on the fabric vif for GSO sends', { skip }, () => {
  const k = lab.run(r, ['ethtool', '-k', 'vhost0']);
  assert.match(k, /tcp-segmentation-offload: on/);
  assert.match(k, /tx-checksumming: on/);
  // the vRouter's own end of the fabric veth: TSO on (its super-frames go to the neighbour whole), GRO off
  const f = lab.run(r, ['ethtool', '-k', 'r0']);
  assert.match(f, /tcp-segmentation-offload: on/);
  assert.match(f, /generic-receive-offload: off/);
});

test('filters on the fabric vif cut the carried super-frames: every segment matched and counted, none sent whole', { skip, timeout: 60000 }, async () => {
  const bytes = 8 << 20;
  // the router's server sends from port 1793: its segments toward the host hit the output
  // filter's rule 0 (an input filter applies to forwarded packets, not to the router's own:
  // those reach vhost0 whole, filtered or not)
  await setAcl([{ action: 'permit', protocol: 'tcp', srcPort: 1793 }, { action: 'permit' }], 'output');
  await setAcl([{ action: 'deny', protocol: 'udp' }, { action: 'permit' }], 'input');
  try {
    const s0 = await childStats();
    const r1 = await tcpBulk(lab, r, h, '10.77.0.1', 1793, bytes);
    assert.deepEqual([r1.upBytes, r1.upOk, r1.downBytes, r1.downOk], [bytes, true, bytes, true], JSON.stringify(r1));
    const s1 = await childStats();
    const d = (vif: string, key: string): number => io(s1, vif, key) - io(s0, vif, key);
    const rule = s1.acls.find((a) => a.vif === 'r0' && a.direction === 'output')!.rules[0]!;
    console.log(`filtered: vhost0 carried ${d('vhost0', 'carried')} super-frames (${d('vhost0', 'carriedSegments')} segments), r0 sent ${d('r0', 'txCarried')} whole; r0 carried ${d('r0', 'carried')} (${d('r0', 'carriedSegments')} segments), vhost0 wrote ${d('vhost0', 'txCarried')} whole; rule hits ${rule.hits}, ${rule.bytes} bytes`);
    assert.ok(d('vhost0', 'carried') > 0, 'super-frames from the host carried to the filter');
    assert.equal(d('r0', 'txCarried'), 0, 'none sent whole past a filter');
    // one hit per segment (about 1448 bytes of payload each), not one per 64 KiB super-frame
    assert.ok(rule.hits >= bytes / 1448, `${rule.hits} hits for ${bytes} bytes`);
    assert.ok(rule.bytes >= bytes, `${rule.bytes} bytes counted`);
    // toward the router's own address the input filter does not apply: carried and written whole
    assert.ok(d('r0', 'carried') > 0 && d('vhost0', 'txCarried') > 0, 'the host-bound direction carried whole');
  } finally {
    await setAcl([], 'output');
    await setAcl([], 'input');
  }
});

test('SIGTERM stops the data plane cleanly and every punt was counted', { skip }, async () => {
  const t0 = Date.now();
  const exited = new Promise<number | null>((res) => proc!.once('exit', (code) => res(code)));
  proc!.kill('SIGTERM');
  const code = await exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 5000);
  const c = JSON.parse(/counters (.*)/.exec(out)![1]!) as Record<string, number>;
  assert.ok(c.punt! >= 4, out);
  assert.ok(c.tx! >= 4, out);
  // the neighbour's TCP arrived as super-frames, carried through the graph whole, and nothing was lost on the way in
  const vifs = JSON.parse(/vifs (.*)/.exec(out)![1]!) as { name: string; io?: Record<string, number> }[];
  const io = vifs.find((v) => v.name === 'r0')!.io!;
  assert.ok(io.carried! > 0 && io.carriedSegments! > io.carried!, JSON.stringify(io));
  assert.equal(io.gsoUnsupported, 0);
  assert.equal(io.rxTooBig, 0);
  // the router's TCP sent super-frames into vhost0, carried through the graph whole, and they
  // left on r0 whole (GSO sends), counted as the segments they stand for
  const vh = vifs.find((v) => v.name === 'vhost0')!.io!;
  console.log(`r0 ${JSON.stringify(io)}\nvhost0 ${JSON.stringify(vh)}`);
  assert.ok(vh.carried! > 0 && vh.carriedSegments! > vh.carried!, `vhost0: ${JSON.stringify(vh)}`);
  assert.equal(vh.gsoUnsupported, 0);
  assert.ok(vh.txCarried! > 0 && vh.txCarriedSegments! > vh.txCarried!, `vhost0 wrote the neighbour's super-frames whole: ${JSON.stringify(vh)}`);
  assert.ok(io.txCarried! > 0 && io.txCarriedSegments! > io.txCarried!, `r0 carried super-frames sent whole: ${JSON.stringify(io)}`);
  assert.ok(io.txGsoFrames! > io.txCarried! && io.txGsoSegments! > io.txGsoFrames!, `r0 GSO sends: ${JSON.stringify(io)}`);
  // the vifs' packet counters count segments: r0 sent at least one packet per ~1448 bytes of the 2 x 24 MiB and the filter test's 8 MiB
  const r0 = vifs.find((v) => v.name === 'r0') as unknown as { txPackets: number };
  assert.ok(r0.txPackets >= (56 << 20) / 1448, `r0 sent ${r0.txPackets} packets`);
  const drops = JSON.parse(/dropstats (.*)/.exec(out)![1]!) as Record<string, number>;
  assert.equal(drops.rx_too_big, undefined, out);
  assert.equal(drops.gso_unsupported, undefined, out);
});
