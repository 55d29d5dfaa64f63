/**
 * The kernel fast path's two programs (see kfast.ts): built per vif, with its id and MAC as
 * immediates, from one sequence of checks, so that the two decide alike.
 *
 * - The TC program (TCX ingress of the vif's netdev) forwards what the cache says it may:
 *   TTL - 1 with the incremental checksum update (as the kernel's ip_decrease_ttl), both MACs
 *   rewritten, the per-CPU counters, bpf_redirect to the out netdev. Anything else goes on
 *   (TCX_NEXT) to the vRouter's packet socket as before.
 * - The socket filter on the vif's packet socket refuses the same packets, so that the
 *   vRouter does not forward them a second time: a packet socket bound to every protocol is a
 *   tap that sees each frame before TC ingress does.
 *
 * A packet is fast only if all of this holds (else the vRouter's graph has it, unmodified):
 * untagged IPv4 without options, for the vif's MAC, within its MTU, total length from 20 to the frame's, a
 * good header checksum, TTL > 1, a cache entry for (vif, destination) of the current epoch,
 * and a frame that fits the out vif's MTU (a GSO super-frame does not: the vRouter carries it).
 *
 * The cache entry (value, CACHE_VALUE bytes): [0] epoch, [4] out ifindex, [8] out vif, [12]
 * VRF, [16] out MTU (L3), [20..32) the 12 bytes of MACs as they go into the frame. Key: [0]
 * in vif (u32, host order), [4] the destination as it is in the packet.
 * Counters (per-CPU array, COUNTER_VALUE bytes): at a vif's index [rx packets, rx bytes,
 * tx packets, tx bytes]; at maxVifs + VRF [packets, L3 bytes].
 */
import {
  BPF_FUNC_map_lookup_elem,
  BPF_FUNC_redirect,
  BPF_FUNC_skb_load_bytes,
  BPF_FUNC_skb_pull_data,
  type Insn,
  alu,
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

export interface FastMaps {
  cache: number;
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

/** r7: the Ethernet header, r8: the IPv4 header (packet or stack), r6: the skb. Leaves the cache entry in r9. */
function checks(m: FastMaps, f: VifFacts, miss: string): Insn[] {
  const mac = f.mac;
  const mac0 = (mac[0]! | (mac[1]! << 8) | (mac[2]! << 16) | (mac[3]! << 24)) | 0;
  const mac4 = mac[4]! | (mac[5]! << 8);
  return [
    ...ldxMem('w', 2, 6, SKB_VLAN_PRESENT),
    ...jmp('ne', 2, 0, miss),
    ...ldxMem('h', 2, 7, 12), // EtherType, as loaded on this little-endian host
    ...jmp('ne', 2, 0x0008, miss),
    ...ldxMem('b', 2, 8, 0),
    ...jmp('ne', 2, 0x45, miss), // IPv4, no options
    ...ldxMem('w', 2, 7, 0),
    ...jmp('ne', 2, mac0, miss),
    ...ldxMem('h', 2, 7, 4),
    ...jmp('ne', 2, mac4, miss), // for us
    ...ldxMem('b', 2, 8, 8),
    ...jmp('le', 2, 1, miss), // TTL > 1
    ...ldxMem('h', 2, 8, 2),
    ...toBe(2, 16),
    ...jmp('lt', 2, 20, miss),
    ...ldxMem('w', 3, 6, SKB_LEN),
    ...alu('sub', 3, 14),
    ...jmpReg('gt', 2, 3, miss), // the total length within the frame
    ...jmp('gt', 3, f.mtu, miss), // the frame within the vif's MTU
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
    ...stMem('w', 10, -8, f.vif),
    ...ldxMem('w', 2, 8, 16),
    ...stxMem('w', 10, -4, 2),
    ...ldMapFd(1, m.cache),
    ...movReg(2, 10),
    ...alu('add', 2, -8),
    ...call(BPF_FUNC_map_lookup_elem),
    ...jmp('eq', 0, 0, miss, true),
    ...movReg(9, 0),
    // of the current epoch
    ...stMem('w', 10, -12, 0),
    ...ldMapFd(1, m.epoch),
    ...movReg(2, 10),
    ...alu('add', 2, -12),
    ...call(BPF_FUNC_map_lookup_elem),
    ...jmp('eq', 0, 0, miss, true),
    ...ldxMem('w', 2, 0, 0),
    ...ldxMem('w', 3, 9, 0),
    ...jmpReg('ne', 2, 3, miss),
    // the frame fits the out vif
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
  return [
    ...stxMem('w', 10, -16, 2),
    ...ldMapFd(1, m.counters),
    ...movReg(2, 10),
    ...alu('add', 2, -16),
    ...call(BPF_FUNC_map_lookup_elem),
    ...jmp('eq', 0, 0, skip, true),
  ];
}

/** The TCX ingress program of one vif. */
export function tcProgram(m: FastMaps, f: VifFacts): Uint8Array {
  return assemble([
    ...movReg(6, 1),
    ...ldxMem('w', 7, 6, SKB_DATA),
    ...ldxMem('w', 2, 6, SKB_DATA_END),
    ...movReg(3, 7),
    ...alu('add', 3, 34),
    ...jmpReg('le', 3, 2, 'linear'),
    // the headers not all in the skb's linear part (a frame sent from a packet socket's ring,
    // a super-frame's pages): pulled in, as the socket filter's loads read them anyway
    ...movReg(1, 6),
    ...movImm(2, 34),
    ...call(BPF_FUNC_skb_pull_data),
    ...jmp('ne', 0, 0, 'next', true),
    ...ldxMem('w', 7, 6, SKB_DATA),
    ...ldxMem('w', 2, 6, SKB_DATA_END),
    ...movReg(3, 7),
    ...alu('add', 3, 34),
    ...jmpReg('gt', 3, 2, 'next'),
    ...label('linear'),
    ...movReg(8, 7),
    ...alu('add', 8, 14),
    ...checks(m, f, 'next'),
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

/** The socket filter of one vif's packet socket: 0 (not for this socket) for what tcProgram forwards, the whole frame otherwise. */
export function socketFilter(m: FastMaps, f: VifFacts): Uint8Array {
  return assemble([
    ...movReg(6, 1),
    // the Ethernet header at fp - 64, the IPv4 header at fp - 40 (each 4-byte aligned: the
    // verifier wants aligned stack loads)
    ...movReg(1, 6),
    ...movImm(2, 0),
    ...movReg(3, 10),
    ...alu('add', 3, -64),
    ...movImm(4, 14),
    ...call(BPF_FUNC_skb_load_bytes),
    ...jmp('ne', 0, 0, 'accept', true),
    ...movReg(1, 6),
    ...movImm(2, 14),
    ...movReg(3, 10),
    ...alu('add', 3, -40),
    ...movImm(4, 20),
    ...call(BPF_FUNC_skb_load_bytes),
    ...jmp('ne', 0, 0, 'accept', true),
    ...movReg(7, 10),
    ...alu('add', 7, -64),
    ...movReg(8, 10),
    ...alu('add', 8, -40),
    ...checks(m, f, 'accept'),
    ...movImm(0, 0),
    ...exit(),
    ...label('accept'),
    ...movImm(0, ACCEPT_ALL),
    ...exit(),
  ]);
}
