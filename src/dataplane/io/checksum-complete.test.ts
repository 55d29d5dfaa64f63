import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completeChecksum } from './checksum-complete.js';
import { encodeEthernet, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN } from '../../wire/ethernet.js';
import { encodeIpv4, IPPROTO_TCP, IPPROTO_UDP } from '../../wire/ipv4.js';
import { encodeIpv6 } from '../../wire/ipv6.js';
import { encodeUdp, fillUdpChecksum } from '../../wire/udp.js';
import { encodeTcp, tcpChecksum } from '../../wire/tcp.js';
import { pseudoHeaderSum4, pseudoHeaderSum6, finishChecksum } from '../../wire/checksum.js';
import { rng, randomBytes } from '../../wire/testing.js';

const MAC = new Uint8Array([2, 0, 0, 0, 0, 1]);

/** A frame whose L4 checksum field holds only the folded pseudo-header sum, as a sender with offload leaves it. */
function partial(family: 4 | 6, proto: number, payloadLen: number, vlan: boolean, next: () => number): { frame: Uint8Array; want: number; field: number } {
  const src4 = next();
  const dst4 = next();
  const src6 = randomBytes(next, 16);
  const dst6 = randomBytes(next, 16);
  const l4 = new Uint8Array(proto === IPPROTO_UDP ? 8 + payloadLen : 20 + payloadLen);
  if (proto === IPPROTO_UDP) encodeUdp({ srcPort: next() & 0xffff, dstPort: 53, checksum: 0, payload: randomBytes(next, payloadLen) }, l4);
  else encodeTcp({ srcPort: 1, dstPort: 179, seq: next(), ack: next(), flags: 0x18, window: 1000, checksum: 0, urgent: 0, options: new Uint8Array(0), payload: randomBytes(next, payloadLen) }, l4);
  let want: number;
  if (proto === IPPROTO_UDP) {
    fillUdpChecksum(l4, 0, l4.length, family === 4 ? src4 : src6, family === 4 ? dst4 : dst6);
    want = (l4[6]! << 8) | l4[7]!;
  } else want = tcpChecksum(l4, 0, l4.length, family === 4 ? src4 : src6, family === 4 ? dst4 : dst6);
  const field = proto === IPPROTO_UDP ? 6 : 16;
  const ph = family === 4 ? pseudoHeaderSum4(src4, dst4, proto, l4.length) : pseudoHeaderSum6(src6, dst6, proto, l4.length);
  const folded = ~finishChecksum(ph) & 0xffff; // CHECKSUM_PARTIAL leaves the uncomplemented pseudo-header sum
  l4[field] = folded >>> 8;
  l4[field + 1] = folded & 0xff;
  const ip = new Uint8Array((family === 4 ? 20 : 40) + l4.length);
  if (family === 4) encodeIpv4({ tos: 0, id: 1, df: true, mf: false, fragOffset: 0, ttl: 64, protocol: proto, src: src4, dst: dst4, options: new Uint8Array(0), payload: l4 }, ip);
  else encodeIpv6({ trafficClass: 0, flowLabel: 0, nextHeader: proto, hopLimit: 64, src: src6, dst: dst6, payload: l4 }, ip);
  const frame = new Uint8Array((vlan ? 18 : 14) + ip.length);
  encodeEthernet({ dst: MAC, src: MAC, vlans: vlan ? [{ tpid: ETHERTYPE_VLAN, pcp: 0, dei: false, vid: 5 }] : [], etherType: family === 4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6, payload: ip }, frame);
  return { frame, want, field: (vlan ? 18 : 14) + (family === 4 ? 20 : 40) + field };
}

test('partial TCP/UDP checksums over IPv4 and IPv6, tagged or not, are completed to the right value', () => {
  const next = rng(3);
  for (let i = 0; i < 2000; i++) {
    const family = i % 2 === 0 ? 4 : 6;
    const proto = i % 4 < 2 ? IPPROTO_UDP : IPPROTO_TCP;
    const { frame, want, field } = partial(family, proto, next() % 200, i % 8 >= 4, next);
    const buf = new Uint8Array(frame.length + 10);
    buf.set(frame, 10);
    assert.equal(completeChecksum(buf, 10, frame.length), true);
    assert.equal((buf[10 + field]! << 8) | buf[10 + field + 1]!, want, `case ${i}`);
  }
});

test('other frames are left alone', () => {
  const arp = new Uint8Array(42);
  arp[12] = 0x08;
  arp[13] = 0x06;
  assert.equal(completeChecksum(arp, 0, 42), false);
  const icmp = new Uint8Array(14 + 28);
  icmp[12] = 0x08;
  encodeIpv4({ tos: 0, id: 1, df: false, mf: false, fragOffset: 0, ttl: 1, protocol: 1, src: 1, dst: 2, options: new Uint8Array(0), payload: new Uint8Array(8) }, icmp, 14);
  assert.equal(completeChecksum(icmp, 0, icmp.length), false);
  assert.equal(completeChecksum(icmp, 0, 20), false, 'short frame');
});
