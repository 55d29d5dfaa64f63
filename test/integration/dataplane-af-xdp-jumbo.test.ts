/**
 * AF_XDP vifs with what real neighbours send (root only): multi-buffer AF_XDP (XDP_USE_SG and
 * a frags-aware program, docs/design.md "What neighbours send").
 *
 * - Jumbo links: host1 — vRouter (af-xdp) — host2 with 9000-byte MTUs. The frags-aware
 *   program lets native XDP attach on a veth whose peer has a 9000-byte MTU (a plain one caps
 *   it near 3.5 KB and `auto` fell back to SKB mode); TCP at default offloads crosses with the
 *   default 2048-byte buffers (jumbo frames arrive in several chunks and are cut to fit), and a
 *   vRouter started for a 9000-byte MTU carries 9000-byte pings whole.
 * - SKB (generic) mode on 1500-byte links at default offloads: the peer's GSO super-frames
 *   reach the program whole, arrive as chains of chunks, and are cut into MTU-sized segments
 *   (before, the kernel dropped them and the neighbour's TCP crawled).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, needsRoot, numberedHost, ping } from '../lib/netns.js';
import { startVrouter, type RunningVrouter } from '../lib/vrouter.js';
import { tcpBulk } from '../lib/tcp-bulk.js';

const skip = needsRoot();
let lab: NetnsLab | undefined;
let vr: RunningVrouter | undefined;

after(async () => {
  if (vr) await vr.stop();
  if (lab) await lab.cleanup();
});

interface Vif {
  name: string;
  io: Record<string, number>;
}

function vif(name: string): Vif {
  return (JSON.parse(vr!.cnr('vif', '--list', '--json')) as Vif[]).find((v) => v.name === name)!;
}

/** The XDP attachment of a router veth in `ip link show` ('xdp' native, 'xdpgeneric' skb), or null. */
function xdpMode(l: NetnsLab, ns: string, ifname: string): string | null {
  return /\s(xdp|xdpgeneric|xdpdrv)\s/.exec(l.run(ns, ['ip', 'link', 'show', ifname]))?.[1] ?? null;
}

async function bulkBothWays(l: NetnsLab, h1: string, h2: string, ports: [number, number]): Promise<void> {
  for (const [addr, port] of [['10.2.0.2', ports[0]], ['2001:db8:2::2', ports[1]]] as const) {
    const bytes = 8 << 20;
    const res = await tcpBulk(l, h2, h1, addr, port, bytes, 25).catch((e: unknown) => {
      throw new Error(`${(e as Error).message.split('\n').pop()}\n${vr!.cnr('vif', '--list', '--json')}\n${vr!.cnr('dropstats')}`);
    });
    assert.deepEqual([res.upBytes, res.upOk, res.downBytes, res.downOk], [bytes, true, bytes, true], JSON.stringify(res));
  }
}

test('jumbo links: native XDP attaches under a 9000-byte MTU, TCP crosses at default offloads, 9000-byte pings cross whole', { skip, timeout: 80000 }, async () => {
  const l = (lab = new NetnsLab('xdpj'));
  const { router: r, hosts: [h1, h2] } = l.topology({ router: 'r', hosts: [numberedHost(1, { mtu: 9000 }), numberedHost(2, { mtu: 9000 })] });
  const vifs = (maxMtu?: number) => ({
    workers: 1,
    ...(maxMtu ? { maxMtu } : {}),
    vifs: [
      { name: 'r1', driver: 'af-xdp' as const, mac: '02:ef:00:00:01:01', mtu: 9000, addresses: ['10.1.0.1/24', '2001:db8:1::1/64'] },
      { name: 'r2', driver: 'af-xdp' as const, mac: '02:ef:00:00:02:01', mtu: 9000, addresses: ['10.2.0.1/24', '2001:db8:2::1/64'] },
    ],
  });
  vr = await startVrouter(l, r, vifs());
  assert.equal(xdpMode(l, r, 'r1'), 'xdp', l.run(r, ['ip', 'link', 'show', 'r1']));
  ping(l, h1, '10.2.0.2', { count: 2, deadlineS: 3 });
  ping(l, h1, '2001:db8:2::2', { count: 2, deadlineS: 3 });
  await bulkBothWays(l, h1!, h2!, [5801, 5802]);
  const io = vif('r1').io;
  assert.ok(io.gsoSegments! > 0, `jumbo TCP frames were cut into segments: ${JSON.stringify(io)}`);
  assert.equal(io.rxTooBig, 0, JSON.stringify(io));

  await vr.stop();
  vr = await startVrouter(l, r, vifs(9000));
  // a new vRouter knows no neighbours yet: the first packets resolve them
  ping(l, h1!, '10.2.0.2', { count: 2, deadlineS: 3 });
  ping(l, h1!, '2001:db8:2::2', { count: 2, deadlineS: 3 });
  for (const [fam, addr, size] of [['-4', '10.2.0.2', 8972], ['-6', '2001:db8:2::2', 8952]] as const) {
    const out = l.run(h1!, ['ping', fam, '-n', '-c', '3', '-i', '0.2', '-W', '2', '-M', 'do', '-s', String(size), addr], { allowFail: true });
    assert.match(out, / 3 received/, out);
    assert.match(out, new RegExp(`${size + 8} bytes from`), out);
    assert.doesNotMatch(out, /wrong data|truncated/i, out);
  }
  assert.equal(vif('r1').io.rxTooBig, 0);
  await vr.stop();
  vr = undefined;
  await l.cleanup();
  lab = undefined;
});

test('SKB mode at default offloads: GSO super-frames arrive as chunk chains and are cut into segments; TCP crosses both ways', { skip, timeout: 80000 }, async () => {
  const l = (lab = new NetnsLab('xdps'));
  const { router: r, hosts: [h1, h2] } = l.topology({ router: 'r', hosts: [numberedHost(1), numberedHost(2)] });
  const env = { ...process.env, CNR_AF_XDP_MODE: 'skb' };
  const saved = process.env.CNR_AF_XDP_MODE;
  process.env.CNR_AF_XDP_MODE = env.CNR_AF_XDP_MODE;
  try {
    vr = await startVrouter(l, r, {
      workers: 1,
      vifs: [
        { name: 'r1', driver: 'af-xdp', mac: '02:ef:00:01:01:01', addresses: ['10.1.0.1/24', '2001:db8:1::1/64'] },
        { name: 'r2', driver: 'af-xdp', mac: '02:ef:00:01:02:01', addresses: ['10.2.0.1/24', '2001:db8:2::1/64'] },
      ],
    });
  } finally {
    if (saved === undefined) delete process.env.CNR_AF_XDP_MODE;
    else process.env.CNR_AF_XDP_MODE = saved;
  }
  assert.equal(xdpMode(l, r, 'r1'), 'xdpgeneric');
  ping(l, h1!, '10.2.0.2', { count: 2, deadlineS: 3 });
  ping(l, h1!, '2001:db8:2::2', { count: 2, deadlineS: 3 });
  await bulkBothWays(l, h1!, h2!, [5811, 5812]);
  const io = vif('r1').io;
  assert.ok(io.gsoFrames! > 0 && io.gsoSegments! > io.gsoFrames!, `super-frames cut: ${JSON.stringify(io)}`);
  assert.equal(io.kernelDrops, 0, `no frame lost in the kernel: ${JSON.stringify(io)}`);
});
