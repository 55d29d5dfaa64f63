/**
 * IS-IS LSP injector for the IS-IS benchmark (bench/isis.bench.ts), run as its own process
 * inside the injector's namespace (`ip netns exec NS node isis-injector.js ...`): it speaks
 * IS-IS over cnr's own kernel FramePort (src/controller/link/kernel-frame-port.ts, an
 * AF_PACKET socket) with the project's codecs (src/wire/isis/). It is router 0 of a generated
 * topology (bench/lib/isis-topology.ts): it forms a level-2 point-to-point three-way
 * adjacency (RFC 5303) with the receiver, keeps it up with hellos every second, and once the
 * receiver reports the adjacency Up it floods every generated LSP, paced (10 frames or 3,000
 * bytes a millisecond at most by default, about 9k LSPs a second as timers go: a burst beyond what a
 * receiver's socket buffer holds between two reads is simply lost, then recovered), then describes them in a
 * CSNP sequence every 2 s: whatever a receiver lost it asks for in a PSNP, which the injector
 * answers with the LSP. The receiver's own LSPs are acknowledged with PSNPs.
 *
 * Events are JSON lines on stdout: {"event":"encoded"}, {"event":"adjacency-up","t":ms},
 * {"event":"flooded","t":ms}, {"event":"requested","total":N} (LSPs asked for again in PSNPs, so
 * far), {"event":"error","message":...}. Arguments:
 *   --ifname IF --addr A.B.C.D --receiver SYSID --routers N [--degree 4 --prefixes 2 --seed 13]
 *   [--burst 10 --burst-bytes 3000 --burst-gap-ms 1]
 */
import { parseArgs } from 'node:util';
import { KernelFramePort } from '../../src/controller/link/kernel-frame-port.js';
import {
  ALL_ISS, decodeIsisFrame, decodePdu, encodeIsisFrameHeader, encodePduBytes, formatLspId, ISIS_FRAME_HEADER_LEN, IsisError, padHello, parseAreaAddress, parseSystemId,
  type LspEntry, type LspId, type Pdu, type SystemId, type Tlv,
} from '../../src/wire/isis/index.js';
import { parseIpv4 } from '../../src/lib/addr.js';
import { generateTopology, lspsOf } from './isis-topology.js';

const { values: a } = parseArgs({
  options: {
    ifname: { type: 'string' }, addr: { type: 'string' }, receiver: { type: 'string' }, routers: { type: 'string' },
    degree: { type: 'string', default: '4' }, prefixes: { type: 'string', default: '2' }, seed: { type: 'string', default: '13' },
    burst: { type: 'string', default: '10' }, 'burst-gap-ms': { type: 'string', default: '1' }, 'burst-bytes': { type: 'string', default: '3000' },
  },
});
if (!a.ifname || !a.addr || !a.receiver || !a.routers) throw new Error('usage: isis-injector --ifname IF --addr A.B.C.D --receiver SYSID --routers N');
const ifname = a.ifname;
const emit = (event: string, extra: Record<string, unknown> = {}) => process.stdout.write(`${JSON.stringify({ event, t: Date.now(), ...extra })}\n`);

const AREA = parseAreaAddress('49.0001');
const receiver = parseSystemId(a.receiver);
const topo = generateTopology(Number(a.routers), Number(a.degree), Number(a.prefixes), Number(a.seed));
const self: SystemId = topo.routers[0]!.systemId;
const t0 = performance.now();
// sequence numbers from the clock: a receiver that outlived a previous run takes these as newer
const sequence = Math.floor(Date.now() / 1000) >>> 0;
const lsps = lspsOf(topo, AREA, receiver, sequence);
const port = new KernelFramePort({ pollMs: 5 });
const mac = port.macOf(ifname);
if (!mac) throw new Error(`no interface ${ifname}`);

function frameOf(pdu: Uint8Array): Uint8Array {
  const f = new Uint8Array(ISIS_FRAME_HEADER_LEN + pdu.length);
  encodeIsisFrameHeader(ALL_ISS, mac!, pdu.length, f, 0);
  f.set(pdu, ISIS_FRAME_HEADER_LEN);
  return f;
}

const lspFrames = new Map<string, Uint8Array>();
const entries: LspEntry[] = [];
for (const l of lsps) {
  const bytes = encodePduBytes(l);
  lspFrames.set(formatLspId(l.lspId), frameOf(bytes));
  entries.push({ remainingLifetime: l.remainingLifetime, lspId: l.lspId, sequence: l.sequence, checksum: (bytes[24]! << 8) | bytes[25]! });
}
emit('encoded', { lsps: lsps.length, edges: topo.edges, ms: performance.now() - t0 });

// three-way state (RFC 5303) as heard in the receiver's last hello
let heard: { circuitId: number; listsUs: boolean } | undefined;
let flooding = false;
// LSPs the receiver asked for again (lost on the way in): counted, reported as they grow
let requested = 0;
let reported = 0;

function sendHello(): void {
  const adjacency = heard
    ? { state: heard.listsUs ? 0 : 1, extLocalCircuitId: 1, neighborSystemId: receiver, neighborExtCircuitId: heard.circuitId }
    : { state: 2, extLocalCircuitId: 1 };
  const tlvs: Tlv[] = [
    { type: 'protocols-supported', nlpids: [0xcc] },
    { type: 'area-addresses', areas: [AREA] },
    { type: 'ipv4-interface-addresses', addresses: [parseIpv4(a.addr!)] },
    { type: 'p2p-adjacency', adjacency },
  ];
  const hello: Pdu = { kind: 'p2p-hello', maxAreaAddresses: 0, circuitType: 2, sourceId: self, holdingTime: 30, localCircuitId: 1, tlvs };
  port.send(ifname, frameOf(encodePduBytes(padHello(hello, 1497))));
}

function sendCsnps(): void {
  const first: LspId = { systemId: parseSystemId('0000.0000.0000'), pseudonode: 0, fragment: 0 };
  const last: LspId = { systemId: parseSystemId('ffff.ffff.ffff'), pseudonode: 255, fragment: 255 };
  const per = 90; // 90 entries x 16 bytes in 6 TLVs fit a 1497-byte PDU
  for (let i = 0; i < entries.length; i += per) {
    const chunk = entries.slice(i, i + per);
    const tlvs: Tlv[] = [];
    for (let j = 0; j < chunk.length; j += 15) tlvs.push({ type: 'lsp-entries', entries: chunk.slice(j, j + 15) });
    const pdu: Pdu = {
      kind: 'csnp', level: 2, maxAreaAddresses: 0, sourceId: { systemId: self, pseudonode: 0 },
      startLspId: i === 0 ? first : chunk[0]!.lspId, endLspId: i + per >= entries.length ? last : chunk[chunk.length - 1]!.lspId, tlvs,
    };
    queue.push(frameOf(encodePduBytes(pdu)));
  }
  void pump();
}

function ack(e: LspEntry[]): void {
  const pdu: Pdu = { kind: 'psnp', level: 2, maxAreaAddresses: 0, sourceId: { systemId: self, pseudonode: 0 }, tlvs: [{ type: 'lsp-entries', entries: e }] };
  port.send(ifname, frameOf(encodePduBytes(pdu)));
}

const queue: Uint8Array[] = [];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// every LSP and CSNP leaves through one paced queue (the first flood, the CSNPs, the answers
// to PSNPs): `burst` frames or `burst-bytes` bytes, whichever comes first, then a pause of
// `burst-gap-ms` (the byte budget paces the 1.5 KB CSNPs: a receiver that reads its socket
// every 20 ms holds only ~75 full-size frames in a default 208 KiB receive buffer)

let pumping = false;
let initialLeft = 0;
async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  const burst = Number(a.burst);
  const gap = Number(a['burst-gap-ms']);
  const burstBytes = Number(a['burst-bytes']);
  while (queue.length) {
    let bytes = 0;
    for (let i = 0; i < burst && bytes < burstBytes && queue.length; i++) {
      const f = queue.shift()!;
      bytes += f.length;
      port.send(ifname, f);
      if (initialLeft > 0 && --initialLeft === 0) {
        sendCsnps();
        emit('flooded', { lsps: lspFrames.size });
      }
    }
    await sleep(gap);
  }
  pumping = false;
}

function flood(): void {
  emit('adjacency-up');
  initialLeft = lspFrames.size;
  queue.push(...lspFrames.values());
  void pump();
  setInterval(sendCsnps, 2000);
}

port.listen(ifname, 'osi', ({ frame }) => {
  const f = decodeIsisFrame(frame);
  if (f instanceof IsisError) return;
  const pdu = decodePdu(f.pdu);
  if (pdu instanceof IsisError) return;
  if (pdu.kind === 'p2p-hello') {
    const tlv = pdu.tlvs.find((t) => t.type === 'p2p-adjacency');
    const adj = tlv?.type === 'p2p-adjacency' ? tlv.adjacency : undefined;
    heard = { circuitId: adj?.extLocalCircuitId ?? pdu.localCircuitId, listsUs: adj?.neighborSystemId === self };
    if (heard.listsUs && adj?.state === 0 && !flooding) {
      flooding = true;
      sendHello();
      flood();
    }
  } else if (pdu.kind === 'psnp') {
    // a request is an entry older than ours (sequence 0 when the receiver lacks the LSP)
    for (const t of pdu.tlvs) {
      if (t.type !== 'lsp-entries') continue;
      for (const e of t.entries) {
        const mine = lspFrames.get(formatLspId(e.lspId));
        if (mine && e.sequence < sequence) {
          queue.push(mine);
          requested++;
        }
      }
    }
    if (requested !== reported) {
      reported = requested;
      emit('requested', { total: requested });
    }
    void pump();
  } else if (pdu.kind === 'lsp') {
    ack([{ remainingLifetime: pdu.remainingLifetime, lspId: pdu.lspId, sequence: pdu.sequence, checksum: pdu.checksum }]);
  }
});

sendHello();
setInterval(sendHello, 1000);
process.on('SIGTERM', () => {
  port.close();
  process.exit(0);
});
