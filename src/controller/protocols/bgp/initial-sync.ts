/**
 * Whether BGP has its peers' tables back after the controller started: the gate of the FIB
 * export's first resync (rib/fib-export.ts, `ready()`), so that the vRouter does not sweep
 * BGP routes that are merely not relearned yet.
 *
 * The rule is RFC 4724 section 4.1's for a restarting speaker's route selection, applied to
 * the sweep whether or not graceful restart is configured: wait for End-of-RIB from every
 * peer that is expected (configured, not shut down) for each family negotiated with it, or
 * for the selection deferral timer (the caller's). A peer whose OPEN carries no graceful-
 * restart capability promises no End-of-RIB: as FRR does (its "implicit End-of-RIB"), a
 * KEEPALIVE stands for one, unless a real End-of-RIB comes first. FRR takes the first after
 * Established; BIRD sends its table 3 s after Established, and its KEEPALIVEs may come
 * sooner, so here it is the first KEEPALIVE after the peer's first UPDATE, or the second
 * after Established from a peer that sends no UPDATE at all. An instance
 * that itself defers route selection (graceful restart configured) is done when its deferral
 * ends, since only then do its routes reach the RIB.
 */
import type { Neighbor } from './neighbor.js';
import type { BgpSpeaker } from './speaker.js';

/** Per peer without graceful restart: its count of non-UPDATE messages when first seen Established. */
/**
 * Per peer, between calls: the UPDATEs counted while it was not Established, then, in the
 * session (`since`, its Established time), the non-UPDATE messages when first seen in it and
 * when its first UPDATE was seen.
 */
export type ImplicitEorState = WeakMap<Neighbor, { since: number; updates: number; others: number; othersAtUpdate?: number }>;

/**
 * What BGP still waits for, as text for a log line; empty when its initial tables are in.
 * `seen` keeps, between calls, what the implicit End-of-RIB of peers without graceful
 * restart is measured from.
 */
export function bgpInitialSyncWaitingFor(speaker: BgpSpeaker, seen: ImplicitEorState = new WeakMap()): string[] {
  const waiting: string[] = [];
  for (const [name, inst] of speaker.instances) {
    const where = name === 'master' ? '' : ` [${name}]`;
    if (inst.restarting) waiting.push(`route selection deferred (graceful restart)${where}`);
    for (const nb of inst.neighbors.values()) {
      if (nb.cfg.shutdown) continue;
      const peer = `${nb.cfg.address}${where}`;
      if (!nb.established) {
        // UPDATEs only come in Established: those counted now are all from earlier sessions
        seen.set(nb, { since: -1, updates: nb.stats.inUpdates, others: 0 });
        waiting.push(`${peer} not Established`);
        continue;
      }
      const eor = inst.ribs.get(nb)?.eor;
      const missing = nb.families.filter((f) => !eor?.has(f.key)).map((f) => f.key);
      if (missing.length === 0) continue;
      if (!nb.peerOpen?.capabilities.gracefulRestart) {
        if (implicitEndOfRib(nb, seen)) continue;
        waiting.push(`${peer} a KEEPALIVE after its initial UPDATEs (no graceful restart: no End-of-RIB promised)`);
        continue;
      }
      waiting.push(`${peer} End-of-RIB for ${missing.join(' ')}`);
    }
  }
  return waiting;
}

/** Whether an Established peer without graceful restart has sent its implicit End-of-RIB (see the header). */
function implicitEndOfRib(nb: Neighbor, seen: ImplicitEorState): boolean {
  // KEEPALIVEs, and anything else that is not an UPDATE (the OPEN and KEEPALIVE of the set-up are in the first count)
  const others = nb.stats.inMessages - nb.stats.inUpdates - nb.stats.inRefreshes;
  let t = seen.get(nb);
  if (!t || t.since !== nb.stats.lastChange) {
    // not seen idle before this session: its UPDATEs so far may be this session's, so they do not count as seen
    t = { since: nb.stats.lastChange, updates: t?.since === -1 ? t.updates : nb.stats.inUpdates, others };
    seen.set(nb, t);
  }
  if (t.othersAtUpdate === undefined && nb.stats.inUpdates > t.updates) t.othersAtUpdate = others;
  return t.othersAtUpdate !== undefined ? others > t.othersAtUpdate : others >= t.others + 2;
}

/**
 * The selection deferral timer: how long the gate waits at most. RFC 4724 leaves its value to
 * the implementation; Junos has no separate knob and bounds BGP's restart by its
 * `restart-time` (default 120 s), which is also how long cnr's restarting speaker defers
 * route selection (speaker.ts), so the FIB gate never outlasts BGP's own deferral.
 */
export const SELECTION_DEFERRAL_SECONDS = 120;

/**
 * Calls `done(why)` once BGP's initial tables are in (checked every 50 ms) or after
 * `timeoutMs`, logging what it waits for whenever that changes; returns a function that
 * cancels the wait.
 */
export function afterBgpInitialSync(speaker: BgpSpeaker, timeoutMs: number, log: (line: string) => void, done: (why: string) => void): () => void {
  const started = Date.now();
  let said = '';
  const seen: ImplicitEorState = new WeakMap();
  const check = () => {
    const waiting = bgpInitialSyncWaitingFor(speaker, seen);
    if (waiting.length === 0) return finish(said ? `BGP initial tables in after ${Date.now() - started} ms` : 'configuration committed');
    if (Date.now() - started >= timeoutMs) return finish(`selection deferral timer (${Math.round(timeoutMs / 1000)} s) over, still waiting for ${waiting.join(', ')}`);
    // said again each time it changes: a few lines per start, and they show which peer held it
    if (waiting.join(', ') !== said) {
      said = waiting.join(', ');
      log(`bgp: waiting for the peers' tables before the FIB resync ends: ${said}`);
    }
    timer = setTimeout(check, 50);
  };
  const finish = (why: string) => {
    timer = undefined;
    done(why);
  };
  let timer: NodeJS.Timeout | undefined;
  check();
  return () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
}
