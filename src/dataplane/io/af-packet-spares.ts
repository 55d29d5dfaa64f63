/**
 * Spare AF_PACKET sockets, rings set up and bound to nothing, for the vifs the data plane
 * attaches next (docs/cni.md, "Attaching a pod").
 *
 * Setting up a socket's two rings takes ~25 ms of RCU grace periods in the kernel
 * (io/af-packet.ts); done at attach, in the forwarding worker, it held up every pod's ADD and
 * stalled forwarding meanwhile. The data plane's main thread takes a spare here and hands it to
 * the worker, which only maps and binds it (~2 ms). Spares are made with koffi's async calls on
 * libuv's thread pool, never blocking a thread that runs JS; several made at once share grace
 * periods, so a burst of attaches beyond the spares costs about one preparation, not one each.
 *
 * Spares cost kernel memory (the default rings, 12 MiB each with 2 KiB frames), so none is made
 * before the first af-packet attach; then `spares` are kept ready (CNR_AF_PACKET_SPARES,
 * default 2; 0 makes each socket at attach, still off the worker).
 *
 * A burst that ran short (ten pods added at once: two spares, eight attaches waiting for
 * preparations) raises the count kept ready to the burst's size, up to BURST_SPARES_MAX, so the
 * next burst of that size finds its sockets ready; BURST_IDLE_MS after the last take the count
 * falls back and the surplus is closed (the memory is held only while pods keep coming).
 */
// af-packet.js (and koffi with it) is loaded at the first attach, as the drivers are (worker/engine.ts driverModules)
type AfPacketModule = typeof import('./af-packet.js');
let afPacket: Promise<AfPacketModule> | undefined;
const loadAfPacket = (): Promise<AfPacketModule> => (afPacket ??= import('./af-packet.js'));
const prepareAfPacket = async (frameSize: number): Promise<number> => (await loadAfPacket()).prepareAfPacket(frameSize);
const closeInBackground = (fd: number): void => void loadAfPacket().then((m) => m.closeInBackground(fd));

/** Close a packet socket a worker handed over (io/af-packet.ts setFdCloser), off this thread too. */
export function closeAfPacketFd(fd: number): void {
  closeInBackground(fd);
}

/** Spares kept ready unless CNR_AF_PACKET_SPARES says otherwise. */
export const DEFAULT_AF_PACKET_SPARES = 2;

/** CNR_AF_PACKET_SPARES as a count (0..64), or the default. */
export function afPacketSparesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['CNR_AF_PACKET_SPARES'];
  if (v === undefined || v === '') return DEFAULT_AF_PACKET_SPARES;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new Error(`CNR_AF_PACKET_SPARES=${v}: not a count from 0 to 64`);
  return n;
}

/** The most spares a burst raises the count to (12 MiB of ring memory each). */
export const BURST_SPARES_MAX = 16;
/** Takes further apart than this belong to different bursts. */
export const BURST_GAP_MS = 1000;
/** After this long without a take, the count kept ready falls back to the configured one. */
export const BURST_IDLE_MS = 60_000;

export class AfPacketSpares {
  private readonly ready: number[] = [];
  private readonly waiting: ((fd: number | undefined) => void)[] = [];
  private making = 0;
  private closed = false;
  /** spares kept ready now: the configured count, or more after a burst that ran short */
  private target: number;
  /** takes of the burst under way (each within BURST_GAP_MS of the one before), the last one's time */
  private burstTakes = 0;
  private lastTake = -Infinity;
  private idleTimer: NodeJS.Timeout | undefined;
  /** preparations that failed (the attach then opens its socket the slow way and reports why) */
  failures = 0;

  constructor(
    private readonly frameSize: number,
    private readonly spares: number,
    /** how a socket is prepared (tests may count calls) */
    private readonly prepare: (frameSize: number) => Promise<number> = prepareAfPacket,
    /** the clock bursts are timed by, and how a spare is closed (tests stand in for both) */
    hooks: { now?: () => number; close?: (fd: number) => void } = {},
  ) {
    this.target = spares;
    this.now = hooks.now ?? (() => performance.now());
    this.release = hooks.close ?? closeInBackground;
  }

  private readonly now: () => number;
  private readonly release: (fd: number) => void;

  /** Sockets ready now. */
  get available(): number {
    return this.ready.length;
  }

  /** Spares kept ready now (the configured count, raised by a burst that ran short). */
  get keeping(): number {
    return this.target;
  }

  /**
   * A prepared socket for openAfPacket's `prepared` (the caller owns it), or undefined when
   * preparing failed or the spares are closed: the caller then opens the slow way.
   */
  take(): Promise<number | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const t = this.now();
    this.burstTakes = t - this.lastTake <= BURST_GAP_MS ? this.burstTakes + 1 : 1;
    this.lastTake = t;
    const fd = this.ready.shift();
    // ran short: keep as many as this burst has taken so far ready for the next one
    // (0 configured means none kept, burst or not)
    if (fd === undefined && this.spares > 0) this.target = Math.max(this.target, Math.min(this.burstTakes, BURST_SPARES_MAX));
    const p = fd !== undefined ? Promise.resolve(fd) : new Promise<number | undefined>((resolve) => this.waiting.push(resolve));
    this.fill();
    if (this.target > this.spares) this.armIdle();
    return p;
  }

  /** Back to the configured count once the takes stop, the surplus closed. */
  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.target = this.spares;
      while (this.ready.length > this.target) this.release(this.ready.pop()!);
    }, BURST_IDLE_MS);
    this.idleTimer.unref();
  }

  /** Prepare until the waiters and the spares are covered. */
  private fill(): void {
    while (!this.closed && this.ready.length + this.making < this.target + this.waiting.length) {
      this.making++;
      this.prepare(this.frameSize).then(
        (fd) => {
          this.making--;
          if (this.closed) return this.release(fd);
          const w = this.waiting.shift();
          if (w) w(fd);
          // (made for a burst's count that has fallen back meanwhile: not kept)
          else if (this.ready.length >= this.target) this.release(fd);
          else this.ready.push(fd);
        },
        () => {
          this.making--;
          this.failures++;
          // no retry loop: the waiter opens its own socket (and reports the real error)
          this.waiting.shift()?.(undefined);
        },
      );
    }
  }

  /** Close the spares (the data plane stops); later takes get undefined. */
  close(): void {
    this.closed = true;
    clearTimeout(this.idleTimer);
    for (const fd of this.ready.splice(0)) this.release(fd);
    for (const w of this.waiting.splice(0)) w(undefined);
  }
}
