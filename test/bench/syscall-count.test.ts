/** bench/lib/syscall-count.ts: reading perf stat's CSV, and the per-packet line the forwarding bench prints. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePerfStatCsv, perPacket } from '../../bench/lib/syscall-count.js';

test('parsePerfStatCsv: counts by syscall name; uncounted events and other lines left out', () => {
  const text = [
    '1234,,syscalls:sys_enter_sendto,3000412345,100.00,,',
    '0,,syscalls:sys_enter_sendmmsg,3000412345,100.00,,',
    '<not counted>,,syscalls:sys_enter_recvmmsg,0,0.00,,',
    '17,,syscalls:sys_enter_poll,3000412345,100.00,,',
    '# started on Mon Dec  7 10:00:00 2026',
    '',
  ].join('\n');
  assert.deepEqual(parsePerfStatCsv(text), { sendto: 1234, sendmmsg: 0, poll: 17 });
  assert.deepEqual(parsePerfStatCsv('perf: command not found'), {});
});

test('perPacket: calls per packet for the calls made, three decimals', () => {
  assert.equal(perPacket({ sendto: 1000, sendmmsg: 0, poll: 50 }, 10_000), 'sendto 0.100, poll 0.005');
  assert.equal(perPacket({}, 10_000), 'none counted');
});
