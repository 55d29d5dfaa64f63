import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assemble, call, createXskMap, exit, ldMapFd, ldxMem, loadXdpProgram, mapUpdate, movImm, xskRedirectProgram } from './bpf.js';
import { setlinkXdpMessage, XDP_FLAGS_DRV_MODE, XDP_FLAGS_REPLACE, XDP_FLAGS_SKB_MODE, XDP_FLAGS_UPDATE_IF_NOEXIST } from './xdp-attach.js';

const isRoot = process.getuid?.() === 0;
const rootOnly = isRoot ? false : 'needs root (bpf(2) and AF_XDP sockets); skipped';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('assembler: each instruction encodes as struct bpf_insn (golden bytes)', () => {
  assert.equal(hex(assemble(ldxMem('w', 2, 1, 16))), '6112100000000000'); // r2 = *(u32 *)(r1 + 16)
  assert.equal(hex(assemble(ldxMem('dw', 0, 10, -8))), '79a0f8ff00000000'); // r0 = *(u64 *)(r10 - 8): src in the high nibble
  assert.equal(hex(assemble(movImm(3, 2))), 'b703000002000000'); // r3 = 2
  assert.equal(hex(assemble(movImm(0, -1))), 'b7000000ffffffff');
  assert.equal(hex(assemble(ldMapFd(1, 0x1234))), '18110000341200000000000000000000'); // ld_imm64 r1, map fd, src = BPF_PSEUDO_MAP_FD
  assert.equal(hex(assemble(call(51))), '8500000033000000');
  assert.equal(hex(assemble(exit())), '9500000000000000');
  assert.throws(() => assemble(movImm(11, 0)), /bad register/);
});

test('the XSK redirect program (golden): queue index, map, XDP_PASS fallback, bpf_redirect_map, exit', () => {
  const p = xskRedirectProgram(7);
  assert.equal(p.length, 6 * 8);
  assert.equal(hex(p), '6112100000000000' + '1811000007000000' + '0000000000000000' + 'b703000002000000' + '8500000033000000' + '9500000000000000');
});

test('RTM_SETLINK IFLA_XDP message (golden)', () => {
  const m = setlinkXdpMessage(5, 9, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, undefined, 42);
  assert.equal(
    hex(m),
    '34000000' + '1300' + '0500' + '2a000000' + '00000000' + // nlmsghdr: len 52, RTM_SETLINK, REQUEST|ACK, seq 42
      '00000000' + '05000000' + '00000000' + '00000000' + // ifinfomsg: ifindex 5
      '14002b80' + '08000100' + '09000000' + '08000300' + '05000000', // IFLA_XDP|NESTED { FD 9, FLAGS DRV|NOEXIST }
  );
  const d = setlinkXdpMessage(5, -1, XDP_FLAGS_SKB_MODE | XDP_FLAGS_REPLACE, 9);
  assert.equal(d.length, 60);
  assert.equal(hex(d.subarray(36)), '08000100ffffffff' + '0800030012000000' + '0800080009000000'); // FD -1, FLAGS SKB|REPLACE, EXPECTED_FD 9
});

test('the verifier accepts the program; the XSKMAP takes a bound AF_XDP socket and refuses other fds', { skip: rootOnly }, async () => {
  const { libc, closeFd } = await import('../../sys/libc.js');
  const { openXskSocket } = await import('./af-xdp.js');
  const map = createXskMap(4);
  const prog = loadXdpProgram(xskRedirectProgram(map));
  const unbound = libc().socket(44, 3 | 0x80000, 0);
  const udp = libc().socket(2, 2 | 0x80000, 0);
  // bound to the loopback's queue 0 in copy mode: harmless, nothing redirects to it
  const xsk = openXskSocket('lo', 1, 0, 64, 64);
  try {
    assert.ok(map >= 0 && prog >= 0);
    assert.ok(unbound >= 0, 'AF_XDP socket');
    mapUpdate(map, 0, xsk.fd);
    mapUpdate(map, 3, xsk.fd);
    // a socket of another family is refused (an unbound AF_XDP socket is taken: it just never receives)
    assert.throws(() => mapUpdate(map, 1, udp), /BPF_MAP_UPDATE_ELEM\): Operation not supported/);
    // the key must be a queue index inside the map
    assert.throws(() => mapUpdate(map, 4, xsk.fd), /BPF_MAP_UPDATE_ELEM/);
    // the rings are mapped and the fill ring holds every RX chunk
    assert.equal(xsk.fill.w[xsk.fill.prod], 64);
    assert.equal(xsk.rx.mask, 63);
  } finally {
    xsk.close();
    for (const fd of [prog, map, unbound, udp]) closeFd(fd);
  }
});

test('a program the verifier refuses fails with its log in the error', { skip: rootOnly }, () => {
  // exit without setting r0
  assert.throws(() => loadXdpProgram(assemble(exit())), /BPF_PROG_LOAD XDP cnr_xsk\): .*verifier log:[\s\S]*R0 !read_ok/);
  // reading past the end of xdp_md
  assert.throws(() => loadXdpProgram(assemble([...ldxMem('w', 0, 1, 4000), ...exit()])), /verifier log:[\s\S]*invalid bpf_context access/);
});
