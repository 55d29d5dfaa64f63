// pack-ipv4.ts: UPDATEs from prefix values are byte for byte what the text packer writes, and decode back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefixKeyOfText, prefixKeyText } from '../../lib/addr.js';
import { Afi, DEFAULT_OPTIONS, allIpv4Codes, decodeUpdate, encodeAttributeBlock, packIpv4Updates, packIpv4Withdrawals, packUpdates, packWithdrawals } from './index.js';

const EXT = { ...DEFAULT_OPTIONS, extendedMessage: true };
const block = encodeAttributeBlock({ origin: 0, asPath: [{ type: 2, asns: [65002, 65001] }], nextHop: '100.65.0.1' }, Afi.Ipv4, DEFAULT_OPTIONS);

/** Every length from /0 to /32 and a run of /28s long enough to need several messages. */
function prefixes(): string[] {
  const out = ['0.0.0.0/0', '128.0.0.0/1', '10.0.0.0/8', '172.16.0.0/12', '192.168.1.0/24', '192.168.1.128/25', '203.0.113.7/32', '255.255.255.255/32'];
  for (let l = 2; l <= 31; l++) out.push(`${(224 >>> 0) & 255}.0.0.0/${l}`.replace(/^\d+/, String(l + 10)));
  for (let i = 0; i < 3000; i++) out.push(`10.${(i >> 12) & 255}.${(i >> 4) & 255}.${(i & 15) << 4}/28`);
  return out;
}

const codes = (ps: string[]) => ps.map((p) => prefixKeyOfText(p) as number);

test('announcements: the same bytes as packUpdates, 4096 and 65535 octets', () => {
  const ps = prefixes();
  const cs = codes(ps);
  assert.ok(allIpv4Codes(cs));
  for (const o of [DEFAULT_OPTIONS, EXT]) {
    const fast = packIpv4Updates(block, cs, o);
    const text = packUpdates(block, Afi.Ipv4, ps.map((_, i) => prefixKeyText(cs[i]!)), undefined, o);
    assert.deepEqual(fast.map((m) => Buffer.from(m).toString('hex')), text.map((m) => Buffer.from(m).toString('hex')));
    assert.ok(fast.every((m) => m.length <= (o.extendedMessage ? 65535 : 4096)));
    if (!o.extendedMessage) assert.ok(fast.length > 3, 'several full messages');
    const back = fast.flatMap((m) => {
      const u = decodeUpdate(m.subarray(19), o);
      assert.equal(u.kind, 'update');
      return u.kind === 'update' ? u.update.nlri : [];
    });
    assert.deepEqual(back, cs.map((c) => prefixKeyText(c)));
  }
});

test('withdrawals: the same bytes as packWithdrawals', () => {
  const ps = prefixes();
  const cs = codes(ps);
  for (const o of [DEFAULT_OPTIONS, EXT]) {
    const fast = packIpv4Withdrawals(cs, o);
    const text = packWithdrawals(Afi.Ipv4, cs.map((c) => prefixKeyText(c)), undefined, o);
    assert.deepEqual(fast.map((m) => Buffer.from(m).toString('hex')), text.map((m) => Buffer.from(m).toString('hex')));
  }
});

test('nothing to pack: no message; text keys are not values; an oversized block is refused', () => {
  assert.deepEqual(packIpv4Updates(block, [], DEFAULT_OPTIONS), []);
  assert.deepEqual(packIpv4Withdrawals([], DEFAULT_OPTIONS), []);
  assert.equal(allIpv4Codes([1, 'x']), false);
  assert.throws(() => packIpv4Updates(new Uint8Array(4090), codes(['10.0.0.0/8']), DEFAULT_OPTIONS), /too large/);
});
