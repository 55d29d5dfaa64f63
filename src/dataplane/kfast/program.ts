/**
 * The kernel fast path's two programs (see kfast.ts): built per vif, with its id, MAC and MTU
 * as immediates, from one sequence of checks, so that the two decide alike.
 *
 * - The TC program (TCX ingress of the vif's netdev) forwards what the cache says it may:
 *   IPv4 TTL - 1 with the incremental checksum update (as the kernel's ip_decrease_ttl) or the
 *   IPv6 hop limit - 1, both MACs rewritten, the per-CPU counters, bpf_redirect to the out
 *   netdev. Anything else goes on (TCX_NEXT) to the vRouter's packet socket as before.
 * - The socket filter on the vif's packet socket refuses the same packets, so that the
 *   vRouter does not forward them a second time: a packet socket bound to every protocol is a
 *   tap that sees each frame before TC ingress does.
 *
 * A packet is fast only if all of this holds (else the vRouter's graph has it, unmodified):
 * untagged, for the vif's MAC, within its MTU; IPv4 without options, total length from 20 to
 * the frame's, a good header checksum, TTL > 1 — or IPv6 with no extension header the vRouter
 * must see (hop-by-hop, routing, fragment, destination options, AH), the payload within the
 * frame, hop limit > 1; a cache entry for (vif, destination) of the current epoch; and a frame
 * that fits the out vif's MTU (a GSO super-frame does not: the vRouter carries it).
 *
 * The epochs: one array map entry of EPOCHS_BYTES, the epoch of each /8 of IPv4 destinations
 * and one (EPOCH6) for IPv6. The cache entry (value, CACHE_VALUE bytes, both families): [0]
 * epoch, [4] out ifindex, [8] out vif, [12] VRF, [16] out MTU (L3), [20..32) the 12 bytes of
 * MACs as they go into the frame. Keys: [0] in vif (u32, host order), [4] the destination as it
 * is in the packet (4 or 16 bytes). Counters (per-CPU array, COUNTER_VALUE bytes): at a vif's
 * index [rx packets, rx bytes, tx packets, tx bytes]; at maxVifs + VRF [packets, L3 bytes].
 */
import {
  BPF_FUNC_map_lookup_elem,
  BPF_FUNC_redirect,
  BPF_FUNC_skb_load_bytes,
  BPF_FUNC_skb_pull_data,
  type Insn,
  alu,
  ja,
  aluReg,
  assemble,
  call,
  exit,
  jmp,
  jmpReg,
  label,
  ldMapFd,
  ldxMem,
  movImm,
  movReg,
  stMem,
  stxMem,
  toBe,
  zext32,
} from '../io/bpf.js';

export const CACHE_KEY = 8;
/** IPv6: (in vif, the 16-byte destination) */
export const CACHE6_KEY = 20;
/** an epoch per /8 of IPv4 destinations, and one for all of IPv6 (EPOCH6), as u32s */
export const EPOCHS = 256;
export const EPOCH6 = EPOCHS;
export const EPOCH_SLOTS = EPOCHS + 1;
export const EPOCHS_BYTES = EPOCH_SLOTS * 4;
export const CACHE_VALUE = 32;
export const COUNTER_VALUE = 32;
/** what a socket filter returns to take the whole frame */
const ACCEPT_ALL = 0x7fffffff;
/** TCX: go on to the next program, then the stack (TC_ACT_UNSPEC) */
const TCX_NEXT = -1;

// struct __sk_buff
const SKB_LEN = 0;
const SKB_VLAN_PRESENT = 20;
const SKB_DATA = 76;
const SKB_DATA_END = 80;

// the stack: the socket filter's copies of the headers, the lookups' keys
const FP_ETH = -128;
const FP_L3 = -104;
const FP_KEY6 = -56;
const FP_CTR = -16;
const FP_EPOCH = -12;
const FP_KEY4 = -8;

export interface FastMaps {
  cache: number;
  cache6: number;
  epoch: number;
  counters: number;
}

export interface VifFacts {
  vif: number;
  mac: Uint8Array;
  /** the vif's MTU: a longer frame is the vRouter's (it counts and drops it) */
  mtu: number;
  /** the counters' index of VRF v is maxVifs + v */
  maxVifs: number;
}

/** r7: the Ethernet header (packet or stack), r6: the skb: untagged, for the vif's MAC, within its MTU. */
function ethChecks(f: VifFacts, miss: string): Insn[] {
  const mac = f.mac;
  const mac0 = (mac[0]! | (mac[1]! << 8) | (mac[2]! << 16) | (mac[3]! << 24)) | 0;
  const mac4 = mac[4]! | (mac[5]! << 8);
  return [
    ...ldxMem('w', 2, 6, SKB_VLAN_PRESENT),
    ...jmp('ne', 2, 0, miss),
    ...ldxMem('w', 2, 7, 0),
    ...jmp('ne', 2, mac0, miss),
    ...ldxMem('h', 2, 7, 4),
    ...jmp('ne', 2, mac4, miss), // for us
    ...ldxMem('w', 3, 6, SKB_LEN),
    ...alu('sub', 3, 14),
    ...jmp('gt', 3, f.mtu, miss), // the frame within the vif's MTU
  ];
}

/** r8: the IPv4 header (packet or stack). Leaves the cache entry in r9. */
function ipv4Checks(m: FastMaps, f: VifFacts, miss: string): Insn[] {
  return [
    ...ldxMem('b', 2, 8, 0),
    ...jmp('ne', 2, 0x45, miss), // IPv4, no options
    ...ldxMem('b', 2, 8, 8),
    ...jmp('le', 2, 1, miss), // TTL > 1
    ...ldxMem('h', 2, 8, 2),
    ...toBe(2, 16),
    ...jmp('lt', 2, 20, miss),
    ...ldxMem('w', 3, 6, SKB_LEN),
    ...alu('sub', 3, 14),
    ...jmpReg('gt', 2, 3, miss), // the total length within the frame
    // the header checksum: the one's-complement sum of the header is 0xffff
    ...ldxMem('w', 2, 8, 0),
    ...ldxMem('w', 3, 8, 4),
    ...aluReg('add', 2, 3),
    ...ldxMem('w', 3, 8, 8),
    ...aluReg('add', 2, 3),
    ...ldxMem('w', 3, 8, 12),
    ...aluReg('add', 2, 3),
    ...ldxMem('w', 3, 8, 16),
    ...aluReg('add', 2, 3),
    ...movReg(3, 2),
    ...alu('rsh', 3, 32),
    ...zext32(2),
    ...aluReg('add', 2, 3),
    ...[0, 1, 2].flatMap(() => [...movReg(3, 2), ...alu('rsh', 3, 16), ...alu('and', 2, 0xffff), ...aluReg('add', 2, 3)]),
    ...jmp('ne', 2, 0xffff, miss),
    // the cache entry for (vif, destination)
    ...stMem('w', 10, FP_KEY4, f.vif),
    ...ldxMem('w', 2, 8, 16),
    ...stxMem('w', 10, FP_KEY4 + 4, 2),
    ...lookup(m.cache, FP_KEY4, miss),
    ...movReg(9, 0),
    // of the current epoch of the destination's /8
    ...epochs(m, miss),
    ...ldxMem('b', 2, 8, 16),
    ...alu('lsh', 2, 2),
    ...aluReg('add', 0, 2),
    ...entryChecks(miss),
  ];
}

/** r8: the IPv6 header (packet or stack). Leaves the cache entry in r9. */
function ipv6Checks(m: FastMaps, f: VifFacts, miss: string): Insn[] {
  return [
    ...ldxMem('b', 2, 8, 0),
    ...alu('and', 2, 0xf0),
    ...jmp('ne', 2, 0x60, miss), // version 6
    ...ldxMem('b', 2, 8, 7),
    ...jmp('le', 2, 1, miss), // hop limit > 1
    // no extension header the vRouter must see (hop-by-hop, routing, fragment, destination options, AH)
    ...ldxMem('b', 2, 8, 6),
    ...[0, 43, 44, 60, 51].flatMap((nx) => jmp('eq', 2, nx, miss)),
    ...ldxMem('h', 2, 8, 4),
    ...toBe(2, 16),
    ...alu('add', 2, 40),
    ...ldxMem('w', 3, 6, SKB_LEN),
    ...alu('sub', 3, 14),
    ...jmpReg('gt', 2, 3, miss), // the payload within the frame
    // the cache entry for (vif, destination)
    ...stMem('w', 10, FP_KEY6, f.vif),
    ...[0, 4, 8, 12].flatMap((k) => [...ldxMem('w', 2, 8, 24 + k), ...stxMem('w', 10, FP_KEY6 + 4 + k, 2)]),
    ...lookup(m.cache6, FP_KEY6, miss),
    ...movReg(9, 0),
    ...epochs(m, miss),
    ...alu('add', 0, EPOCH6 * 4),
    ...entryChecks(miss),
  ];
}

/** r0 = bpf_map_lookup_elem(map, fp + key), or jump to miss */
function lookup(map: number, key: number, miss: string): Insn[] {
  return [
    ...ldMapFd(1, map),
    ...movReg(2, 10),
    ...alu('add', 2, key),
    ...call(BPF_FUNC_map_lookup_elem),
    ...jmp('eq', 0, 0, miss, true),
  ];
}

/** r0 = the epochs */
function epochs(m: FastMaps, miss: string): Insn[] {
  return [...stMem('w', 10, FP_EPOCH, 0), ...lookup(m.epoch, FP_EPOCH, miss)];
}

/** r0: the epoch that applies, r9: the cache entry: of that epoch, and the frame within the out MTU */
function entryChecks(miss: string): Insn[] {
  return [
    ...ldxMem('w', 2, 0, 0),
    ...ldxMem('w', 3, 9, 0),
    ...jmpReg('ne', 2, 3, miss),
    ...ldxMem('w', 2, 9, 16),
    ...ldxMem('w', 3, 6, SKB_LEN),
    ...alu('sub', 3, 14),
    ...jmpReg('gt', 3, 2, miss),
  ];
}

/** add 1 to the u64 at r0 + off and `bytes` (a register) to the next one */
function count(off: number, bytes: number): Insn[] {
  return [
    ...ldxMem('dw', 2, 0, off),
    ...alu('add', 2, 1),
    ...stxMem('dw', 0, off, 2),
    ...ldxMem('dw', 2, 0, off + 8),
    ...aluReg('add', 2, bytes),
    ...stxMem('dw', 0, off + 8, 2),
  ];
}

/** the counters' entry whose index is in r2 into r0, or jump to `skip` */
function counterAt(m: FastMaps, skip: string): Insn[] {
  return [...stxMem('w', 10, FP_CTR, 2), ...lookup(m.counters, FP_CTR, skip)];
}

/** r7 = data with `n` bytes linear (pulled in if they are not), r8 = r7 + 14; or jump to `next` */
function linear(n: number, next: string, ok: string): Insn[] {
  return [
    ...ldxMem('w', 7, 6, SKB_DATA),
    ...ldxMem('w', 2, 6, SKB_DATA_END),
    ...movReg(3, 7),
    ...alu('add', 3, n),
    ...jmpReg('le', 3, 2, ok),
    // the headers not all in the skb's linear part (a frame sent from a packet socket's ring,
    // a super-frame's pages): pulled in, as the socket filter's loads read them anyway
    ...movReg(1, 6),
    ...movImm(2, n),
    ...call(BPF_FUNC_skb_pull_data),
    ...jmp('ne', 0, 0, next, true),
    ...ldxMem('w', 7, 6, SKB_DATA),
    ...ldxMem('w', 2, 6, SKB_DATA_END),
    ...movReg(3, 7),
    ...alu('add', 3, n),
    ...jmpReg('gt', 3, 2, next),
    ...label(ok),
    ...movReg(8, 7),
    ...alu('add', 8, 14),
  ];
}

/** The TCX ingress program of one vif. */
export function tcProgram(m: FastMaps, f: VifFacts): Uint8Array {
  return assemble([
    ...movReg(6, 1),
    ...linear(14, 'next', 'eth'),
    ...ldxMem('h', 2, 7, 12), // EtherType, as loaded on this little-endian host
    ...jmp('eq', 2, 0xdd86, 'six'),
    ...jmp('ne', 2, 0x0008, 'next'),
    ...linear(34, 'next', 'four'),
    ...ethChecks(f, 'next'),
    ...ipv4Checks(m, f, 'next'),
    // TTL - 1, and the checksum as the kernel's ip_decrease_ttl updates it
    ...ldxMem('b', 2, 8, 8),
    ...alu('sub', 2, 1),
    ...stxMem('b', 8, 8, 2),
    ...ldxMem('h', 2, 8, 10),
    ...alu('add', 2, 1),
    ...jmp('lt', 2, 0xffff, 'csum'),
    ...alu('add', 2, 1),
    ...label('csum'),
    ...stxMem('h', 8, 10, 2),
    ...ja('rewrite'),
    ...label('six'),
    ...linear(54, 'next', 'six-linear'),
    ...ethChecks(f, 'next'),
    ...ipv6Checks(m, f, 'next'),
    // hop limit - 1 (no checksum in the IPv6 header)
    ...ldxMem('b', 2, 8, 7),
    ...alu('sub', 2, 1),
    ...stxMem('b', 8, 7, 2),
    ...label('rewrite'),
    // both MACs
    ...ldxMem('w', 2, 9, 20),
    ...stxMem('w', 7, 0, 2),
    ...ldxMem('w', 2, 9, 24),
    ...stxMem('w', 7, 4, 2),
    ...ldxMem('w', 2, 9, 28),
    ...stxMem('w', 7, 8, 2),
    // counters: the in vif's rx, the out vif's tx, the VRF's (r4: frame bytes, r5: L3 bytes)
    ...movImm(2, f.vif),
    ...counterAt(m, 'tx'),
    ...ldxMem('w', 4, 6, SKB_LEN),
    ...count(0, 4),
    ...label('tx'),
    ...ldxMem('w', 2, 9, 8),
    ...counterAt(m, 'vrf'),
    ...ldxMem('w', 4, 6, SKB_LEN),
    ...count(16, 4),
    ...label('vrf'),
    ...ldxMem('w', 2, 9, 12),
    ...alu('add', 2, f.maxVifs),
    ...counterAt(m, 'out'),
    ...ldxMem('w', 5, 6, SKB_LEN),
    ...alu('sub', 5, 14),
    ...count(0, 5),
    ...label('out'),
    ...ldxMem('w', 1, 9, 4),
    ...movImm(2, 0),
    ...call(BPF_FUNC_redirect),
    ...exit(),
    ...label('next'),
    ...movImm(0, TCX_NEXT),
    ...exit(),
  ]);
}

/** bpf_skb_load_bytes(skb, off, fp + at, n), or jump to accept */
function load(off: number, at: number, n: number): Insn[] {
  return [
    ...movReg(1, 6),
    ...movImm(2, off),
    ...movReg(3, 10),
    ...alu('add', 3, at),
    ...movImm(4, n),
    ...call(BPF_FUNC_skb_load_bytes),
    ...jmp('ne', 0, 0, 'accept', true),
  ];
}

/** The socket filter of one vif's packet socket: 0 (not for this socket) for what tcProgram forwards, the whole frame otherwise. */
export function socketFilter(m: FastMaps, f: VifFacts): Uint8Array {
  return assemble([
    ...movReg(6, 1),
    // the headers copied to the stack, each 4-byte aligned (the verifier wants aligned stack loads)
    ...load(0, FP_ETH, 14),
    ...movReg(7, 10),
    ...alu('add', 7, FP_ETH),
    ...movReg(8, 10),
    ...alu('add', 8, FP_L3),
    ...ldxMem('h', 2, 7, 12),
    ...jmp('eq', 2, 0xdd86, 'six'),
    ...jmp('ne', 2, 0x0008, 'accept'),
    ...load(14, FP_L3, 20),
    ...ethChecks(f, 'accept'),
    ...ipv4Checks(m, f, 'accept'),
    ...ja('fast'),
    ...label('six'),
    ...load(14, FP_L3, 40),
    ...ethChecks(f, 'accept'),
    ...ipv6Checks(m, f, 'accept'),
    ...label('fast'),
    ...movImm(0, 0),
    ...exit(),
    ...label('accept'),
    ...movImm(0, ACCEPT_ALL),
    ...exit(),
  ]);
}
