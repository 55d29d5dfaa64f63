/**
 * For the instance's unit tests (commands.test.ts, attached.test.ts): an IsisInstance over a real
 * RIB on system 0000.0000.0001 (lo0 10.255.0.1/32, area 49.0001, eth1 10.0.0.1/30 with family
 * iso), configured by the given extra `set` lines, with an output that sends nothing anywhere;
 * withPeer also brings up a point-to-point adjacency on eth1 with 0000.0000.0002 (10.0.0.2,
 * fe80::2) by its hellos.
 */
import assert from 'node:assert/strict';
import { AdjacencyState, ALL_ISS, encodeIsisFrameHeader, encodePduBytes, ISIS_FRAME_HEADER_LEN, Nlpid, parseAreaAddress, parseSystemId, type Lsp, type Pdu } from '../../../wire/isis/index.js';
import { parseIpv4, parseIpv6, type Mac } from '../../../lib/addr.js';
import { parseConfig } from '../../config/notation.js';
import { Rib } from '../../rib/rib.js';
import { resolveIsis } from './config.js';
import { IsisInstance } from './instance.js';

export const OUR_MAC = Uint8Array.from([2, 0, 0, 0, 1, 1]) as Mac;
export const PEER_MAC = Uint8Array.from([2, 0, 0, 0, 2, 1]) as Mac;

export function testInstance(lines: readonly string[], now: number): { inst: IsisInstance; rib: Rib } {
  const base = [
    'set interfaces lo0 unit 0 family inet address 10.255.0.1/32',
    'set interfaces lo0 unit 0 family iso address 49.0001.0000.0000.0001.00',
    'set interfaces eth1 unit 0 family inet address 10.0.0.1/30',
    'set interfaces eth1 unit 0 family iso',
    'set protocols isis interface lo0.0 passive',
  ];
  const cfg = resolveIsis(parseConfig([...base, ...lines, ''].join('\n'), 'set'));
  if (!cfg) throw new Error('no IS-IS configuration');
  const rib = new Rib();
  return { inst: new IsisInstance(cfg, rib, { send: () => true, macOf: () => OUR_MAC, log: () => {}, random: () => 0.5 }, now), rib };
}

/** A frame from the peer (PEER_MAC) carrying `p`. */
export function peerFrame(p: Pdu): Uint8Array {
  const pdu = encodePduBytes(p);
  const f = new Uint8Array(ISIS_FRAME_HEADER_LEN + pdu.length);
  encodeIsisFrameHeader(ALL_ISS, PEER_MAC, pdu.length, f, 0);
  f.set(pdu, ISIS_FRAME_HEADER_LEN);
  return f;
}

/** testInstance(lines) with eth1 and lo0 up and the adjacency to 0000.0000.0002 Up at `circuitType` (1, 2 or 3). */
export function withPeer(lines: readonly string[], circuitType: number): { inst: IsisInstance; rib: Rib; now: number } {
  let now = 1000;
  const { inst, rib } = testInstance(lines, now);
  inst.linkChanged('eth1', true, now);
  inst.linkChanged('lo0', true, now);
  // RFC 5303: Initializing from the neighbour takes us Up, then it says Up
  const hello = (state: (typeof AdjacencyState)[keyof typeof AdjacencyState]): Pdu => ({
    kind: 'p2p-hello', maxAreaAddresses: 0, circuitType, sourceId: parseSystemId('0000.0000.0002'), holdingTime: 30, localCircuitId: 1,
    tlvs: [
      { type: 'area-addresses', areas: [parseAreaAddress('49.0001')] },
      { type: 'protocols-supported', nlpids: [Nlpid.Ipv4, Nlpid.Ipv6] },
      { type: 'ipv4-interface-addresses', addresses: [parseIpv4('10.0.0.2')] },
      { type: 'ipv6-interface-addresses', addresses: [parseIpv6('fe80::2')] },
      { type: 'p2p-adjacency', adjacency: { state, extLocalCircuitId: 1, neighborSystemId: inst.cx.cfg.systemId, neighborExtCircuitId: inst.cx.circuits.get('eth1')!.extendedId } },
    ],
  });
  for (const state of [AdjacencyState.Initializing, AdjacencyState.Up]) {
    inst.frameReceived('eth1', peerFrame(hello(state)), (now += 10));
    inst.tick((now += 10));
  }
  assert.equal(inst.cx.circuits.get('eth1')?.p2p?.state, 'up');
  inst.tick((now += 200));
  return { inst, rib, now };
}

/** Level 2 LSP number `i` of a system that lists no neighbour (system ID 0000.0001.iiii): bulk for the LSDB. */
export function bareLsp(i: number): Lsp {
  return {
    kind: 'lsp', level: 2, maxAreaAddresses: 0, remainingLifetime: 1200, lspId: { systemId: parseSystemId(`0000.0001.${i.toString(16).padStart(4, '0')}`), pseudonode: 0, fragment: 0 },
    sequence: 1, checksum: 0, partitionRepair: false, attached: 0, overload: false, isType: 3,
    tlvs: [{ type: 'area-addresses', areas: [parseAreaAddress('49.0001')] }],
  };
}
