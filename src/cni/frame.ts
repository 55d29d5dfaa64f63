/**
 * The framing between the bin/cnr-cni shim and the CNI service (server.ts). The shim builds
 * it with bash string operations alone (no fork), so it is plain text with byte lengths;
 * the shim runs under LC_ALL=C, where `${#v}` counts bytes. Request, sent whole:
 *
 *   CNR-CNI/1[ <token>]\n              the token of <stateDir>/cni.port on the TCP path
 *   E <NAME> <bytes>\n<value>\n        one per variable (PATH, CNI_*), NAME matches [A-Za-z0-9_]+
 *   C <bytes>\n<config>                the stdin exactly as read; may be followed by one \n
 *                                      (bash's here-string on the nc path adds it), not config
 *
 * The lengths make a request self-delimiting: the service answers as soon as the config is
 * in (bash's /dev/tcp cannot half-close); on the unix socket, `nc -N` half-closes too.
 * Reply, written whole, then the service closes:
 *
 *   CNR-CNI/1 <exit code>\n<stdout>.   the '.' protects trailing newlines from bash's $(...)
 *
 * where <stdout> is exactly what the Node plugin prints (the JSON and a newline, or nothing).
 */

export const MAGIC = 'CNR-CNI/1';
/** A request larger than this is refused: a CNI config with a prevResult is a few KiB. */
export const MAX_REQUEST = 4 << 20;

export interface Request {
  vars: Record<string, string>;
  stdin: string;
  /** the header's token, if any */
  token?: string;
}

export class FrameError extends Error {}
/** The bytes so far are a correct beginning of a request: wait for more. */
export class TruncatedFrame extends FrameError {}

/** Decodes one request; throws FrameError with a reason a person can act on. */
export function decodeRequest(buf: Buffer): Request {
  let pos = 0;
  const line = (): string => {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) throw new TruncatedFrame(`truncated request: no end of line after byte ${pos}`);
    const s = buf.toString('latin1', pos, nl);
    pos = nl + 1;
    return s;
  };
  const bytes = (n: number): Buffer => {
    if (pos + n > buf.length) throw new TruncatedFrame(`truncated request: ${n} bytes announced, ${buf.length - pos} left`);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const start = buf.toString('latin1', 0, Math.min(buf.length, MAGIC.length));
  if (!MAGIC.startsWith(start)) throw new FrameError(`not a cnr-cni request (starts with ${JSON.stringify(buf.toString('latin1', 0, 20))})`);
  if (buf.length <= MAGIC.length) throw new TruncatedFrame('truncated request');
  const head = /^CNR-CNI\/1(?: ([0-9a-f]{1,128}))?$/.exec(line());
  if (!head) throw new FrameError(`not a cnr-cni request (starts with ${JSON.stringify(buf.toString('latin1', 0, 20))})`);
  const vars: Record<string, string> = {};
  for (;;) {
    const l = line();
    const e = /^E ([A-Za-z0-9_]+) (\d{1,7})$/.exec(l);
    if (e) {
      vars[e[1]!] = bytes(Number(e[2])).toString('utf8');
      if (pos === buf.length) throw new TruncatedFrame('truncated request');
      if (buf[pos] !== 0x0a) throw new FrameError(`variable ${e[1]} is not followed by a newline`);
      pos++;
      continue;
    }
    const c = /^C (\d{1,8})$/.exec(l);
    if (!c) throw new FrameError(`bad request line ${JSON.stringify(l.slice(0, 40))}`);
    const stdin = bytes(Number(c[1])).toString('utf8');
    const rest = buf.length - pos;
    if (rest > 1 || (rest === 1 && buf[pos] !== 0x0a)) throw new FrameError(`${rest} unexpected bytes after the config`);
    return head[1] ? { vars, stdin, token: head[1] } : { vars, stdin };
  }
}

/** The request as the shim builds it (tests, and any Node-side client). */
export function encodeRequest(r: Request): Buffer {
  const parts: Buffer[] = [Buffer.from(r.token ? `${MAGIC} ${r.token}\n` : `${MAGIC}\n`)];
  for (const [k, v] of Object.entries(r.vars)) {
    const b = Buffer.from(v, 'utf8');
    parts.push(Buffer.from(`E ${k} ${b.length}\n`), b, Buffer.from('\n'));
  }
  const c = Buffer.from(r.stdin, 'utf8');
  parts.push(Buffer.from(`C ${c.length}\n`), c);
  return Buffer.concat(parts);
}

export function encodeReply(exitCode: number, stdout: string): Buffer {
  return Buffer.from(`${MAGIC} ${exitCode}\n${stdout}.`, 'utf8');
}

export function decodeReply(buf: Buffer): { exitCode: number; stdout: string } {
  const s = buf.toString('utf8');
  const m = /^CNR-CNI\/1 (\d+)\n/.exec(s);
  if (!m || !s.endsWith('.')) throw new FrameError('not a cnr-cni reply');
  return { exitCode: Number(m[1]), stdout: s.slice(m[0].length, -1) };
}
