import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalPrefix, formatIpv4PrefixCode, formatIpv6, formatPrefix, ipv4OfPrefixCode, ipv4PrefixCode, ipv6PrefixKey, ipv6PrefixKeyLength, isIpv6PrefixKey, makePrefix, parseCidr, parseIpv4, parseIpv6, parseLabel, parseMac, parsePrefix, formatMac, formatIpv4, prefixCodeLength, prefixKeyFamily, prefixKeyOf, prefixKeyOfText, prefixKeyText, prefixOfIpv4Code, prefixOfKey, prefixOfText, scanIpv4Prefix, scanIpv4PrefixCode, tryParseIpv4, tryParseIpv6 } from './addr.js';

test('IPv4 parse and format round-trip, bad input refused', () => {
  assert.equal(formatIpv4(parseIpv4('10.1.2.3')), '10.1.2.3');
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  for (const bad of ['10.1.2', '10.1.2.256', '01.1.1.1', 'a.b.c.d', '1.2.3.4.5', '']) assert.equal(tryParseIpv4(bad), undefined, bad);
});

test('IPv6 text forms follow RFC 5952', () => {
  const cases: [string, string][] = [
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ];
  for (const [input, want] of cases) assert.equal(formatIpv6(parseIpv6(input)), want, input);
  for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', 'g::1', '1:2:3:4:5:6:7']) assert.equal(tryParseIpv6(bad), undefined, bad);
});

test('prefixes are masked, interface addresses are not', () => {
  assert.equal(canonicalPrefix('10.1.2.3/8'), '10.0.0.0/8');
  assert.equal(canonicalPrefix('2001:db8::1/32'), '2001:db8::/32');
  assert.equal(formatIpv4(parseIpv4('10.0.0.1')), '10.0.0.1');
  assert.deepEqual([...parseCidr('10.0.0.1/24').addr], [10, 0, 0, 1]);
  assert.throws(() => canonicalPrefix('10.0.0.0/33'), /prefix length/);
  assert.throws(() => canonicalPrefix('10.0.0.0'), /missing/);
});

test('MACs and labels', () => {
  assert.equal(formatMac(parseMac('02:AA:bb:00:01:ff')), '02:aa:bb:00:01:ff');
  assert.throws(() => parseMac('02:aa:bb:00:01'), /invalid MAC/);
  assert.equal(parseLabel('1048575'), 1048575);
  assert.throws(() => parseLabel(1048576), /invalid MPLS label/);
});

test('an IPv4 prefix as one number: distinct per (network, length), host bits dropped, back to the same prefix', () => {
  const seen = new Set<number>();
  for (const text of ['0.0.0.0/0', '128.0.0.0/1', '0.0.0.0/1', '10.0.0.0/8', '10.0.0.0/9', '192.0.2.0/24', '255.255.255.254/31', '255.255.255.255/32', '0.0.0.0/32', '203.0.113.128/25']) {
    const p = parsePrefix(text);
    const code = ipv4PrefixCode(parseIpv4(text.split('/')[0]!), p.len);
    assert.ok(!seen.has(code), text);
    seen.add(code);
    assert.equal(prefixCodeLength(code), p.len, text);
    assert.equal(formatIpv4(ipv4OfPrefixCode(code)), text.split('/')[0], text);
    assert.equal(formatPrefix(prefixOfIpv4Code(code)), text);
    assert.equal(scanIpv4PrefixCode(text), code, text);
  }
  assert.equal(scanIpv4PrefixCode('10.1.2.3/8'), scanIpv4PrefixCode('10.0.0.0/8'), 'host bits dropped');
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '010.0.0.0/8', '10.0.0/8', '2001:db8::/32', '10.0.0.0/08', '']) assert.equal(scanIpv4PrefixCode(bad), -1, bad);
  assert.deepEqual(scanIpv4Prefix('10.1.2.3/8'), [0x0a010203, 8], 'the tuple form keeps host bits as written');
  assert.equal(scanIpv4Prefix('10.0.0.0/33'), undefined);
});

test('a prefix from its binary parts: checked, host bits cleared; from text through the same value', () => {
  const clean = Uint8Array.of(192, 0, 2, 0);
  assert.equal(makePrefix(clean, 24).addr, clean, 'kept as is when already clean');
  assert.equal(formatPrefix(makePrefix(Uint8Array.of(192, 0, 2, 77), 24)), '192.0.2.0/24');
  assert.equal(formatPrefix(makePrefix(parseIpv6('2001:db8::ff'), 120)), '2001:db8::/120');
  assert.equal(formatPrefix(makePrefix(parseIpv6('2001:db8:ffff::'), 33)), '2001:db8:8000::/33');
  assert.equal(makePrefix(parseIpv6('::1'), 128).family, 6);
  assert.throws(() => makePrefix(Uint8Array.of(10, 0, 0), 8), /3-byte address/);
  assert.throws(() => makePrefix(clean, 33), /prefix length 33/);
  assert.throws(() => makePrefix(clean, -1), /prefix length/);
  for (const t of ['10.1.0.0/16', '10.1.2.3/16', '2001:db8::1/32', '::/0']) assert.deepEqual(prefixOfText(t), parsePrefix(t), t);
  assert.throws(() => prefixOfText('nope'), /invalid/);
});

test('prefix keys: IPv4 as its code, IPv6 as 18 characters from the bytes; text round-trips, host bits dropped', () => {
  for (const text of ['0.0.0.0/0', '10.0.0.0/8', '192.0.2.128/25', '255.255.255.255/32', '2001:db8::/32', '::/0', '2001:db8:0:1::1/128', 'fe80::/10']) {
    const k = prefixKeyOfText(text);
    assert.equal(typeof k, text.includes(':') ? 'string' : 'number', text);
    assert.equal(prefixKeyText(k), text);
    assert.deepEqual(prefixOfKey(k), parsePrefix(text));
    assert.equal(prefixKeyFamily(k), text.includes(':') ? 6 : 4);
    assert.equal(isIpv6PrefixKey(k), text.includes(':'));
    assert.equal(prefixKeyOf(parsePrefix(text)), k);
  }
  assert.equal(prefixKeyOfText('10.1.2.3/8'), prefixKeyOfText('10.0.0.0/8'), 'host bits dropped (IPv4)');
  assert.equal(prefixKeyOfText('2001:db8::1/32'), prefixKeyOfText('2001:db8::/32'), 'host bits dropped (IPv6)');
  assert.notEqual(prefixKeyOfText('2001:db8::/32'), prefixKeyOfText('2001:db8::/33'));
  const k = ipv6PrefixKey(parseIpv6('2001:db8:ffff::'), 36);
  assert.equal(k.length, 18);
  assert.equal(ipv6PrefixKeyLength(k), 36);
  assert.equal(prefixKeyText(k), '2001:db8:f000::/36');
  assert.equal(prefixKeyText('65000:1:10.0.0.0/8'), '65000:1:10.0.0.0/8', 'a text key is its own text');
  assert.equal(prefixKeyFamily('65000:1:10.0.0.0/8'), 6, 'text keys go by their form (a VPN key has colons; never asked of one)');
  assert.equal(formatIpv4PrefixCode(ipv4PrefixCode(parseIpv4('198.51.100.0'), 24)), '198.51.100.0/24');
  assert.throws(() => prefixKeyOfText('10.0.0.0/33'));
});
