/**
 * A BGP load injector, independent of cnr's speaker: it opens one eBGP session (OPEN with
 * multiprotocol IPv4 unicast, route refresh and 4-octet AS), then writes pre-encoded UPDATEs
 * as fast as TCP takes them, followed by an End-of-RIB marker, and keeps the session up with
 * keepalives. It also sends arbitrary raw messages, which the interop tests use for crafted
 * UPDATEs. The receiver is the system under test; the injector never enforces a hold timer, so
 * a slow receiver is measured, not disconnected.
 *
 * Run as a program (inside the injector's namespace) it prints one JSON line per event
 * ({"event":"encoded"|"established"|"sending"|"sent"|"notification"|"closed", t: epoch ms, ...})
 * and stays connected until it gets SIGTERM:
 *   node dist/bench/lib/bgp-injector.js --peer 10.0.0.2 --local-as 65001 --peer-as 65002 \
 *     --next-hop 10.0.0.1 --count 1000000 --per-update 100 [--prefix-len 28] [--base 10.0.0.0]
 * or, for a table-like feed (encodeRealisticUpdates): --feed realistic [--sets 100000] [--seed N].
 * With --withdraw-signals 1, SIGUSR2 withdraws every prefix and SIGUSR1 drops the session.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { seededRandom } from './isis-topology.js';

export const MSG_OPEN = 1;
export const MSG_UPDATE = 2;
export const MSG_NOTIFICATION = 3;
export const MSG_KEEPALIVE = 4;
export const MSG_ROUTE_REFRESH = 5;

const HEADER = 19;

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

function ipv4Bytes(text: string): number[] {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 address ${text}`);
  return parts;
}

export function ipv4ToInt(text: string): number {
  const b = ipv4Bytes(text);
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** A complete BGP message: marker, length, type, body. */
export function bgpMessage(type: number, body: Uint8Array | number[]): Buffer {
  const len = HEADER + body.length;
  const b = Buffer.alloc(len, 0xff);
  b.writeUInt16BE(len, 16);
  b[18] = type;
  b.set(body, HEADER);
  return b;
}

export const KEEPALIVE = bgpMessage(MSG_KEEPALIVE, []);
/** End-of-RIB for IPv4 unicast (RFC 4724): an empty UPDATE. */
export const END_OF_RIB_IPV4 = bgpMessage(MSG_UPDATE, [0, 0, 0, 0]);

export interface OpenOptions {
  localAs: number;
  routerId: string;
  holdTime?: number;
  /** extra capability TLVs (code, value) after the default set */
  extraCapabilities?: { code: number; value: number[] }[];
}

export function encodeOpen(o: OpenOptions): Buffer {
  const caps: number[] = [];
  const cap = (code: number, value: number[]) => caps.push(code, value.length, ...value);
  cap(1, [0, 1, 0, 1]); // multiprotocol IPv4 unicast
  cap(1, [0, 2, 0, 1]); // multiprotocol IPv6 unicast
  cap(2, []); // route refresh
  cap(65, [(o.localAs >>> 24) & 255, (o.localAs >>> 16) & 255, (o.localAs >>> 8) & 255, o.localAs & 255]);
  for (const c of o.extraCapabilities ?? []) cap(c.code, c.value);
  const myAs = o.localAs > 0xffff ? 23456 : o.localAs;
  const hold = o.holdTime ?? 180;
  const body = [4, myAs >> 8, myAs & 255, hold >> 8, hold & 255, ...ipv4Bytes(o.routerId), caps.length + 2, 2, caps.length, ...caps];
  return bgpMessage(MSG_OPEN, body);
}

export interface BulkOptions {
  /** number of prefixes */
  count: number;
  /** prefixes per UPDATE */
  perUpdate: number;
  /** prefix length (default 28: 1M /28s fit in 10.0.0.0/8) */
  prefixLen?: number;
  /** first prefix (default 10.0.0.0) */
  base?: string;
  nextHop: string;
  /** AS_PATH: the sender's AS first (4-octet encoding) */
  asPath: number[];
}

/**
 * Encode `count` consecutive IPv4 prefixes into UPDATEs of `perUpdate` NLRI each, all sharing
 * one attribute set (ORIGIN IGP, AS_PATH, NEXT_HOP), into one buffer ready to write.
 */
export function encodeBulkUpdates(o: BulkOptions): { bytes: Buffer; updates: number } {
  const len = o.prefixLen ?? 28;
  if (len < 1 || len > 32) throw new Error('prefix length must be 1..32');
  const step = 2 ** (32 - len);
  const base = ipv4ToInt(o.base ?? '10.0.0.0');
  if (base + step * o.count > 2 ** 32) throw new Error('prefixes overflow the IPv4 space');
  const nlriBytes = 1 + Math.ceil(len / 8);
  const attrs = [
    0x40, 1, 1, 0, // ORIGIN IGP
    0x40, 2, 2 + 4 * o.asPath.length, 2, o.asPath.length,
    ...o.asPath.flatMap((a) => [(a >>> 24) & 255, (a >>> 16) & 255, (a >>> 8) & 255, a & 255]),
    0x40, 3, 4, ...ipv4Bytes(o.nextHop),
  ];
  const updates = Math.ceil(o.count / o.perUpdate);
  const fixed = HEADER + 2 + 2 + attrs.length;
  const total = updates * fixed + o.count * nlriBytes;
  const out = Buffer.alloc(total);
  let pos = 0;
  let addr = base;
  for (let u = 0; u < updates; u++) {
    const n = Math.min(o.perUpdate, o.count - u * o.perUpdate);
    const msgLen = fixed + n * nlriBytes;
    if (msgLen > 4096) throw new Error(`UPDATE of ${msgLen} bytes exceeds 4096: use fewer prefixes per UPDATE`);
    out.fill(0xff, pos, pos + 16);
    out.writeUInt16BE(msgLen, pos + 16);
    out[pos + 18] = MSG_UPDATE;
    out.writeUInt16BE(0, pos + 19); // withdrawn routes length
    out.writeUInt16BE(attrs.length, pos + 21);
    out.set(attrs, pos + 23);
    pos += fixed;
    for (let i = 0; i < n; i++) {
      out[pos++] = len;
      for (let b = 0; b < nlriBytes - 1; b++) out[pos++] = (addr >>> (24 - 8 * b)) & 255;
      addr = (addr + step) >>> 0;
    }
  }
  return { bytes: out, updates };
}

/**
 * Withdraw `count` consecutive IPv4 prefixes (as encodeBulkUpdates announced them): UPDATEs
 * with withdrawn routes only, as many per message as fit in 4096 bytes.
 */
export function encodeBulkWithdrawals(o: { count: number; prefixLen?: number; base?: string }): { bytes: Buffer; updates: number } {
  const len = o.prefixLen ?? 28;
  const step = 2 ** (32 - len);
  const nlriBytes = 1 + Math.ceil(len / 8);
  const per = Math.floor((4096 - HEADER - 4) / nlriBytes);
  const updates = Math.ceil(o.count / per);
  const out = Buffer.alloc(updates * (HEADER + 4) + o.count * nlriBytes);
  let pos = 0;
  let addr = ipv4ToInt(o.base ?? '10.0.0.0');
  for (let u = 0; u < updates; u++) {
    const n = Math.min(per, o.count - u * per);
    out.fill(0xff, pos, pos + 16);
    out.writeUInt16BE(HEADER + 4 + n * nlriBytes, pos + 16);
    out[pos + 18] = MSG_UPDATE;
    out.writeUInt16BE(n * nlriBytes, pos + 19);
    pos += HEADER + 2;
    for (let i = 0; i < n; i++) {
      out[pos++] = len;
      for (let b = 0; b < nlriBytes - 1; b++) out[pos++] = (addr >>> (24 - 8 * b)) & 255;
      addr = (addr + step) >>> 0;
    }
    out.writeUInt16BE(0, pos); // no path attributes
    pos += 2;
  }
  return { bytes: out, updates };
}

export interface RealisticOptions {
  /** number of prefixes: distinct /24s from `base` */
  count: number;
  /** distinct attribute sets the prefixes are spread over (default 100,000) */
  sets?: number;
  /** most prefixes per UPDATE (one attribute set per UPDATE, so fewer when a set has fewer) */
  perUpdate: number;
  /** first prefix (default 16.0.0.0: 1M /24s fill 16.0.0.0 to 31.255.255.0) */
  base?: string;
  nextHop: string;
  /** the sender's AS, first on every AS_PATH */
  localAs: number;
  /** seeds the attribute sets: two injectors with different seeds give the receiver real best-path choices */
  seed: number;
}

/**
 * A feed shaped like a real table (issue 16's realistic feed): `count` /24s spread over
 * `sets` attribute sets, each set with an AS path of 2 to 7 ASes after the sender's, ORIGIN
 * IGP or INCOMPLETE, a MED on half of them and 0 to 3 communities. Which set a prefix takes
 * is fixed by the prefix (the same for every sender); what is in a set depends on `seed`, so
 * two senders with different seeds disagree on AS path lengths and the receiver's best-path
 * selection has real work. Prefixes of one set go in UPDATEs of their own, sets in a
 * shuffled order, so no two neighbouring UPDATEs share attributes.
 */
export function encodeRealisticUpdates(o: RealisticOptions): { bytes: Buffer; updates: number } {
  const sets = Math.min(o.sets ?? 100_000, o.count);
  const base = ipv4ToInt(o.base ?? '16.0.0.0');
  if (base + 256 * o.count > 2 ** 32) throw new Error('prefixes overflow the IPv4 space');
  // the set of prefix i: a fixed scramble of i (independent of the seed)
  const setOf = new Uint32Array(o.count);
  const perSet = new Uint32Array(sets + 1);
  for (let i = 0; i < o.count; i++) {
    const s = (Math.imul(i ^ (i >>> 13), 0x9e3779b1) >>> 0) % sets;
    setOf[i] = s;
    perSet[s + 1]!++;
  }
  for (let s = 0; s < sets; s++) perSet[s + 1]! += perSet[s]!;
  const bySet = new Uint32Array(o.count);
  const fill = perSet.slice(0, sets);
  for (let i = 0; i < o.count; i++) bySet[fill[setOf[i]!]!++] = i;
  const order = Array.from({ length: sets }, (_, i) => i);
  const shuffle = seededRandom(0x5eed);
  for (let i = sets - 1; i > 0; i--) {
    const j = Math.floor(shuffle() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const chunks: Buffer[] = [];
  let updates = 0;
  const nh = ipv4Bytes(o.nextHop);
  const as4 = (a: number) => [(a >>> 24) & 255, (a >>> 16) & 255, (a >>> 8) & 255, a & 255];
  for (const s of order) {
    const r = seededRandom(o.seed * 1_000_003 + s);
    const path = [o.localAs];
    const hops = 2 + Math.floor(r() * 6);
    for (let h = 0; h < hops; h++) path.push(1000 + Math.floor(r() * 60000));
    const attrs = [
      0x40, 1, 1, r() < 0.9 ? 0 : 2, // ORIGIN IGP or INCOMPLETE
      0x40, 2, 2 + 4 * path.length, 2, path.length, ...path.flatMap(as4),
      0x40, 3, 4, ...nh,
    ];
    if (r() < 0.5) attrs.push(0x80, 4, 4, ...as4(Math.floor(r() * 1000)));
    const nComm = Math.floor(r() * 4);
    if (nComm) attrs.push(0xc0, 8, 4 * nComm, ...Array.from({ length: nComm }, () => as4(((o.localAs & 0xffff) << 16) | Math.floor(r() * 1000))).flat());
    const first = perSet[s]!, end = perSet[s + 1]!;
    for (let k = first; k < end; k += o.perUpdate) {
      const n = Math.min(o.perUpdate, end - k);
      const nlri: number[] = [];
      for (let q = k; q < k + n; q++) {
        const a = (base + 256 * bySet[q]!) >>> 0;
        nlri.push(24, a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255);
      }
      chunks.push(bgpMessage(MSG_UPDATE, [0, 0, attrs.length >> 8, attrs.length & 255, ...attrs, ...nlri]));
      updates++;
    }
  }
  return { bytes: Buffer.concat(chunks), updates };
}

export interface RawUpdate {
  /** encoded path attributes, exactly as they go on the wire (malformed ones included) */
  attributes?: Uint8Array | number[];
  /** IPv4 prefixes announced in the NLRI field */
  nlri?: string[];
  /** IPv4 prefixes withdrawn */
  withdrawn?: string[];
}

function encodePrefixes(list: string[]): number[] {
  const out: number[] = [];
  for (const p of list) {
    const [addr, lenText] = p.split('/');
    const len = Number(lenText);
    const b = ipv4Bytes(addr!);
    out.push(len, ...b.slice(0, Math.ceil(len / 8)));
  }
  return out;
}

/** One UPDATE with caller-made attributes: the interop tests' source of crafted messages. */
export function encodeRawUpdate(u: RawUpdate): Buffer {
  const w = encodePrefixes(u.withdrawn ?? []);
  const a = [...(u.attributes ?? [])];
  const n = encodePrefixes(u.nlri ?? []);
  return bgpMessage(MSG_UPDATE, [w.length >> 8, w.length & 255, ...w, a.length >> 8, a.length & 255, ...a, ...n]);
}

/** One path attribute: flags, type, then a one- or two-octet length (extended-length flag). */
export function attr(flags: number, type: number, value: number[], lengthOverride?: number): number[] {
  const len = lengthOverride ?? value.length;
  return flags & 0x10 ? [flags, type, len >> 8, len & 255, ...value] : [flags, type, len, ...value];
}

export interface PeerOpen {
  version: number;
  asn: number;
  holdTime: number;
  routerId: string;
  /** capability code → values seen */
  capabilities: Map<number, Uint8Array[]>;
}

function decodeOpen(body: Buffer): PeerOpen {
  const caps = new Map<number, Uint8Array[]>();
  let asn = body.readUInt16BE(1);
  const optLen = body[9]!;
  let p = 10;
  const end = 10 + optLen;
  while (p + 2 <= end) {
    const type = body[p]!;
    const len = body[p + 1]!;
    if (type === 2) {
      let q = p + 2;
      while (q + 2 <= p + 2 + len) {
        const code = body[q]!;
        const clen = body[q + 1]!;
        const val = body.subarray(q + 2, q + 2 + clen);
        if (!caps.has(code)) caps.set(code, []);
        caps.get(code)!.push(val);
        if (code === 65 && clen === 4) asn = val.readUInt32BE(0);
        q += 2 + clen;
      }
    }
    p += 2 + len;
  }
  return {
    version: body[0]!,
    asn,
    holdTime: body.readUInt16BE(3),
    routerId: [...body.subarray(5, 9)].join('.'),
    capabilities: caps,
  };
}

export interface Notification {
  code: number;
  subcode: number;
  data: Buffer;
}

export interface InjectorOptions extends OpenOptions {
  peer: string;
  port?: number;
  localAddress?: string;
  /** keepalive interval in seconds (default 30) */
  keepalive?: number;
}

/** One BGP session driven from a script. */
export class BgpInjector {
  private sock?: Socket;
  private rx: Buffer = Buffer.alloc(0);
  private kaTimer?: NodeJS.Timeout;
  peerOpen?: PeerOpen;
  established = false;
  /** messages received by type */
  readonly received = new Map<number, number>();
  /** raw UPDATE bodies received, when `keepUpdates` is set */
  readonly updates: Buffer[] = [];
  keepUpdates = false;
  /** called with each UPDATE body as it arrives (a view into the receive buffer: copy to keep it) */
  onUpdate?: (body: Buffer) => void;
  notification?: Notification;
  closed = false;
  private waiters: (() => void)[] = [];

  constructor(readonly opts: InjectorOptions) {}

  /** Connect, exchange OPENs and KEEPALIVEs; resolves when the session is Established. */
  connect(timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.close();
        reject(new Error(`BGP session to ${this.opts.peer} not established within ${timeoutMs} ms`));
      }, timeoutMs);
      const sock = connect({ host: this.opts.peer, port: this.opts.port ?? 179, localAddress: this.opts.localAddress });
      this.sock = sock;
      sock.setNoDelay(true);
      sock.on('connect', () => sock.write(encodeOpen(this.opts)));
      sock.on('data', (d: Buffer) => {
        this.rx = this.rx.length ? Buffer.concat([this.rx, d]) : d;
        this.drain();
        if (this.established) {
          clearTimeout(timer);
          resolve();
        } else if (this.notification) {
          clearTimeout(timer);
          reject(new Error(`peer sent NOTIFICATION ${this.notification.code}/${this.notification.subcode}`));
        }
      });
      sock.on('error', (err) => {
        clearTimeout(timer);
        this.closed = true;
        reject(err);
      });
      sock.on('close', () => {
        this.closed = true;
        this.stopKeepalives();
        this.wake();
      });
    });
  }

  private drain(): void {
    let p = 0;
    while (this.rx.length - p >= HEADER) {
      const len = this.rx.readUInt16BE(p + 16);
      if (len < HEADER || this.rx.length - p < len) break;
      const type = this.rx[p + 18]!;
      const body = this.rx.subarray(p + HEADER, p + len);
      this.received.set(type, (this.received.get(type) ?? 0) + 1);
      if (type === MSG_OPEN) {
        this.peerOpen = decodeOpen(body);
        this.sock!.write(KEEPALIVE);
      } else if (type === MSG_KEEPALIVE && this.peerOpen && !this.established) {
        this.established = true;
        this.startKeepalives();
      } else if (type === MSG_NOTIFICATION) {
        this.notification = { code: body[0] ?? 0, subcode: body[1] ?? 0, data: Buffer.from(body.subarray(2)) };
      } else if (type === MSG_UPDATE) {
        if (this.keepUpdates) this.updates.push(Buffer.from(body));
        this.onUpdate?.(body);
      }
      p += len;
    }
    this.rx = p === this.rx.length ? Buffer.alloc(0) : this.rx.subarray(p);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolve when `cond` holds (checked after each received message), or reject after `timeoutMs`. */
  until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`injector: timed out waiting for ${what}`)), timeoutMs);
      const check = () => {
        if (cond()) {
          clearTimeout(deadline);
          resolve();
        } else if (this.closed) {
          clearTimeout(deadline);
          cond() ? resolve() : reject(new Error(`injector: session closed while waiting for ${what}`));
        } else this.waiters.push(check);
      };
      check();
    });
  }

  private startKeepalives(): void {
    const every = (this.opts.keepalive ?? 30) * 1000;
    this.kaTimer = setInterval(() => this.sock?.write(KEEPALIVE), every);
    this.kaTimer.unref();
  }

  private stopKeepalives(): void {
    if (this.kaTimer) clearInterval(this.kaTimer);
    this.kaTimer = undefined;
  }

  /** Stop reading the socket (a slow peer: the sender's data waits in the kernel, then in the sender). */
  pause(): void {
    this.sock?.pause();
  }

  /** Read again after pause(). */
  resume(): void {
    this.sock?.resume();
  }

  /** Whether the peer advertised a capability code in its OPEN. */
  peerHas(code: number): boolean {
    return this.peerOpen?.capabilities.has(code) ?? false;
  }

  /** Write bytes (one or many messages); resolves when the kernel has taken them all. */
  send(bytes: Uint8Array): Promise<void> {
    const sock = this.sock;
    if (!sock || this.closed) return Promise.reject(new Error('injector: not connected'));
    return new Promise((resolve, reject) => sock.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  /** Send a NOTIFICATION (Cease by default) and close. */
  async shutdown(code = 6, subcode = 2): Promise<void> {
    if (this.sock && !this.closed) {
      await this.send(bgpMessage(MSG_NOTIFICATION, [code, subcode])).catch(() => undefined);
      this.sock.end();
    }
    this.close();
  }

  close(): void {
    this.stopKeepalives();
    this.sock?.destroy();
    this.closed = true;
  }
}

// --- command-line entry: the benchmark runs the injector inside its own namespace ------------

/** `--name value` pairs of the helper programs' command lines. */
export function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    out[a.slice(2)] = argv[++i] ?? '';
  }
  return out;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const emit = (event: string, extra: Record<string, unknown> = {}) =>
    process.stdout.write(JSON.stringify({ event, t: nowMs(), ...extra }) + '\n');
  const localAs = Number(a['local-as'] ?? 65001);
  if (a['stdin'] !== undefined) return rawSession(a, localAs, emit);
  const t0 = nowMs();
  const bulk = a['feed'] === 'realistic'
    ? encodeRealisticUpdates({
        count: Number(a['count'] ?? 1_000_000),
        sets: Number(a['sets'] ?? 100_000),
        perUpdate: Number(a['per-update'] ?? 100),
        base: a['base'],
        nextHop: a['next-hop']!,
        localAs,
        seed: Number(a['seed'] ?? 1),
      })
    : encodeBulkUpdates({
        count: Number(a['count'] ?? 1_000_000),
        perUpdate: Number(a['per-update'] ?? 100),
        prefixLen: Number(a['prefix-len'] ?? 28),
        base: a['base'] ?? '10.0.0.0',
        nextHop: a['next-hop']!,
        asPath: [localAs],
      });
  emit('encoded', { ms: nowMs() - t0, bytes: bulk.bytes.length, updates: bulk.updates });
  const inj = new BgpInjector({
    peer: a['peer']!,
    localAs,
    routerId: a['router-id'] ?? a['next-hop']!,
    localAddress: a['local-address'],
  });
  await inj.connect(Number(a['connect-timeout'] ?? 60_000));
  if (!inj.peerHas(65)) throw new Error('peer lacks 4-octet AS support; UPDATEs were encoded for it');
  emit('established', { peerAs: inj.peerOpen?.asn, holdTime: inj.peerOpen?.holdTime });
  emit('sending');
  await inj.send(bulk.bytes);
  await inj.send(END_OF_RIB_IPV4);
  emit('sent', { bytes: bulk.bytes.length, updates: bulk.updates });
  const stop = () => {
    emit('closed', { notification: inj.notification });
    inj.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  if (a['withdraw-signals'] !== undefined) {
    // convergence (bench/bgp-convergence.bench.ts): SIGUSR2 withdraws every prefix sent,
    // SIGUSR1 drops the session (Cease, then close)
    const w = encodeBulkWithdrawals({ count: Number(a['count'] ?? 1_000_000), prefixLen: Number(a['prefix-len'] ?? 28), base: a['base'] });
    process.on('SIGUSR2', () => {
      emit('withdrawing');
      inj.send(w.bytes).then(() => emit('withdrawn', { updates: w.updates }), (err) => emit('error', { message: String(err) }));
    });
    process.on('SIGUSR1', () => {
      emit('dropping');
      void inj.shutdown();
    });
  }
  await inj.until('session end', () => inj.closed, 2 ** 31 - 1).catch(() => undefined);
  emit('closed', { notification: inj.notification });
  process.exit(inj.notification ? 2 : 0);
}

/**
 * `--stdin 1`: connect, then send each line of stdin (a BGP message in hex) as it arrives;
 * the interop tests drive crafted UPDATEs this way from outside the namespace.
 */
async function rawSession(a: Record<string, string>, localAs: number, emit: (e: string, x?: Record<string, unknown>) => void): Promise<void> {
  const inj = new BgpInjector({ peer: a['peer']!, localAs, routerId: a['router-id'] ?? a['local-address']!, localAddress: a['local-address'] });
  await inj.connect(Number(a['connect-timeout'] ?? 60_000));
  emit('established', { peerAs: inj.peerOpen?.asn });
  let buf = '';
  process.stdin.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const hex = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (hex) inj.send(Buffer.from(hex, 'hex')).then(() => emit('sent-raw', { bytes: hex.length / 2 }), (err) => emit('error', { message: String(err) }));
    }
  });
  process.stdin.on('end', () => {
    inj.close();
    process.exit(0);
  });
  await inj.until('session end', () => inj.closed, 2 ** 31 - 1).catch(() => undefined);
  emit('closed', { notification: inj.notification });
  process.exit(inj.notification ? 2 : 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stdout.write(JSON.stringify({ event: 'error', t: nowMs(), message: String(err) }) + '\n');
    process.exit(1);
  });
}
