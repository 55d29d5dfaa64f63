/**
 * IS-IS's transport through the vRouter, end to end on real veths: OSI frames (802.3, LLC
 * 0xFE/0xFE) sent by a host's kernel reach a FramePort listener in the controller with the
 * name of the interface they arrived on, and frames sent through the port leave the chosen
 * interface byte for byte (read by an AF_PACKET socket on the far end); frames the data plane
 * cannot send are refused and counted, not fatal. Both layouts: `cnr start` (one process) and
 * `cnr controller` beside `cnr vrouter` (two), each through the agent's Frames stream.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { NetnsLab, needsRoot, numberedHost, stopChild, waitForLine } from '../lib/netns.js';
import { until } from '../lib/traffic.js';

const skip = needsRoot();
const lab = new NetnsLab('fport');
const cnrBin = fileURLToPath(new URL('../../../bin/cnr', import.meta.url));
const child = fileURLToPath(new URL('./frame-port-child.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), `cnr-fport-${process.pid}-`));
const CONFIG = `
set interfaces r1 unit 0 family inet address 10.1.0.1/24
set interfaces r2 unit 0 family inet address 10.2.0.1/24
`;
const ALL_L2_ISS = '0180c2000015';
const PY = '/usr/bin/python3';
let r = '';
let h1 = '';
let h2 = '';

/** An 802.3 frame with the OSI LLC header and an IS-IS-looking PDU of n bytes (byte 0: the IS-IS discriminator 0x83). */
function osiFrame(srcMac: string, n: number, seed: number): string {
  const pdu = Buffer.from(Array.from({ length: n }, (_, k) => (k === 0 ? 0x83 : (k * 31 + seed) & 255)));
  const len = Buffer.alloc(2);
  len.writeUInt16BE(3 + n);
  return ALL_L2_ISS + srcMac.replace(/:/g, '') + len.toString('hex') + 'fefe03' + pdu.toString('hex');
}

/** Send raw frames (hex) out of a host's eth0 through an AF_PACKET socket. */
function sendRaw(ns: string, ...hex: string[]): void {
  const py = `import socket,sys\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\ns.bind(('eth0',0))\nfor h in sys.argv[1:]: s.send(bytes.fromhex(h))`;
  lab.run(ns, [PY, '-c', py, ...hex]);
}

/** An AF_PACKET reader on a host's eth0 printing every received OSI frame as hex, for up to `seconds`. */
function startReader(ns: string, seconds: number): { proc: ChildProcess; frames: () => string[] } {
  const py = `import socket,select,time,sys\ns=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.htons(3))\ns.bind(('eth0',0))\nprint('reading',flush=True)\nend=time.time()+${seconds}\nwhile time.time()<end:\n  r,_,_=select.select([s],[],[],0.2)\n  if not r: continue\n  f,a=s.recvfrom(65535)\n  if a[2]==4: continue\n  if len(f)>16 and f[14]==0xfe and f[15]==0xfe: print(f.hex(),flush=True)`;
  const proc = lab.spawn(ns, [PY, '-u', '-c', py]);
  const out = lines(proc);
  return { proc, frames: () => out.filter((l) => /^[0-9a-f]+$/.test(l)) };
}

function macOf(ns: string): string {
  return lab.run(ns, ['cat', '/sys/class/net/eth0/address']).trim();
}

/** A child's stdout as lines, collected as they come. */
function lines(c: ChildProcess): string[] {
  const out: string[] = [];
  let buf = '';
  c.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const ls = buf.split('\n');
    buf = ls.pop()!;
    out.push(...ls);
  });
  return out;
}

before(() => {
  if (skip) return;
  ({ router: r, hosts: [h1, h2] } = lab.topology({ router: 'r', hosts: [numberedHost(1), numberedHost(2)] }));
  writeFileSync(join(dir, 'router.set'), CONFIG);
});

after(async () => {
  await lab.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

for (const mode of ['single', 'split'] as const) {
  test(`OSI frames reach the frame port per interface and leave through the chosen one (${mode === 'single' ? 'cnr start' : 'cnr controller + cnr vrouter'})`, { skip, timeout: 60_000 }, async () => {
    const procs: ChildProcess[] = [];
    const stateDir = mkdtempSync(join(dir, `state-${mode}-`));
    try {
      const agent = mode === 'single' ? '127.0.0.1:0' : '127.0.0.1:50062';
      if (mode === 'split') {
        const vr = lab.spawn(r, [process.execPath, cnrBin, 'vrouter', '--no-vhost', '--agent-address', agent, '--introspect', 'none', '--health', 'none']);
        procs.push(vr);
        await waitForLine(vr, /agent on port 50062/, 20_000);
      }
      const c = lab.spawn(r, [process.execPath, child, mode, agent, join(dir, 'router.set'), stateDir]);
      procs.push(c);
      const out = lines(c);
      let err = '';
      c.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const has = (re: RegExp) => out.find((l) => re.test(l));
      // the child's output as it is when the wait fails (a template in the label would be read at the start)
      await until('both interfaces up at the frame port', 20_000, () => has(/^link r1 up /) && has(/^link r2 up /)).catch((e: Error) => {
        throw new Error(`${e.message} (stdout ${out.join(' | ')} stderr ${err})`);
      });
      const mac1 = has(/^link r1 up /)!.split(' ')[3]!;
      assert.match(mac1, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      assert.notEqual(mac1, '00:00:00:00:00:00');

      // host -> controller, on each interface: the frame as sent, with its interface's name
      const f1 = osiFrame(macOf(h1), 80, 1);
      const f2 = osiFrame(macOf(h2), 1400, 2);
      sendRaw(h1, f1);
      sendRaw(h2, f2);
      await until('both frames at the frame port', 10_000, () => has(/^frame r1 /) && has(/^frame r2 /));
      assert.equal(has(/^frame r1 /), `frame r1 ${f1}`);
      assert.equal(has(/^frame r2 /), `frame r2 ${f2}`);
      // an IPv4-less, non-OSI 802.3 frame (SNAP) is not the port's
      sendRaw(h1, ALL_L2_ISS + macOf(h1).replace(/:/g, '') + '0030' + 'aa'.repeat(48));

      // controller -> host: out of the chosen interface only, byte for byte
      const reader1 = startReader(h1, 15);
      const reader2 = startReader(h2, 15);
      procs.push(reader1.proc, reader2.proc);
      await waitForLine(reader1.proc, /^reading/, 5000).catch(() => {});
      await new Promise((res) => setTimeout(res, 300));
      const o1 = osiFrame(mac1, 200, 3);
      c.stdin!.write(`send r1 ${o1}\n`);
      await until('the sent frame on h1', 10_000, () => reader1.frames().includes(o1));
      assert.ok(has(/^sent r1 true$/));
      assert.deepEqual(reader2.frames(), [], 'nothing out of r2');

      // refused, never fatal: too short (the port says no), too long and unknown (the agent refuses, counted)
      c.stdin!.write(`send r1 ${o1.slice(0, 20)}\nsend r1 ${osiFrame(mac1, 1600, 4)}\nsend nosuch ${o1}\n`);
      await until('the short frame refused by the port', 5000, () => has(/^sent r1 false$/));
      assert.ok(has(/^sent nosuch false$/), 'an interface the agent never reported: false at once');
      await new Promise((res) => setTimeout(res, 500));
      c.stdin!.write('stats\n');
      const stats = JSON.parse((await until('stats', 5000, () => has(/^stats /))).slice(6)) as { refused: number; received: number; unclaimed: number };
      assert.equal(stats.refused, 1, 'the oversize frame refused by the data plane');
      assert.equal(stats.received, 2, 'the SNAP frame was not punted');
      // the forwarding still works after all of it
      const again = osiFrame(macOf(h1), 60, 5);
      sendRaw(h1, again);
      await until('a later frame still arrives', 10_000, () => has(new RegExp(`^frame r1 ${again}$`)));
    } finally {
      for (const p of procs.reverse()) await stopChild(p, 3000);
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
}
