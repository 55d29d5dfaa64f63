// FRR isisd accepts what cnr's encoder writes (root; skips with a reason otherwise). One FRR
// (Debian's isisd, with zebra) in a namespace, a veth to a second namespace where this test plays
// the neighbour: a small stdlib-Python AF_PACKET sender puts cnr-encoded frames on the wire —
// point-to-point hellos until FRR's adjacency is up, then LSPs of a system 0102.5500.0099 with
// SR capabilities, an Adj-SID and Prefix-SIDs, signed with HMAC-MD5 (FRR's domain-password).
// Two bad LSPs go first with higher sequence numbers — one signed with the wrong key, one with a
// broken checksum — and the good one last: FRR ending with the good one's sequence number means
// it refused both (had it taken either, the good one would have been older and dropped).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_ISS, encodeIsisFrameHeader, encodePduBytes, parseAreaAddress, parseSystemId, type Pdu } from './index.js';
import { parseIpv4, parsePrefix, type Label } from '../../lib/addr.js';
import { toHex } from '../../../test/support/wire.js';

const ISISD = '/usr/lib/frr/isisd';
const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : !existsSync(ISISD) ? 'FRR not installed (Debian package frr)' : false;

const ID = process.pid;
const NS_FRR = `cnr-isf-${ID}`;
const NS_CNR = `cnr-isc-${ID}`;
const CNR_MAC = '02:00:00:00:00:99';
const CNR_SYS = parseSystemId('0102.5500.0099');
const FRR_SYS = parseSystemId('0102.5500.0001');
const KEY = 'domkey';

// stdlib only: send hex frames given as arguments once, or with --every N repeat the first forever
const SENDER = `
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
if sys.argv[2] == '--every':
    f = bytes.fromhex(sys.argv[4])
    while True:
        s.send(f)
        time.sleep(float(sys.argv[3]))
for h in sys.argv[2:]:
    s.send(bytes.fromhex(h))
    time.sleep(0.2)
`;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
}

function frame(pdu: Uint8Array): string {
  const buf = new Uint8Array(17 + pdu.length);
  const src = new Uint8Array(CNR_MAC.split(':').map((x) => parseInt(x, 16)));
  buf.set(pdu, encodeIsisFrameHeader(ALL_ISS, src, pdu.length, buf));
  return toHex(buf);
}

const hello: Pdu = {
  kind: 'p2p-hello',
  maxAreaAddresses: 0,
  circuitType: 2,
  sourceId: CNR_SYS,
  holdingTime: 30,
  localCircuitId: 1,
  // no three-way TLV: ISO 10589's two-way point-to-point adjacency, so the test need not read FRR's circuit ID
  tlvs: [
    { type: 'protocols-supported', nlpids: [0xcc] },
    { type: 'area-addresses', areas: [parseAreaAddress('49.0001')] },
    { type: 'ipv4-interface-addresses', addresses: [parseIpv4('10.0.0.2')] },
  ],
};

function lsp(sequence: number): Pdu {
  return {
    kind: 'lsp',
    level: 2,
    maxAreaAddresses: 0,
    remainingLifetime: 1200,
    lspId: { systemId: CNR_SYS, pseudonode: 0, fragment: 0 },
    sequence,
    checksum: 0,
    partitionRepair: false,
    attached: 0,
    overload: false,
    isType: 3, // a level 2 system (IS type: 1 = level 1 only, 3 = level 2; 0 and 2 unused)
    tlvs: [
      { type: 'authentication', auth: { kind: 'hmac-md5', digest: new Uint8Array(16) } },
      { type: 'protocols-supported', nlpids: [0xcc] },
      { type: 'area-addresses', areas: [parseAreaAddress('49.0001')] },
      { type: 'hostname', hostname: 'cnr-test' },
      {
        type: 'router-capability',
        routerId: parseIpv4('10.255.0.99'),
        flags: { s: false, d: false },
        subTlvs: [
          { type: 'sr-capabilities', flags: { i: true, v: false }, ranges: [{ range: 4096, first: { label: 400000 as Label } }] },
          { type: 'sr-algorithms', algorithms: [0] },
          { type: 'srlb', flags: 0, ranges: [{ range: 1000, first: { label: 24000 as Label } }] },
        ],
      },
      {
        type: 'extended-is-reachability',
        neighbors: [
          {
            neighbor: { systemId: FRR_SYS, pseudonode: 0 },
            metric: 10,
            subTlvs: [{ type: 'adj-sid', flags: { f: false, b: false, v: true, l: true, s: false, p: false }, weight: 0, sid: { label: 24001 as Label } }],
          },
        ],
      },
      { type: 'ipv4-interface-addresses', addresses: [parseIpv4('10.255.0.99')] },
      {
        type: 'extended-ipv4-reachability',
        prefixes: [
          {
            prefix: parsePrefix('10.255.0.99/32'),
            metric: 0,
            down: false,
            subTlvs: [{ type: 'prefix-sid', flags: { r: false, n: true, p: false, e: false, v: false, l: false }, algorithm: 0, sid: { index: 99 } }],
          },
        ],
      },
    ],
  };
}

/** Poll `read` until `want` matches what it returns; on timeout, fail showing the last reading. */
async function waitFor(what: string, read: () => string, want: RegExp, ms: number): Promise<void> {
  const until = Date.now() + ms;
  let last = '';
  while (Date.now() < until) {
    last = read();
    if (want.test(last)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}; last seen:\n${last}`);
}

test('FRR isisd accepts cnr-encoded LSPs and refuses bad digests and checksums', { skip, timeout: 80_000 }, async () => {
  const dir = mkdtempSync(`/tmp/cnr-isis-frr-${ID}-`);
  chmodSync(dir, 0o755);
  let sender: ChildProcess | undefined;
  const vty = (cmd: string) => sh('vtysh', ['--vty_socket', dir, '-c', cmd]);
  try {
    sh('ip', ['netns', 'add', NS_FRR]);
    sh('ip', ['netns', 'add', NS_CNR]);
    sh('ip', ['link', 'add', `isf${ID}`, 'netns', NS_FRR, 'type', 'veth', 'peer', 'name', `isc${ID}`, 'netns', NS_CNR]);
    sh('ip', ['-n', NS_FRR, 'link', 'set', `isf${ID}`, 'name', 'eth0']);
    sh('ip', ['-n', NS_CNR, 'link', 'set', `isc${ID}`, 'name', 'eth0', 'address', CNR_MAC]);
    sh('ip', ['-n', NS_FRR, 'addr', 'add', '10.0.0.1/30', 'dev', 'eth0']);
    sh('ip', ['-n', NS_FRR, 'addr', 'add', '10.255.0.1/32', 'dev', 'lo']);
    for (const ns of [NS_FRR, NS_CNR]) for (const i of ['lo', 'eth0']) sh('ip', ['-n', ns, 'link', 'set', i, 'up']);

    writeFileSync(join(dir, 'zebra.conf'), 'hostname frr\n');
    writeFileSync(join(dir, 'isisd.conf'), 'hostname frr\n');
    writeFileSync(
      join(dir, 'frr.conf'),
      [
        'interface lo',
        ' ip router isis T',
        ' isis passive',
        'exit',
        'interface eth0',
        ' ip router isis T',
        ' isis network point-to-point',
        ' isis hello-interval 1',
        'exit',
        'router isis T',
        ` net 49.0001.${FRR_SYS}.00`,
        ' is-type level-2-only',
        ' metric-style wide',
        ' lsp-gen-interval 1',
        ` domain-password md5 ${KEY}`,
        ' segment-routing on',
        ' segment-routing global-block 16000 23999',
        ' segment-routing prefix 10.255.0.1/32 index 1',
        'exit',
        '',
      ].join('\n'),
    );
    sh('chown', ['-R', 'frr:frr', dir]);
    const daemon = (name: string) =>
      sh('ip', ['netns', 'exec', NS_FRR, `/usr/lib/frr/${name}`, '-d', '-u', 'frr', '-g', 'frr', '-f', join(dir, `${name}.conf`), '-i', join(dir, `${name}.pid`), '-z', join(dir, 'zserv.api'), '--vty_socket', dir]);
    daemon('zebra');
    daemon('isisd');
    // isisd started empty and configured through vtysh brings the adjacency up in seconds (LAB.md)
    sh('vtysh', ['--vty_socket', dir, '-f', join(dir, 'frr.conf')]);

    sender = spawn('ip', ['netns', 'exec', NS_CNR, '/usr/bin/python3', '-c', SENDER, 'eth0', '--every', '1', frame(encodePduBytes(hello))], { stdio: 'ignore' });
    await waitFor('FRR to bring the adjacency up', () => vty('show isis neighbor'), /0102\.5500\.0099\s+eth0\s+2\s+Up/, 30_000);

    const good = frame(encodePduBytes(lsp(2), { hmacMd5Key: KEY }));
    const wrongKey = frame(encodePduBytes(lsp(3), { hmacMd5Key: 'not-the-key' }));
    const badSum = encodePduBytes(lsp(4), { hmacMd5Key: KEY });
    badSum[25]! ^= 0x01; // the checksum field only: the digest leaves it out (RFC 5304), so only the checksum is wrong
    sh('ip', ['netns', 'exec', NS_CNR, '/usr/bin/python3', '-c', SENDER, 'eth0', wrongKey, frame(badSum), good]);

    await waitFor("cnr-test.00-00 in FRR's LSDB", () => vty('show isis database'), /cnr-test\.00-00/, 10_000);
    const db = vty('show isis database detail cnr-test.00-00');
    assert.match(db, /cnr-test\.00-00\s+\d+\s+0x00000002/, `FRR took a bad LSP:\n${db}`);
    assert.match(db, /Hostname: cnr-test/);
    assert.match(db, /Global Block Base: 400000 Range: 4096/);
    assert.match(db, /SR Local Block Base: 24000 Range: 1000/);
    assert.match(db, /Adjacency-SID: 24001/);
    assert.match(db, /10\.255\.0\.99\/32 \(Metric: 0\)[\s\S]*SR Prefix-SID Index: 99/);
    // FRR's SPF uses it: a route to cnr's loopback with the SID from cnr's SRGB
    await waitFor('the route to 10.255.0.99/32', () => vty('show isis route prefix-sid'), /10\.255\.0\.99\/32\s+10\s+eth0\s+10\.0\.0\.2\s+99\b/, 20_000);
  } finally {
    if (sender?.pid) {
      try {
        process.kill(sender.pid);
      } catch {}
    }
    for (const name of ['isisd', 'zebra']) {
      try {
        process.kill(Number(readFileSync(join(dir, `${name}.pid`), 'utf8').trim()));
      } catch {}
    }
    for (const ns of [NS_CNR, NS_FRR]) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
