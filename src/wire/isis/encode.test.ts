// PDUs built from values — with what FRR did not send in testdata/ (index Adj-SIDs, label
// Prefix-SIDs, two SRGB ranges, the up/down and external bits, ATT/OL/P, a purge, full RFC 5303
// state) — decode back to those values, and an independent decoder agrees on the bytes: they
// are written to a pcap and read by Wireshark's IS-IS dissector (tshark, a Debian package),
// which must find the checksum good, nothing malformed, and the fields as built. The tshark
// part skips with a reason when tshark is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_ISS, ALL_L1_ISS, IsisError, checkAuthentication, decodePdu, encodeIsisFrameHeader, encodePduBytes, parseAreaAddress, parseSystemId, type Pdu } from './index.js';
import { parseIpv4, parseIpv6, parsePrefix, type Label, type Mac } from '../../lib/addr.js';

const A = parseSystemId('0102.5500.0001');
const B = parseSystemId('0102.5500.0002');

const lsp: Pdu = {
  kind: 'lsp',
  level: 1,
  maxAreaAddresses: 0,
  remainingLifetime: 1200,
  lspId: { systemId: A, pseudonode: 0, fragment: 0 },
  sequence: 0x1234,
  checksum: 0,
  partitionRepair: true,
  attached: 1,
  overload: true,
  isType: 3,
  tlvs: [
    { type: 'authentication', auth: { kind: 'hmac-md5', digest: new Uint8Array(16) } },
    { type: 'area-addresses', areas: [parseAreaAddress('49.0001'), parseAreaAddress('49.0002')] },
    { type: 'protocols-supported', nlpids: [0xcc, 0x8e] },
    { type: 'hostname', hostname: 'cnr-pe1' },
    {
      type: 'router-capability',
      routerId: parseIpv4('10.255.0.1'),
      flags: { s: true, d: false },
      subTlvs: [
        {
          type: 'sr-capabilities',
          flags: { i: true, v: false },
          ranges: [
            { range: 4096, first: { label: 400000 as Label } },
            { range: 100, first: { label: 500000 as Label } },
          ],
        },
        { type: 'sr-algorithms', algorithms: [0, 1] },
        { type: 'srlb', flags: 0, ranges: [{ range: 1000, first: { label: 15000 as Label } }] },
      ],
    },
    {
      type: 'extended-is-reachability',
      neighbors: [
        {
          neighbor: { systemId: B, pseudonode: 0 },
          metric: 10,
          subTlvs: [
            { type: 'adj-sid', flags: { f: false, b: true, v: false, l: false, s: false, p: true }, weight: 7, sid: { index: 77 } },
            { type: 'adj-sid', flags: { f: false, b: false, v: true, l: true, s: false, p: false }, weight: 0, sid: { label: 24001 as Label } },
          ],
        },
      ],
    },
    { type: 'ipv4-interface-addresses', addresses: [parseIpv4('10.255.0.1')] },
    {
      type: 'extended-ipv4-reachability',
      prefixes: [
        {
          prefix: parsePrefix('10.255.0.1/32'),
          metric: 0,
          down: false,
          subTlvs: [{ type: 'prefix-sid', flags: { r: false, n: true, p: false, e: false, v: false, l: false }, algorithm: 0, sid: { index: 1 } }],
        },
        {
          prefix: parsePrefix('192.0.2.0/24'),
          metric: 16777215,
          down: true,
          subTlvs: [{ type: 'prefix-sid', flags: { r: true, n: false, p: true, e: true, v: true, l: true }, algorithm: 0, sid: { label: 99999 as Label } }],
        },
      ],
    },
    {
      type: 'ipv6-reachability',
      prefixes: [
        { prefix: parsePrefix('2001:db8:ff::1/128'), metric: 0, down: false, external: false, subTlvs: [{ type: 'prefix-sid', flags: { r: false, n: true, p: false, e: false, v: false, l: false }, algorithm: 0, sid: { index: 1001 } }] },
        { prefix: parsePrefix('2001:db8:1::/48'), metric: 20, down: true, external: true, subTlvs: [] },
      ],
    },
    { type: 'unknown', code: 250, value: new Uint8Array([1, 2, 3]) },
  ],
};

const hello: Pdu = {
  kind: 'p2p-hello',
  maxAreaAddresses: 0,
  circuitType: 2,
  sourceId: A,
  holdingTime: 9,
  localCircuitId: 1,
  tlvs: [
    { type: 'protocols-supported', nlpids: [0xcc] },
    { type: 'area-addresses', areas: [parseAreaAddress('49.0001')] },
    { type: 'p2p-adjacency', adjacency: { state: 0, extLocalCircuitId: 5, neighborSystemId: B, neighborExtCircuitId: 6 } },
    { type: 'ipv4-interface-addresses', addresses: [parseIpv4('10.0.12.1')] },
    { type: 'ipv6-interface-addresses', addresses: [parseIpv6('fe80::1')] },
    { type: 'padding', length: 40 },
  ],
};

const lanHello: Pdu = {
  kind: 'lan-hello',
  level: 1,
  maxAreaAddresses: 0,
  circuitType: 1,
  sourceId: B,
  holdingTime: 30,
  priority: 100,
  lanId: { systemId: B, pseudonode: 3 },
  tlvs: [
    { type: 'authentication', auth: { kind: 'cleartext', password: new TextEncoder().encode('secret') } },
    { type: 'area-addresses', areas: [parseAreaAddress('49.0001')] },
    { type: 'is-neighbors', neighbors: [new Uint8Array([2, 0, 0, 0, 0, 1]) as Mac] },
  ],
};

const entries = [
  { remainingLifetime: 1199, lspId: { systemId: A, pseudonode: 0, fragment: 0 }, sequence: 0x1234, checksum: 0xabcd },
  { remainingLifetime: 0, lspId: { systemId: B, pseudonode: 3, fragment: 1 }, sequence: 9, checksum: 0x0102 },
];
const csnp: Pdu = {
  kind: 'csnp',
  level: 1,
  maxAreaAddresses: 0,
  sourceId: { systemId: B, pseudonode: 3 },
  startLspId: { systemId: parseSystemId('0000.0000.0000'), pseudonode: 0, fragment: 0 },
  endLspId: { systemId: parseSystemId('ffff.ffff.ffff'), pseudonode: 255, fragment: 255 },
  tlvs: [{ type: 'lsp-entries', entries }],
};
const psnp: Pdu = { kind: 'psnp', level: 1, maxAreaAddresses: 0, sourceId: { systemId: A, pseudonode: 0 }, tlvs: [{ type: 'lsp-entries', entries: entries.slice(0, 1) }] };
const purge: Pdu = { ...(lsp as Extract<Pdu, { kind: 'lsp' }>), remainingLifetime: 0, overload: false, partitionRepair: false, attached: 0, tlvs: [] };

test('PDUs built from values decode back to those values', () => {
  for (const p of [lsp, hello, lanHello, csnp, psnp, purge]) {
    const bytes = encodePduBytes(p, { hmacMd5Key: 'k' });
    const back = decodePdu(bytes);
    assert.ok(!(back instanceof IsisError), `${p.kind}: ${String(back)}`);
    if (p.kind === 'lsp') {
      // the checksum and the digest are the encoder's to compute
      assert.ok(back.kind === 'lsp' && back.checksum !== 0);
      assert.deepEqual({ ...back, checksum: 0, tlvs: back.tlvs.slice(1) }, { ...p, tlvs: p.tlvs.slice(1) });
      if (p.tlvs.length > 0) assert.equal(checkAuthentication(bytes, { kind: 'hmac-md5', key: 'k' }), true);
    } else assert.deepEqual(back, p);
  }
});

function pcap(frames: Uint8Array[]): Uint8Array {
  const parts: Buffer[] = [];
  const g = Buffer.alloc(24);
  g.writeUInt32LE(0xa1b2c3d4, 0);
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeUInt32LE(65535, 16);
  g.writeUInt32LE(1, 20); // Ethernet
  parts.push(g);
  for (const f of frames) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(f.length, 8);
    h.writeUInt32LE(f.length, 12);
    parts.push(h, Buffer.from(f));
  }
  return Buffer.concat(parts);
}

function frame(dst: Uint8Array, pdu: Uint8Array): Uint8Array {
  const buf = new Uint8Array(17 + pdu.length);
  buf.set(pdu, encodeIsisFrameHeader(dst, new Uint8Array([2, 0, 0, 0, 0, 9]), pdu.length, buf));
  return buf;
}

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const FIELDS = [
  'frame.number',
  '_ws.malformed',
  '_ws.expert.severity',
  'isis.lsp.checksum.status',
  'isis.lsp.lsp_id',
  'isis.lsp.sequence_number',
  'isis.lsp.remaining_life',
  'isis.lsp.partition_repair',
  'isis.lsp.att',
  'isis.lsp.overload',
  'isis.lsp.hostname',
  'isis.lsp.ext_ip_reachability.ipv4_prefix',
  'isis.lsp.ext_ip_reachability.metric',
  'isis.lsp.ext_ip_reachability.prefix_sid.flags',
  'isis.lsp.ipv6_reachability.ipv6_prefix',
  'isis.lsp.ipv6_reachability.metric',
  'isis.lsp.sid.sli_index',
  'isis.lsp.sid.sli_label',
  'isis.lsp.sl_sub_tlv.label20',
  'isis.lsp.adj_sid.flags',
  'isis.lsp.adj_sid.weight',
  'isis.hello.adjacency_state',
  'isis.hello.extended_local_circuit_id',
  'isis.hello.neighbor_systemid',
  'isis.hello.neighbor_extended_local_circuit_id',
  'isis.hello.is_neighbor',
  'isis.csnp.lsp_id',
  'isis.csnp.lsp_seq_num',
];

test('tshark decodes what cnr encodes', { skip: hasTshark() ? false : 'tshark not installed (Debian package tshark)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-isis-${process.pid}-`));
  try {
    const file = join(dir, 'cnr.pcap');
    const pdus = [lsp, hello, lanHello, csnp, psnp, purge];
    writeFileSync(
      file,
      pcap(pdus.map((p) => frame(p.kind === 'p2p-hello' ? ALL_ISS : ALL_L1_ISS, encodePduBytes(p, { hmacMd5Key: 'k' })))),
    );
    const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,', ...FIELDS.flatMap((f) => ['-e', f])], { encoding: 'utf8', timeout: 30_000 });
    const rows = out
      .trim()
      .split('\n')
      .map((l) => Object.fromEntries(l.split('|').map((v, i) => [FIELDS[i]!, v])) as Record<string, string>);
    assert.equal(rows.length, pdus.length);
    for (const r of rows) {
      assert.equal(r['_ws.malformed'], '', `frame ${r['frame.number']} malformed for tshark`);
      // a Note is fine (tshark notes the TLV 250 it has no dissector for); no warning or error
      for (const sev of (r['_ws.expert.severity'] ?? '').split(',').filter(Boolean)) assert.ok(Number(sev) <= 0x400000, `frame ${r['frame.number']}: expert severity ${sev}`);
    }
    const [l, h, lan, c, p, pg] = rows as [Record<string, string>, Record<string, string>, Record<string, string>, Record<string, string>, Record<string, string>, Record<string, string>];
    assert.equal(l['isis.lsp.checksum.status'], '1'); // Good
    assert.equal(l['isis.lsp.lsp_id'], '0102.5500.0001.00-00');
    assert.equal(l['isis.lsp.sequence_number'], '0x00001234');
    assert.equal(l['isis.lsp.partition_repair'], '1');
    assert.equal(l['isis.lsp.att'], '1');
    assert.equal(l['isis.lsp.overload'], '1');
    assert.equal(l['isis.lsp.hostname'], 'cnr-pe1');
    assert.equal(l['isis.lsp.ext_ip_reachability.ipv4_prefix'], '10.255.0.1,192.0.2.0');
    assert.equal(l['isis.lsp.ext_ip_reachability.metric'], '0,16777215');
    assert.equal(l['isis.lsp.ipv6_reachability.ipv6_prefix'], '2001:db8:ff::1,2001:db8:1::');
    assert.equal(l['isis.lsp.ipv6_reachability.metric'], '0,20');
    // SIDs in wire order: the index Adj-SID 77, then the node SIDs 1 and 1001; labels 24001 (Adj-SID) and 99999 (Prefix-SID)
    assert.equal(l['isis.lsp.sid.sli_index'], '0x0000004d,0x00000001,0x000003e9');
    assert.equal(l['isis.lsp.sid.sli_label'], '24001,99999');
    assert.equal(l['isis.lsp.adj_sid.flags'], '0x44,0x30'); // B+P, V+L
    assert.equal(l['isis.lsp.adj_sid.weight'], '0x07,0x00');
    assert.equal(l['isis.lsp.ext_ip_reachability.prefix_sid.flags'].split(',').slice(0, 2).join(','), '0x40,0xbc'); // N; R+P+E+V+L
    assert.equal(h['isis.hello.adjacency_state'], '0');
    assert.equal(h['isis.hello.extended_local_circuit_id'], '0x00000005');
    assert.equal(h['isis.hello.neighbor_systemid'], '0102.5500.0002');
    assert.equal(h['isis.hello.neighbor_extended_local_circuit_id'], '0x00000006');
    assert.equal(lan['isis.hello.is_neighbor'], '02:00:00:00:00:01');
    assert.equal(c['isis.csnp.lsp_id'], '0102.5500.0001.00-00,0102.5500.0002.03-01');
    assert.equal(c['isis.csnp.lsp_seq_num'], '0x00001234,0x00000009');
    assert.equal(p['isis.csnp.lsp_id'], '0102.5500.0001.00-00'); // tshark files PSNP entries under the CSNP fields
    assert.equal(pg['isis.lsp.remaining_life'], '0');
    // tshark does not check a purge's checksum either (lifetime 0): it must only never say "bad"
    assert.notEqual(pg['isis.lsp.checksum.status'], '0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
