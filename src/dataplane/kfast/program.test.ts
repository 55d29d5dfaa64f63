import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alu, assemble, ja, jmp, label, stMem, stxMem, toBe, zext32, movImm, exit } from '../io/bpf.js';

const isRoot = process.getuid?.() === 0;
const rootOnly = isRoot ? false : 'needs root (bpf(2): maps, program load, BPF_PROG_TEST_RUN); skipped';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('assembler: stores, ALU, byte swap and 32-bit jumps encode as struct bpf_insn (golden bytes)', () => {
  assert.equal(hex(assemble(stxMem('h', 8, 10, 2))), '6b280a0000000000'); // *(u16 *)(r8 + 10) = r2
  assert.equal(hex(assemble(stMem('w', 10, -8, 3))), '620af8ff03000000'); // *(u32 *)(r10 - 8) = 3
  assert.equal(hex(assemble(alu('rsh', 3, 32))), '7703000020000000');
  assert.equal(hex(assemble(alu('and', 2, 0xffff))), '57020000ffff0000');
  assert.equal(hex(assemble(toBe(2, 16))), 'dc02000010000000');
  assert.equal(hex(assemble(zext32(2))), 'bc22000000000000'); // w2 = w2
});

test('assembler: a jump names its label; the offset counts the instructions between (labels take no slot)', () => {
  const code = assemble([...jmp('ne', 2, 0x45, 'out'), ...movImm(0, 1), ...label('mid'), ...ja('out'), ...movImm(0, 2), ...label('out'), ...exit()]);
  assert.equal(code.length, 5 * 8);
  assert.equal(hex(code.subarray(0, 8)), '5602030045000000'); // JMP32 JNE r2, 0x45, +3
  assert.equal(hex(code.subarray(16, 24)), '0500010000000000'); // JA +1
  assert.throws(() => assemble(ja('nowhere')), /no label nowhere/);
  assert.throws(() => assemble([...label('back'), ...movImm(0, 0), ...ja('back')]), /jump back/);
  assert.throws(() => assemble([...label('x'), ...label('x')]), /defined twice/);
});

/** An IPv4/UDP frame from 10.1.0.2 to dst for MAC `to`, with a good header checksum unless said. */
function frame(opts: { to?: number[]; dst?: number[]; ttl?: number; ihl?: number; type?: number; len?: number; tot?: number; badSum?: boolean; id?: number; tos?: number; src?: number[] } = {}): Uint8Array {
  const len = opts.len ?? 60;
  const f = new Uint8Array(len);
  f.set(opts.to ?? VIF_MAC, 0);
  f.set([0x02, 0, 0, 0, 0, 0x99], 6);
  const ty = opts.type ?? 0x0800;
  f[12] = ty >> 8;
  f[13] = ty & 255;
  const ip = 14;
  const ihl = opts.ihl ?? 5;
  f[ip] = 0x40 | ihl;
  f[ip + 1] = opts.tos ?? 0;
  const tot = opts.tot ?? len - 14;
  f[ip + 2] = tot >> 8;
  f[ip + 3] = tot & 255;
  const id = opts.id ?? 0x1234;
  f[ip + 4] = id >> 8;
  f[ip + 5] = id & 255;
  f[ip + 8] = opts.ttl ?? 64;
  f[ip + 9] = 17;
  f.set(opts.src ?? [10, 1, 0, 2], ip + 12);
  f.set(opts.dst ?? DST, ip + 16);
  const sum = headerSum(f, ip, ihl * 4);
  const c = ~sum & 0xffff;
  f[ip + 10] = c >> 8;
  f[ip + 11] = (c & 255) ^ (opts.badSum ? 1 : 0);
  return f;
}

function headerSum(f: Uint8Array, at: number, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k += 2) s += (f[at + k]! << 8) | f[at + k + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** An IPv6/UDP frame from 2001:db8:1::2 to dst6 for the vif's MAC */
function frame6(opts: { dst?: number[]; hop?: number; next?: number; len?: number; payload?: number; version?: number } = {}): Uint8Array {
  const len = opts.len ?? 80;
  const f = new Uint8Array(len);
  f.set(VIF_MAC, 0);
  f.set([0x02, 0, 0, 0, 0, 0x99], 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  f[14] = (opts.version ?? 6) << 4;
  const pl = opts.payload ?? len - 54;
  f[18] = pl >> 8;
  f[19] = pl & 255;
  f[20] = opts.next ?? 17;
  f[21] = opts.hop ?? 64;
  f.set([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 22);
  f.set(opts.dst ?? DST6, 38);
  return f;
}

const DST6 = [0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
const VIF = 3;
const VIF_MAC = [0x02, 0xcc, 0, 0, 0, 0x03];
const DST = [10, 2, 0, 9];
const REWRITE = [0x02, 0, 0, 0, 0x0b, 0x0b, 0x02, 0xcc, 0, 0, 0, 0x04]; // next hop's MAC, out vif's MAC
const EPOCH = 5;
const OUT_MTU = 1000;


test('the TC program forwards exactly the packets it should, and rewrites them as the kernel would (BPF_PROG_TEST_RUN)', { skip: rootOnly }, async () => {
  const bpf = await import('../io/bpf.js');
  const { closeFd } = await import('../../sys/libc.js');
  const { possibleCpus } = await import('./kfast.js');
  const { CACHE6_KEY, CACHE_KEY, CACHE_VALUE, COUNTER_VALUE, EPOCH6, EPOCH_SLOTS, EPOCHS_BYTES, socketFilter, tcProgram } = await import('./program.js');
  const maps = {
    cache: bpf.createMap(bpf.BPF_MAP_TYPE_LRU_HASH, CACHE_KEY, CACHE_VALUE, 64, 'cnr_t_fast4'),
    cache6: bpf.createMap(bpf.BPF_MAP_TYPE_LRU_HASH, CACHE6_KEY, CACHE_VALUE, 64, 'cnr_t_fast6'),
    epoch: bpf.createMap(bpf.BPF_MAP_TYPE_ARRAY, 4, EPOCHS_BYTES, 1, 'cnr_t_epoch'),
    counters: bpf.createMap(bpf.BPF_MAP_TYPE_PERCPU_ARRAY, 4, COUNTER_VALUE, 16 + 4, 'cnr_t_ctr'),
  };
  const facts = { vif: VIF, mac: Uint8Array.from(VIF_MAC), mtu: 1500, maxVifs: 16 };
  const tc = bpf.loadProgram(bpf.BPF_PROG_TYPE_SCHED_CLS, tcProgram(maps, facts), 'cnr_t_tc');
  // the socket filter's checks are the same instructions; the verifier must take it too
  const sk = bpf.loadProgram(bpf.BPF_PROG_TYPE_SOCKET_FILTER, socketFilter(maps, facts), 'cnr_t_sk');
  const u32 = (...v: number[]): Uint8Array => {
    const b = new Uint8Array(v.length * 4);
    const dv = new DataView(b.buffer);
    v.forEach((x, k) => {
      dv.setUint32(k * 4, x, true);
    });
    return b;
  };
  /** every epoch e, but that of the IPv4 destination's /8 (10/8) at `own` and IPv6's at `six` */
  const setEpoch = (e: number, own = e, six = e): void => bpf.mapUpdateBytes(maps.epoch, u32(0), u32(...Array.from({ length: EPOCH_SLOTS }, (_, k) => (k === DST[0] ? own : k === EPOCH6 ? six : e))));
  const key = new Uint8Array([...u32(VIF), ...DST]);
  const value = new Uint8Array(CACHE_VALUE);
  value.set(u32(EPOCH, 1, 4, 2, OUT_MTU), 0); // epoch, out ifindex (lo), out vif, VRF, MTU
  value.set(REWRITE, 20);
  bpf.mapUpdateBytes(maps.cache, key, value);
  bpf.mapUpdateBytes(maps.cache6, new Uint8Array([...u32(VIF), ...DST6]), value);
  setEpoch(EPOCH);
  const TC_ACT_REDIRECT = 7;
  const NEXT = -1;
  try {
    // data-driven: each case a frame and the verdict
    const cases: [string, Uint8Array, number][] = [
      ['a plain packet to a cached destination', frame(), TC_ACT_REDIRECT],
      ['another destination', frame({ dst: [10, 2, 0, 10] }), NEXT],
      ['a bad header checksum', frame({ badSum: true }), NEXT],
      ['TTL 1 (the vRouter sends time exceeded)', frame({ ttl: 1 }), NEXT],
      ['TTL 0', frame({ ttl: 0 }), NEXT],
      ['IP options (IHL 6)', frame({ ihl: 6 }), NEXT],
      ['for another MAC', frame({ to: [0x02, 0xcc, 0, 0, 0, 0x07] }), NEXT],
      ['broadcast', frame({ to: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] }), NEXT],
      ['ARP', frame({ type: 0x0806 }), NEXT],
      ['IPv6', frame({ type: 0x86dd }), NEXT],
      ['a VLAN tag in the frame', frame({ type: 0x8100 }), NEXT],
      ['total length beyond the frame', frame({ tot: 60 }), NEXT],
      ['total length below a header', frame({ tot: 19 }), NEXT],
      ['a frame above the out MTU', frame({ len: 14 + OUT_MTU + 1 }), NEXT],
      ['a frame at the out MTU', frame({ len: 14 + OUT_MTU }), TC_ACT_REDIRECT],
      // (a shorter one the program cannot read: the verifier refuses it without its bounds check)
      ['a frame of just an IPv4 header (34 bytes)', frame({ len: 34 }), TC_ACT_REDIRECT],
      ['IPv6 to a cached destination', frame6(), TC_ACT_REDIRECT],
      ['IPv6, another destination', frame6({ dst: [...DST6.slice(0, 15), 10] }), NEXT],
      ['IPv6, hop limit 1', frame6({ hop: 1 }), NEXT],
      ['IPv6, version 4 in an IPv6 frame', frame6({ version: 4 }), NEXT],
      ...[0, 43, 44, 60, 51].map((nx): [string, Uint8Array, number] => [`IPv6 with extension header ${nx}`, frame6({ next: nx }), NEXT]),
      ['IPv6, ICMPv6 (not an extension header)', frame6({ next: 58 }), TC_ACT_REDIRECT],
      ['IPv6, payload length beyond the frame', frame6({ payload: 27 }), NEXT],
      ['IPv6, a frame above the out MTU', frame6({ len: 14 + OUT_MTU + 1 }), NEXT],
    ];
    for (const [what, f, want] of cases) {
      let r: { retval: number; out: Uint8Array };
      try {
        r = bpf.testRun(tc, f);
      } catch (e) {
        throw new Error(`${what}: ${(e as Error).message}`);
      }
      assert.equal(r.retval, want, what);
      if (want === NEXT) assert.deepEqual(r.out, f, `${what}: left as it came`);
    }
    // the rewrite: MACs, TTL - 1, a checksum the next hop accepts, nothing else touched
    const f = frame();
    const r = bpf.testRun(tc, f);
    assert.deepEqual([...r.out.subarray(0, 12)], REWRITE);
    assert.equal(r.out[22], 63);
    assert.equal(headerSum(r.out, 14, 20), 0xffff, 'the header checksum verifies');
    assert.deepEqual(r.out.subarray(12, 22), f.subarray(12, 22));
    assert.deepEqual(r.out.subarray(26), f.subarray(26));
    // the incremental update over many headers, its wrap-around among them
    for (let k = 0; k < 3000; k++) {
      const g = frame({ ttl: 2 + (k % 254), id: (k * 7919) & 0xffff, tos: k & 0xfc, src: [10, (k >> 8) & 255, k & 255, 2] });
      const o = bpf.testRun(tc, g).out;
      assert.equal(o[22], g[22]! - 1);
      assert.equal(headerSum(o, 14, 20), 0xffff, `header ${k}: ${hex(g.subarray(14, 34))} -> ${hex(o.subarray(14, 34))}`);
    }
    // IPv6: hop limit - 1, the MACs, nothing else
    const f6 = frame6();
    const r6 = bpf.testRun(tc, f6);
    assert.deepEqual([...r6.out.subarray(0, 12)], REWRITE);
    assert.equal(r6.out[21], 63);
    assert.deepEqual(r6.out.subarray(12, 21), f6.subarray(12, 21));
    assert.deepEqual(r6.out.subarray(22), f6.subarray(22));
    // an entry of an earlier epoch of its /8 is dead; other /8s' epochs do not matter
    setEpoch(EPOCH, EPOCH + 1);
    assert.equal(bpf.testRun(tc, frame()).retval, NEXT, 'stale epoch');
    assert.equal(bpf.testRun(tc, frame6()).retval, TC_ACT_REDIRECT, 'an IPv4 /8 changed: IPv6 entries stay current');
    setEpoch(EPOCH + 7, EPOCH);
    assert.equal(bpf.testRun(tc, frame()).retval, TC_ACT_REDIRECT, 'another /8 changed: still current');
    assert.equal(bpf.testRun(tc, frame6()).retval, NEXT, 'IPv6 epoch changed');
    setEpoch(EPOCH + 7, EPOCH, EPOCH);
    assert.equal(bpf.testRun(tc, frame6()).retval, TC_ACT_REDIRECT);
    // counters: the in vif's rx, the out vif's tx, the VRF's, summed over the CPUs
    const cpus = possibleCpus();
    const read = (k: number): bigint[] => {
      const v = new Uint8Array(COUNTER_VALUE * cpus);
      assert.ok(bpf.mapLookupBytes(maps.counters, u32(k), v));
      const dv = new DataView(v.buffer);
      const s = [0n, 0n, 0n, 0n];
      for (let c = 0; c < cpus; c++) for (let j = 0; j < 4; j++) s[j]! += dv.getBigUint64(c * COUNTER_VALUE + j * 8, true);
      return s;
    };
    const forwarded = 5 + 1 + 3000 + 1 + 1 + 1 + 1; // the redirect verdicts above
    const rx = read(VIF);
    assert.equal(rx[0], BigInt(forwarded));
    assert.equal(read(4)[2], BigInt(forwarded), 'out vif tx packets');
    assert.equal(read(16 + 2)[0], BigInt(forwarded), 'VRF packets');
  } finally {
    for (const fd of [tc, sk, ...Object.values(maps)]) closeFd(fd);
  }
});
