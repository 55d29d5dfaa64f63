/**
 * TCP reachability probes for filter tests: a server answering on a few ports (IPv4 and IPv6,
 * one dual-stack socket per port) and a client that says how a connect went: 'ok', 'timeout'
 * (dropped somewhere) or the errno's name (EHOSTUNREACH for an ICMP administratively
 * prohibited, ECONNREFUSED, ...). Python in the namespaces, bounded by timeouts.
 */
import type { NetnsLab } from './netns.js';
import { waitForLine } from './netns.js';

/** A server in `ns` that accepts on every port of `ports` and answers 'ok'; killed by the lab's cleanup. */
export async function tcpServer(lab: NetnsLab, ns: string, ports: number[]): Promise<void> {
  const server = lab.spawn(ns, ['/usr/bin/python3', '-c', [
    'import socket, select',
    'ls = []',
    `for port in (${ports.join(', ')},):`,
    '    s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
    '    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(("::", port)); s.listen(16); ls.append(s)',
    "print('listening', flush=True)",
    'while True:',
    '    for s in select.select(ls, [], [])[0]:',
    "        c, a = s.accept(); c.sendall(b'ok'); c.close()",
  ].join('\n')]);
  await waitForLine(server, /listening/, 10_000);
}

/** A connect from `ns` to `to`:`port` (from address `from` if given): 'ok', 'timeout', or the errno's name. */
export function tcpConnect(lab: NetnsLab, ns: string, to: string, port: number, opts: { timeoutS?: number; from?: string } = {}): string {
  const family = to.includes(':') ? 'socket.AF_INET6' : 'socket.AF_INET';
  return lab.run(ns, ['/usr/bin/python3', '-c', [
    'import socket, errno',
    `s = socket.socket(${family}); s.settimeout(${opts.timeoutS ?? 1.5})`,
    ...(opts.from ? [`s.bind(('${opts.from}', 0))`] : []),
    'try:',
    `    s.connect(('${to}', ${port})); print(s.recv(10).decode() or 'closed')`,
    "except socket.timeout: print('timeout')",
    'except OSError as e: print(errno.errorcode.get(e.errno, str(e)))',
  ].join('\n')], { allowFail: true, timeout: 10_000 }).trim();
}
