/** ACLs through introspect (/acl) on a real data plane with memory vifs (the command's table: src/cmd/inspect.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane } from './dataplane.js';
import { startIntrospect } from './introspect.js';
import * as F from '../../test/support/frames.js';

const R1 = '02:aa:00:00:00:01';
const H1 = '02:00:00:00:01:01';

test('ACL rules with hits and IP bytes per rule in listAcls and /acl; replaced rules count from zero', async () => {
  const dp = createDataplane({ workers: 0 });
  await dp.addVif({ name: 'p1', driver: 'memory', mac: R1, addresses: ['10.0.1.1/24', '2001:db8:1::1/64'] });
  await dp.addVif({ name: 'p2', driver: 'memory', mac: '02:aa:00:00:00:02', addresses: ['10.0.2.1/24'] });
  dp.addRoute('default', '198.51.100.0/24', dp.addNexthop({ type: 'encap', vif: 'p2', dmac: '02:00:00:00:02:02' }));
  const srv = await startIntrospect(dp, { port: 0 });
  const endpoint = `127.0.0.1:${srv.port}`;
  try {
    assert.deepEqual(await (await fetch(`http://${endpoint}/acl`)).json(), []);
    dp.setAcl('p1', [
      { action: 'deny', src: '10.0.1.66/32' },
      { action: 'permit', protocol: 'udp', dst: '198.51.100.7/25', dstPort: [2000, 2010] },
      { action: 'permit', protocol: 6, srcPort: 1024 },
      { action: 'permit', family: 'inet6' },
    ]);
    const send = (src: string, dport: number) => {
      assert.ok(dp.memoryDriver('p1').inject(F.eth(R1, H1, 0x0800, F.ipv4({ src, dst: '198.51.100.7', payload: F.udp(1000, dport) }))));
    };
    send('10.0.1.66', 2000); // rule 1
    send('10.0.1.10', 2000); // rule 2
    send('10.0.1.10', 2005); // rule 2
    send('10.0.1.10', 53); // no rule: denied
    dp.runUntilIdle();
    const acls = dp.listAcls();
    assert.deepEqual(acls, [{
      vif: 'p1',
      rules: [
        // each datagram: 46 bytes of IP (20 + 8 + 18)
        { action: 'deny', family: 'inet', src: '10.0.1.66/32', hits: 1, bytes: 46 },
        { action: 'permit', family: 'inet', protocol: 'udp', dst: '198.51.100.0/25', dstPort: [2000, 2010], hits: 2, bytes: 92 },
        { action: 'permit', protocol: 'tcp', srcPort: 1024, hits: 0, bytes: 0 },
        { action: 'permit', family: 'inet6', hits: 0, bytes: 0 },
      ],
      unmatched: 1,
      unmatchedBytes: 46,
    }]);
    assert.deepEqual(dp.dropStats().acl_deny, 2);
    const r = await fetch(`http://${endpoint}/acl`);
    assert.deepEqual(await r.json(), acls);
    // new rules start from zero; an empty list removes the filter from the listing
    dp.setAcl('p1', [{ action: 'permit' }]);
    assert.deepEqual(dp.listAcls(), [{ vif: 'p1', rules: [{ action: 'permit', hits: 0, bytes: 0 }], unmatched: 0, unmatchedBytes: 0 }]);
    send('10.0.1.66', 2000);
    dp.runUntilIdle();
    assert.equal(dp.listAcls()[0]!.rules[0]!.hits, 1);
    dp.setAcl('p1', []);
    assert.deepEqual(dp.listAcls(), []);
  } finally {
    await srv.close();
    await dp.stop();
  }
});
