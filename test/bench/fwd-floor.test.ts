/**
 * bench/lib/fwd-floor.ts, the forwarding benchmark's floor: on real veths, every frame a
 * generator sends into one port leaves the other (counted by the far namespace's kernel and by
 * the floor itself), with each of cnr's two drivers and with the TPACKET_V3 block receive ring
 * (bench/lib/tpacket-v3-rx.ts). Root only (network namespaces).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { NetnsLab, needsRoot, stopChild, waitForLine } from '../lib/netns.js';

const floor = fileURLToPath(new URL('../../bench/lib/fwd-floor.js', import.meta.url));
const pktgen = fileURLToPath(new URL('../../bench/lib/pktgen.js', import.meta.url));

for (const driver of ['af-packet', 'af-xdp', 'af-packet-v3'] as const) {
  test(`fwd-floor (${driver}): frames into r1 leave r2, all of them, and the floor counts them`, { skip: needsRoot(), timeout: 60_000 }, async () => {
    const lab = new NetnsLab('floor');
    try {
      const a = lab.netns('a');
      const r = lab.netns('r');
      const b = lab.netns('b');
      lab.veth(a, 'eth0', r, 'r1');
      lab.veth(r, 'r2', b, 'eth0');
      const fl = lab.spawn(r, [process.execPath, floor, JSON.stringify({ driver, in: 'r1', out: 'r2' })]);
      let out = '';
      fl.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await waitForLine(fl, /^ready/, 20_000);
      const rx = (): number => Number(lab.run(b, ['cat', '/sys/class/net/eth0/statistics/rx_packets']).trim());
      const before = rx();
      // 500 frames at 1,000 pps toward a MAC nobody has: only the floor moves them
      const g = lab.spawn(a, [process.execPath, pktgen, 'eth0', '02:00:00:00:00:99', '10.1.0.2', '10.9.9.9', '0.5', '60', '1000']);
      const sent = Number((await waitForLine(g, /^sent \d+/, 20_000)).split(' ')[1]);
      assert.ok(sent >= 400, `the generator sent ${sent}`);
      // the floor holds back a small burst for one loop turn at most: the count settles at once
      let got = 0;
      for (let i = 0; i < 50 && got < sent; i++) {
        await new Promise((res) => setTimeout(res, 100));
        got = rx() - before;
      }
      // at least what was sent (the kernel of `a` may add its own IPv6 frames, which pass too)
      assert.ok(got >= sent, `${got} of ${sent} frames reached b`);
      await stopChild(fl, 5000);
      const c = JSON.parse(/floor (.*)/.exec(out)?.[1] ?? '{}') as { rx: number; tx: number; txRefused: number };
      assert.ok(c.rx >= sent, `the floor took ${c.rx} of ${sent}`);
      assert.equal(c.txRefused, 0);
      assert.equal(c.tx, c.rx);
    } finally {
      await lab.cleanup();
    }
  });
}
