/**
 * Just enough eBPF for the AF_XDP driver and the kernel fast path (src/dataplane/kfast), with
 * no libbpf and no compiler: an assembler for the instructions those programs use (with
 * labels for jumps), the XDP program itself, and the bpf(2) calls (maps, program load with the
 * verifier's log, TCX links) made through koffi.
 *
 * The program (xskRedirectProgram) sends every frame of the interface's receive queue to the
 * AF_XDP socket stored in an XSKMAP at that queue's index, and lets the kernel have the frame
 * (XDP_PASS) when no socket is there:
 *
 *   r2 = *(u32 *)(r1 + 16)          ; ctx->rx_queue_index
 *   r1 = map[fd] ll                 ; the XSKMAP (ld_imm64, BPF_PSEUDO_MAP_FD)
 *   r3 = XDP_PASS                   ; bpf_redirect_map's fallback action
 *   call bpf_redirect_map           ; helper 51
 *   exit                            ; its result is the program's verdict
 */
import koffi from 'koffi';
import { MAP_PRIVATE_ANON, PROT_RW } from '../../sys/constants.js';
import { libc, mapFailed, sysError, viewMemory } from '../../sys/libc.js';

// instruction classes and fields (linux/bpf_common.h, linux/bpf.h)
const BPF_LDX = 0x01;
const BPF_LD = 0x00;
const BPF_ST = 0x02;
const BPF_STX = 0x03;
const BPF_ALU = 0x04;
const BPF_ALU64 = 0x07;
const BPF_JMP = 0x05;
const BPF_JMP32 = 0x06;
const BPF_W = 0x00;
const BPF_H = 0x08;
const BPF_B = 0x10;
const BPF_DW = 0x18;
const BPF_MEM = 0x60;
const BPF_IMM = 0x00;
const BPF_MOV = 0xb0;
const BPF_END = 0xd0;
const BPF_TO_BE = 0x08;
const BPF_K = 0x00;
const BPF_X = 0x08;
const BPF_CALL = 0x80;
const BPF_EXIT = 0x90;
const BPF_JA = 0x00;
/** ALU operations by name (linux/bpf_common.h) */
const ALU_OPS = { add: 0x00, sub: 0x10, mul: 0x20, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70, xor: 0xa0, mov: 0xb0 } as const;
export type AluOp = keyof typeof ALU_OPS;
/** jump conditions by name: unsigned compares unless named s* */
const JMP_OPS = { eq: 0x10, gt: 0x20, ge: 0x30, set: 0x40, ne: 0x50, sgt: 0x60, sge: 0x70, lt: 0xa0, le: 0xb0, slt: 0xc0, sle: 0xd0 } as const;
export type JmpOp = keyof typeof JMP_OPS;
type Size = 'b' | 'h' | 'w' | 'dw';
const SIZES: Record<Size, number> = { b: BPF_B, h: BPF_H, w: BPF_W, dw: BPF_DW };
export const BPF_PSEUDO_MAP_FD = 1;

export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const BPF_FUNC_map_lookup_elem = 1;
export const BPF_FUNC_redirect = 23;
export const BPF_FUNC_skb_load_bytes = 26;
export const BPF_FUNC_skb_pull_data = 39;
export const BPF_FUNC_redirect_map = 51;
/** offset of rx_queue_index in struct xdp_md */
export const XDP_MD_RX_QUEUE_INDEX = 16;

/**
 * One 8-byte eBPF instruction: opcode, dst and src registers (4 bits each), 16-bit offset,
 * 32-bit immediate. A jump may name its target (`to`, a label()) instead of an offset;
 * assemble() resolves it.
 */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  to?: string;
  /** a label: no instruction, only a position */
  label?: string;
}

const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

/** dst = *(size *)(src + off) */
export function ldxMem(size: Size, dst: number, src: number, off: number): Insn[] {
  return [insn(BPF_LDX | BPF_MEM | SIZES[size], dst, src, off, 0)];
}

/** *(size *)(dst + off) = src */
export function stxMem(size: Size, dst: number, off: number, src: number): Insn[] {
  return [insn(BPF_STX | BPF_MEM | SIZES[size], dst, src, off, 0)];
}

/** *(size *)(dst + off) = imm */
export function stMem(size: Size, dst: number, off: number, imm: number): Insn[] {
  return [insn(BPF_ST | BPF_MEM | SIZES[size], dst, 0, off, imm)];
}

/** dst op= imm (64-bit) */
export function alu(op: AluOp, dst: number, imm: number): Insn[] {
  return [insn(BPF_ALU64 | ALU_OPS[op] | BPF_K, dst, 0, 0, imm)];
}

/** dst op= src (64-bit) */
export function aluReg(op: AluOp, dst: number, src: number): Insn[] {
  return [insn(BPF_ALU64 | ALU_OPS[op] | BPF_X, dst, src, 0, 0)];
}

/** dst = (u32) dst: a 32-bit move zero-extends (the upper half cleared) */
export function zext32(dst: number): Insn[] {
  return [insn(BPF_ALU | BPF_MOV | BPF_X, dst, dst, 0, 0)];
}

/** dst = the low `bits` (16 or 32) of dst in big-endian (network) order, from this little-endian host's */
export function toBe(dst: number, bits: 16 | 32): Insn[] {
  return [insn(BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, bits)];
}

/** if (dst op imm) goto to; `wide` compares all 64 bits (the immediate sign-extended), otherwise the low 32 */
export function jmp(op: JmpOp, dst: number, imm: number, to: string, wide = false): Insn[] {
  return [{ ...insn((wide ? BPF_JMP : BPF_JMP32) | JMP_OPS[op] | BPF_K, dst, 0, 0, imm), to }];
}

/** if (dst op src) goto to (64-bit compare) */
export function jmpReg(op: JmpOp, dst: number, src: number, to: string): Insn[] {
  return [{ ...insn(BPF_JMP | JMP_OPS[op] | BPF_X, dst, src, 0, 0), to }];
}

/** goto to */
export function ja(to: string): Insn[] {
  return [{ ...insn(BPF_JMP | BPF_JA, 0, 0, 0, 0), to }];
}

/** a jump target */
export function label(name: string): Insn[] {
  return [{ ...insn(0, 0, 0, 0, 0), label: name }];
}

/** dst = src (64-bit) */
export function movReg(dst: number, src: number): Insn[] {
  return aluReg('mov', dst, src);
}

/** dst = imm (64-bit register, 32-bit sign-extended immediate) */
export function movImm(dst: number, imm: number): Insn[] {
  return [insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)];
}

/** dst = the map whose fd is `fd` (two instruction slots; the verifier turns the fd into the map's address) */
export function ldMapFd(dst: number, fd: number): Insn[] {
  return [insn(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd), insn(0, 0, 0, 0, 0)];
}

export function call(helper: number): Insn[] {
  return [insn(BPF_JMP | BPF_CALL, 0, 0, 0, helper)];
}

export function exit(): Insn[] {
  return [insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)];
}

/** Encode instructions as the kernel reads them (struct bpf_insn, little-endian). */
export function assemble(source: Insn[]): Uint8Array {
  // labels take no slot: their position is the next instruction's
  const at = new Map<string, number>();
  const prog: Insn[] = [];
  for (const i of source) {
    if (i.label === undefined) prog.push(i);
    else if (at.has(i.label)) throw new Error(`bpf label ${i.label} defined twice`);
    else at.set(i.label, prog.length);
  }
  const out = new Uint8Array(prog.length * 8);
  const dv = new DataView(out.buffer);
  prog.forEach((i, k) => {
    if (i.dst < 0 || i.dst > 10 || i.src < 0 || i.src > 10) throw new Error(`bpf insn ${k}: bad register`);
    let off = i.off;
    if (i.to !== undefined) {
      const t = at.get(i.to);
      if (t === undefined) throw new Error(`bpf insn ${k}: no label ${i.to}`);
      off = t - k - 1;
      if (off < 0) throw new Error(`bpf insn ${k}: jump back to ${i.to} (programs here only jump forward)`);
    }
    dv.setUint8(k * 8, i.code);
    dv.setUint8(k * 8 + 1, (i.src << 4) | i.dst);
    dv.setInt16(k * 8 + 2, off, true);
    dv.setInt32(k * 8 + 4, i.imm, true);
  });
  return out;
}

/** The XDP program: redirect to the XSKMAP entry of the receive queue, else XDP_PASS. */
export function xskRedirectProgram(xskMapFd: number): Uint8Array {
  return assemble([
    ...ldxMem('w', 2, 1, XDP_MD_RX_QUEUE_INDEX),
    ...ldMapFd(1, xskMapFd),
    ...movImm(3, XDP_PASS),
    ...call(BPF_FUNC_redirect_map),
    ...exit(),
  ]);
}

// bpf(2)
const SYS_bpf = 321; // x86_64
const BPF_MAP_CREATE = 0;
const BPF_MAP_LOOKUP_ELEM = 1;
const BPF_MAP_UPDATE_ELEM = 2;
const BPF_MAP_DELETE_ELEM = 3;
const BPF_PROG_LOAD = 5;
const BPF_LINK_CREATE = 28;
const BPF_PROG_TEST_RUN = 10;
/** program types (enum bpf_prog_type) */
export const BPF_PROG_TYPE_SOCKET_FILTER = 1;
export const BPF_PROG_TYPE_SCHED_CLS = 3;
const PROG_TYPE_NAMES: Record<number, string> = { 1: 'socket filter', 3: 'TC', 6: 'XDP' };
/** attach type of TCX ingress programs (Linux 6.6+; enum bpf_attach_type) */
export const BPF_TCX_INGRESS = 46;
export const BPF_MAP_TYPE_ARRAY = 2;
export const BPF_MAP_TYPE_PERCPU_ARRAY = 6;
export const BPF_MAP_TYPE_LRU_HASH = 9;
/** setsockopt(SOL_SOCKET) option that attaches an eBPF socket filter by its fd */
export const SO_ATTACH_BPF = 50;
/** attach type of XDP programs (enum bpf_attach_type) */
export const BPF_XDP = 37;
export const BPF_MAP_TYPE_XSKMAP = 17;
export const BPF_PROG_TYPE_XDP = 6;
/** prog_flags: the program takes multi-buffer frames (xdp_buff with fragments; Linux 5.18+) */
export const BPF_F_XDP_HAS_FRAGS = 1 << 5;
const ATTR_SIZE = 128;
const LOG_SIZE = 64 * 1024;

/**
 * bpf(2) takes pointers inside its attribute union, so everything it reads or writes lives in
 * one mmapped scratch region whose address does not move (small JS typed arrays may).
 * Layout: attr | key | value | license | program | verifier log | key bytes | value bytes.
 */
class Scratch {
  readonly base: bigint;
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  static readonly ATTR = 0;
  static readonly KEY = 128;
  static readonly VALUE = 136;
  static readonly LICENSE = 144;
  static readonly PROG = 256;
  static readonly PROG_MAX = 4096 - 256;
  static readonly LOG = 4096;
  /** keys and values of any size (a per-CPU map's value is one copy per possible CPU) */
  static readonly BKEY = 4096 + LOG_SIZE;
  static readonly BVAL = Scratch.BKEY + 64;
  static readonly BVAL_MAX = 256 * 1024;
  static readonly SIZE = Scratch.BVAL + Scratch.BVAL_MAX;

  constructor() {
    const p = libc().mmap(null, Scratch.SIZE, PROT_RW, MAP_PRIVATE_ANON, -1, 0);
    if (mapFailed(p)) throw sysError('mmap(bpf scratch)');
    this.base = BigInt(koffi.address(p));
    this.bytes = new Uint8Array(viewMemory(p, Scratch.SIZE));
    this.dv = new DataView(this.bytes.buffer);
  }

  addr(off: number): bigint {
    return this.base + BigInt(off);
  }

  clearAttr(): void {
    this.bytes.fill(0, 0, ATTR_SIZE);
  }
}

let scratch: Scratch | undefined;
const sc = (): Scratch => (scratch ??= new Scratch());

function bpf(cmd: number, what: string): number {
  const r = Number(libc().syscall(SYS_bpf, cmd, sc().addr(Scratch.ATTR), ATTR_SIZE));
  if (r < 0) throw sysError(`bpf(${what})`);
  return r;
}

/** A new XSKMAP (key: queue index, value: AF_XDP socket fd) with `entries` slots. Returns its fd. */
export function createXskMap(entries: number, name = 'cnr_xsks'): number {
  const s = sc();
  s.clearAttr();
  s.dv.setUint32(0, BPF_MAP_TYPE_XSKMAP, true);
  s.dv.setUint32(4, 4, true); // key_size
  s.dv.setUint32(8, 4, true); // value_size
  s.dv.setUint32(12, entries, true); // max_entries
  for (let i = 0; i < Math.min(name.length, 15); i++) s.bytes[28 + i] = name.charCodeAt(i); // map_name
  return bpf(BPF_MAP_CREATE, 'BPF_MAP_CREATE XSKMAP');
}

/** A new map of `type` with keys and values of the given sizes. Returns its fd. */
export function createMap(type: number, keySize: number, valueSize: number, entries: number, name: string): number {
  const s = sc();
  s.clearAttr();
  s.dv.setUint32(0, type, true);
  s.dv.setUint32(4, keySize, true);
  s.dv.setUint32(8, valueSize, true);
  s.dv.setUint32(12, entries, true);
  for (let i = 0; i < Math.min(name.length, 15); i++) s.bytes[28 + i] = name.charCodeAt(i); // map_name
  return bpf(BPF_MAP_CREATE, `BPF_MAP_CREATE ${name}`);
}

function bytesAttr(mapFd: number, key: Uint8Array, value?: Uint8Array): Scratch {
  const s = sc();
  if (key.length > 64 || (value && value.length > Scratch.BVAL_MAX)) throw new Error(`bpf map key of ${key.length} or value of ${value?.length} bytes`);
  s.clearAttr();
  s.dv.setUint32(0, mapFd, true);
  s.dv.setBigUint64(8, s.addr(Scratch.BKEY), true);
  s.dv.setBigUint64(16, s.addr(Scratch.BVAL), true);
  s.bytes.set(key, Scratch.BKEY);
  if (value) s.bytes.set(value, Scratch.BVAL);
  return s;
}

/** map[key] = value, both as bytes (flags: BPF_ANY 0). */
export function mapUpdateBytes(mapFd: number, key: Uint8Array, value: Uint8Array): void {
  bytesAttr(mapFd, key, value);
  bpf(BPF_MAP_UPDATE_ELEM, 'BPF_MAP_UPDATE_ELEM');
}

/**
 * map[key] copied into `into` (for a per-CPU map: round_up(value size, 8) bytes per possible
 * CPU), or false when the key has no entry.
 */
export function mapLookupBytes(mapFd: number, key: Uint8Array, into: Uint8Array): boolean {
  const s = bytesAttr(mapFd, key);
  if (into.length > Scratch.BVAL_MAX) throw new Error(`bpf map value of ${into.length} bytes`);
  const r = Number(libc().syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, s.addr(Scratch.ATTR), ATTR_SIZE));
  if (r < 0) return false;
  into.set(s.bytes.subarray(Scratch.BVAL, Scratch.BVAL + into.length));
  return true;
}

function keyValueAttr(mapFd: number, key: number, value: number | null): Scratch {
  const s = sc();
  s.clearAttr();
  s.dv.setUint32(0, mapFd, true);
  s.dv.setBigUint64(8, s.addr(Scratch.KEY), true);
  s.dv.setBigUint64(16, s.addr(Scratch.VALUE), true);
  s.dv.setUint32(Scratch.KEY, key, true);
  s.dv.setUint32(Scratch.VALUE, value ?? 0, true);
  return s;
}

/** map[key] = value (for an XSKMAP: the socket fd for a queue). */
export function mapUpdate(mapFd: number, key: number, value: number): void {
  keyValueAttr(mapFd, key, value);
  bpf(BPF_MAP_UPDATE_ELEM, 'BPF_MAP_UPDATE_ELEM');
}

export function mapDelete(mapFd: number, key: number): void {
  keyValueAttr(mapFd, key, null);
  bpf(BPF_MAP_DELETE_ELEM, 'BPF_MAP_DELETE_ELEM');
}

/** map[key], or null when the key has no entry (an XSKMAP answers with the socket's inode... or refuses lookups from user space: EOPNOTSUPP). */
export function mapLookup(mapFd: number, key: number): number | null {
  const s = keyValueAttr(mapFd, key, null);
  const r = Number(libc().syscall(SYS_bpf, BPF_MAP_LOOKUP_ELEM, s.addr(Scratch.ATTR), ATTR_SIZE));
  if (r < 0) return null;
  return s.dv.getUint32(Scratch.VALUE, true);
}

/**
 * Load an XDP program; returns its fd. On refusal the verifier's log (asked for only after a
 * first failure, as libbpf does) is part of the error message. `frags`: declare it
 * multi-buffer aware (BPF_F_XDP_HAS_FRAGS), so frames longer than a page reach it whole.
 */
export function loadXdpProgram(code: Uint8Array, name = 'cnr_xsk', frags = false): number {
  return loadProgram(BPF_PROG_TYPE_XDP, code, name, { attachType: BPF_XDP, flags: frags ? BPF_F_XDP_HAS_FRAGS : 0 });
}

/**
 * Load a program of `type` (BPF_PROG_TYPE_*); returns its fd. On refusal the verifier's log
 * (asked for only after a first failure, as libbpf does) is part of the error message.
 */
export function loadProgram(type: number, code: Uint8Array, name: string, opts: { attachType?: number; flags?: number } = {}): number {
  const s = sc();
  if (code.length > Scratch.PROG_MAX || code.length % 8 !== 0) throw new Error(`bpf program of ${code.length} bytes`);
  s.bytes.set(code, Scratch.PROG);
  const license = 'GPL\0';
  for (let i = 0; i < license.length; i++) s.bytes[Scratch.LICENSE + i] = license.charCodeAt(i);
  const attempt = (logLevel: number): number => {
    s.clearAttr();
    s.dv.setUint32(0, type, true);
    s.dv.setUint32(4, code.length / 8, true); // insn_cnt
    s.dv.setBigUint64(8, s.addr(Scratch.PROG), true); // insns
    s.dv.setBigUint64(16, s.addr(Scratch.LICENSE), true); // license
    if (opts.flags) s.dv.setUint32(44, opts.flags, true); // prog_flags
    if (logLevel > 0) {
      s.bytes.fill(0, Scratch.LOG, Scratch.LOG + LOG_SIZE);
      s.dv.setUint32(24, logLevel, true); // log_level
      s.dv.setUint32(28, LOG_SIZE, true); // log_size
      s.dv.setBigUint64(32, s.addr(Scratch.LOG), true); // log_buf
    }
    for (let i = 0; i < Math.min(name.length, 15); i++) s.bytes[48 + i] = name.charCodeAt(i); // prog_name
    if (opts.attachType !== undefined) s.dv.setUint32(68, opts.attachType, true); // expected_attach_type: lets BPF_LINK_CREATE take it too
    return Number(libc().syscall(SYS_bpf, BPF_PROG_LOAD, s.addr(Scratch.ATTR), ATTR_SIZE));
  };
  const fd = attempt(0);
  if (fd >= 0) return fd;
  const first = sysError(`bpf(BPF_PROG_LOAD ${PROG_TYPE_NAMES[type] ?? type} ${name})`);
  const again = attempt(1);
  if (again >= 0) return again; // a transient refusal: the second attempt loaded it
  const end = s.bytes.indexOf(0, Scratch.LOG);
  const log = new TextDecoder().decode(s.bytes.subarray(Scratch.LOG, end < 0 ? Scratch.LOG + LOG_SIZE : end)).trim();
  first.message += log ? `; verifier log:\n${log}` : ' (no verifier log)';
  throw first;
}

/**
 * Attach an XDP program to a netdev as a BPF link (Linux 5.9+): the returned link fd holds
 * the attachment, and closing it, or the process dying, detaches the program. `flags` are
 * the XDP_FLAGS_*_MODE bits. Refused with EBUSY when another program is attached.
 */
export function linkCreateXdp(progFd: number, ifindex: number, flags: number): number {
  const s = sc();
  s.clearAttr();
  s.dv.setUint32(0, progFd, true); // prog_fd
  s.dv.setUint32(4, ifindex, true); // target_ifindex
  s.dv.setUint32(8, BPF_XDP, true); // attach_type
  s.dv.setUint32(12, flags, true); // flags
  return bpf(BPF_LINK_CREATE, `BPF_LINK_CREATE XDP ifindex ${ifindex}`);
}

/**
 * Attach a BPF_PROG_TYPE_SCHED_CLS program to a netdev's ingress as a TCX link (Linux 6.6+),
 * after any programs already there: no qdisc, and closing the returned link fd, or the
 * process dying, detaches it.
 */
export function linkCreateTcxIngress(progFd: number, ifindex: number): number {
  const s = sc();
  s.clearAttr();
  s.dv.setUint32(0, progFd, true); // prog_fd
  s.dv.setUint32(4, ifindex, true); // target_ifindex
  s.dv.setUint32(8, BPF_TCX_INGRESS, true); // attach_type
  return bpf(BPF_LINK_CREATE, `BPF_LINK_CREATE TCX ingress ifindex ${ifindex}`);
}

/**
 * Run a loaded program once on `data` (BPF_PROG_TEST_RUN): its return value and the packet as
 * the program left it. For a TC program the data starts at the Ethernet header; nothing is
 * sent (a redirect only returns its verdict).
 */
export function testRun(progFd: number, data: Uint8Array): { retval: number; out: Uint8Array } {
  const s = sc();
  if (data.length * 2 + 64 > Scratch.BVAL_MAX) throw new Error(`bpf test run of ${data.length} bytes`);
  const inAt = Scratch.BVAL;
  const outAt = Scratch.BVAL + data.length + 64;
  s.bytes.set(data, inAt);
  s.clearAttr();
  s.dv.setUint32(0, progFd, true); // prog_fd
  s.dv.setUint32(8, data.length, true); // data_size_in
  s.dv.setUint32(12, data.length + 64, true); // data_size_out
  s.dv.setBigUint64(16, s.addr(inAt), true); // data_in
  s.dv.setBigUint64(24, s.addr(outAt), true); // data_out
  s.dv.setUint32(32, 1, true); // repeat
  bpf(BPF_PROG_TEST_RUN, 'BPF_PROG_TEST_RUN');
  const retval = s.dv.getInt32(4, true);
  const n = s.dv.getUint32(12, true);
  return { retval, out: s.bytes.slice(outAt, outAt + n) };
}
