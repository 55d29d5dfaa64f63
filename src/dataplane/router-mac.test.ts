import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routerMacFor } from './router-mac.js';

const hex = (m: Uint8Array) => Array.from(m, (b) => b.toString(16).padStart(2, '0')).join(':');
const mac = (s: string) => Uint8Array.from(s.split(':'), (h) => parseInt(h, 16));

test('the router MAC differs from the netdev MAC and is always locally administered unicast', () => {
  const cases: [string, string][] = [
    ['00:1b:21:aa:bb:cc', '02:1b:21:aa:bb:cc'], // universal (an Intel OUI): local bit set
    ['02:42:ac:11:00:02', '06:42:ac:11:00:02'], // local already (a veth's): stays local
    ['06:00:00:00:00:01', '02:00:00:00:00:01'],
    ['fe:54:00:12:34:56', 'fa:54:00:12:34:56'],
  ];
  for (const [hw, want] of cases) assert.equal(hex(routerMacFor(mac(hw))), want, hw);
  for (let first = 0; first < 256; first += 2) {
    const hw = Uint8Array.from([first, 1, 2, 3, 4, 5]);
    const r = routerMacFor(hw);
    assert.notEqual(hex(r), hex(hw), `differs for first octet ${first}`);
    assert.equal(r[0]! & 0x03, 0x02, `local unicast for first octet ${first}: ${hex(r)}`);
    assert.deepEqual(r.subarray(1), hw.subarray(1));
  }
});
