import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalPrefix, formatIpv6, parseCidr, parseIpv4, parseIpv6, parseLabel, parseMac, formatMac, formatIpv4, tryParseIpv4, tryParseIpv6 } from './addr.js';

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
