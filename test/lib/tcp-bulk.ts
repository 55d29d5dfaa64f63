/**
 * A TCP bulk transfer between two lab namespaces, both ways on one connection, with the
 * kernels' default offloads (what real neighbours do: 64 KiB TSO/GSO super-frames on veths).
 * The server (in `serverNs`, bound to `addr`) first receives `bytes` from the client, then
 * sends `bytes` back; each side checks every byte against a repeating pattern, so a lost,
 * duplicated or reordered segment that TCP failed to repair shows up as a mismatch.
 */
import { stopChild, waitForLine, type NetnsLab } from './netns.js';

/** Python that sends `bytes` (a multiple of 64 KiB) of a repeating pattern on socket c and shuts its sending side. */
const SEND = (bytes: number) => `
pat = bytes(range(256)) * 256
for _ in range(${bytes} // len(pat)):
    c.sendall(pat)
c.shutdown(socket.SHUT_WR)`;

/** Python that reads socket c to EOF into `got` (a byte count) and `ok` (every byte followed the pattern). */
const RECEIVE = `
pat = bytes(range(256)) * 4097
got = 0
ok = True
while True:
    b = c.recv(1 << 20)
    if not b:
        break
    ok = ok and b == pat[got & 255:(got & 255) + len(b)]
    got += len(b)`;

export interface TcpBulkResult {
  /** bytes the server received and whether they were all in order */
  upBytes: number;
  upOk: boolean;
  /** bytes the client received back */
  downBytes: number;
  downOk: boolean;
  /** seconds each direction took, measured by its receiver */
  upSeconds: number;
  downSeconds: number;
}

/** What tcpBulk needs of a lab: NetnsLab has it, and the benchmarks adapt the interop harness's Lab to it. */
export type BulkLab = Pick<NetnsLab, 'spawn' | 'run'>;

export async function tcpBulk(lab: BulkLab, serverNs: string, clientNs: string, addr: string, port: number, bytes: number, timeoutS = 40): Promise<TcpBulkResult> {
  if (bytes % 65536 !== 0) throw new Error('tcpBulk: bytes must be a multiple of 64 KiB');
  const af = addr.includes(':') ? 'socket.AF_INET6' : 'socket.AF_INET';
  const server = lab.spawn(serverNs, ['python3', '-c', [
    'import socket, time',
    `s = socket.socket(${af}); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)`,
    `s.bind(("${addr}", ${port})); s.listen(1); print("listening", flush=True)`,
    `s.settimeout(${timeoutS}); c, _ = s.accept(); c.settimeout(${timeoutS})`,
    't = time.time()',
    RECEIVE,
    'print("up", got, ok, round(time.time() - t, 3), flush=True)',
    SEND(bytes),
    'c.close()',
  ].join('\n')]);
  try {
    await waitForLine(server, /listening/, 10000);
    const client = lab.run(clientNs, ['python3', '-c', [
      'import socket, time',
      `c = socket.create_connection(("${addr}", ${port}), timeout=${timeoutS})`,
      SEND(bytes),
      't = time.time()',
      RECEIVE,
      'print("down", got, ok, round(time.time() - t, 3), flush=True)',
    ].join('\n')], { timeout: (timeoutS + 5) * 1000 });
    const up = (await waitForLine(server, /^up /, 5000)).trim().split(' ');
    const down = client.trim().split('\n').pop()!.split(' ');
    return { upBytes: Number(up[1]), upOk: up[2] === 'True', upSeconds: Number(up[3]), downBytes: Number(down[1]), downOk: down[2] === 'True', downSeconds: Number(down[3]) };
  } finally {
    await stopChild(server, 2000);
  }
}
