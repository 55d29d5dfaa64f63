/**
 * The domain MAC limit (`mac-table-size` and its `packet-action`, docs/l2.md) with real frames
 * between namespaces: h1 on trunk r1 (VLANs 10 and 20) sends, through scapy, broadcasts from
 * six made-up sources into each VLAN; bd10 (mac-table-size 3, packet-action drop, the default)
 * learns three, drops and counts the other three sources' frames; bd20 (mac-table-size 3,
 * packet-action none) learns three and forwards all six. What reached h2 (access, VLAN 10) and
 * h3 (access, VLAN 20) is read back with tshark. The access hosts' IPv6 is off before the
 * vRouter starts, so their kernels' reports do not take a place in the tables; h1's untagged
 * frames are dropped on the trunk (no native VLAN) before learning.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NetnsLab, needsRoot } from '../lib/netns.js';
import { Capture } from '../lib/capture.js';
import { startVrouter, type RunningVrouter } from '../lib/vrouter.js';
import { introspect } from '../lib/traffic.js';
import type { MacEntryInfo } from '../../src/dataplane/api.js';

const skip = needsRoot();
const lab = new NetnsLab('l2ts');
let vr: RunningVrouter | undefined;
let h: string[] = [];
let router = '';

before(async () => {
  if (skip) return;
  const t = lab.topology({ router: 'r', hosts: [1, 2, 3].map((n) => ({ name: `h${n}`, routerIf: `r${n}` })) });
  router = t.router;
  h = ['', ...t.hosts];
  for (const ns of t.hosts) lab.run(ns, ['sysctl', '-qw', 'net.ipv6.conf.eth0.disable_ipv6=1']);
  vr = await startVrouter(lab, router, {
    workers: 1,
    vifs: [1, 2, 3].map((n) => ({ name: `r${n}`, driver: 'af-packet' as const })),
    bridgePorts: {
      r1: { mode: 'trunk', vlans: [10, 20] },
      r2: { mode: 'access', vlan: 10 },
      r3: { mode: 'access', vlan: 20 },
    },
    bridgeDomains: [
      { name: 'bd10', vlan: 10, macTableSize: 3, macTableSizeAction: 'drop' },
      { name: 'bd20', vlan: 20, macTableSize: 3, macTableSizeAction: 'none' },
    ],
  });
});

after(async () => {
  if (vr) await vr.stop();
  await lab.cleanup();
});

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const at = () => `127.0.0.1:${vr!.port}`;

test('mac-table-size: packet-action drop drops and counts frames from sources beyond it, none forwards them unlearned', { skip, timeout: 60_000 }, async () => {
  const drops0 = introspect<Record<string, number>>(router, at(), '/dropstats').mac_limit ?? 0;
  const caps = await Promise.all([2, 3].map((n) => Capture.start(lab, h[n]!, 'eth0')));
  try {
    // one source after another (a short gap: each is learned before the next arrives)
    const frames = [10, 20].flatMap((vlan) => [1, 2, 3, 4, 5, 6].map((k) => `Ether(src='02:4b:00:00:${vlan}:0${k}', dst='ff:ff:ff:ff:ff:ff')/Dot1Q(vlan=${vlan}, type=0x88b5)/Raw(load=b'ts${vlan}-${k}'*8)`));
    lab.run(h[1]!, ['/usr/bin/python3', '-c', `from scapy.all import *\nsendp([${frames.join(', ')}], iface='eth0', inter=0.02, verbose=False)`], { timeout: 30000 });
    await sleep(700);
  } finally {
    await Promise.all(caps.map((c) => c.stop()));
  }
  const [at2, at3] = caps.map((c) => c.fields('eth.type == 0x88b5', ['eth.src']).map(([src]) => src));
  for (const c of caps) c.remove();
  const macs = (bd: string) => introspect<MacEntryInfo[]>(router, at(), `/mac?bd=${bd}`).filter((m) => !m.static).map((m) => m.mac).sort();
  const src = (vlan: number, ks: number[]) => ks.map((k) => `02:4b:00:00:${vlan}:0${k}`);
  assert.deepEqual(macs('bd10'), src(10, [1, 2, 3]), 'bd10 learns up to its size');
  assert.deepEqual(macs('bd20'), src(20, [1, 2, 3]), 'bd20 too');
  assert.deepEqual(at2, src(10, [1, 2, 3]), 'drop: only the learned sources reach h2');
  assert.deepEqual(at3, src(20, [1, 2, 3, 4, 5, 6]), 'none: all six reach h3, three of them unlearned');
  assert.equal((introspect<Record<string, number>>(router, at(), '/dropstats').mac_limit ?? 0) - drops0, 3, 'drop: three frames counted as mac_limit');
});
