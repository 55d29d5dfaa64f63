/**
 * Whether BGP has its peers' tables back after the controller started: the gate of the FIB
 * export's first resync (rib/fib-export.ts, `ready()`), so that the vRouter does not sweep
 * BGP routes that are merely not relearned yet.
 *
 * The rule is RFC 4724 section 4.1's for a restarting speaker's route selection, applied to
 * the sweep whether or not graceful restart is configured: wait for End-of-RIB from every
 * peer that is expected (configured, not shut down) for each family negotiated with it, or
 * for the selection deferral timer (the caller's). A peer whose OPEN carries no graceful-
 * restart capability promises no End-of-RIB: as FRR does (its "implicit End-of-RIB"), the
 * first KEEPALIVE it sends after the session is Established stands for one (a speaker sends
 * its initial UPDATEs before the next KEEPALIVE is due), unless a real End-of-RIB comes
 * first. An instance
 * that itself defers route selection (graceful restart configured) is done when its deferral
 * ends, since only then do its routes reach the RIB.
 */
import type { Neighbor } from './neighbor.js';
import type { BgpSpeaker } from './speaker.js';

/** Per peer without graceful restart: its count of non-UPDATE messages when first seen Established. */
export type ImplicitEorState = WeakMap<Neighbor, { since: number; others: number }>;

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
        waiting.push(`${peer} not Established`);
        continue;
      }
      const eor = inst.ribs.get(nb)?.eor;
      const missing = nb.families.filter((f) => !eor?.has(f.key)).map((f) => f.key);
      if (missing.length === 0) continue;
      if (!nb.peerOpen?.capabilities.gracefulRestart) {
        // KEEPALIVEs (and anything else not an UPDATE) received in this session
        const others = nb.stats.inMessages - nb.stats.inUpdates - nb.stats.inRefreshes;
        let base = seen.get(nb);
        if (!base || base.since !== nb.stats.lastChange) seen.set(nb, (base = { since: nb.stats.lastChange, others }));
        if (others > base.others) continue;
        waiting.push(`${peer} a KEEPALIVE after its initial UPDATEs (no graceful restart: no End-of-RIB promised)`);
        continue;
      }
      waiting.push(`${peer} End-of-RIB for ${missing.join(' ')}`);
    }
  }
  return waiting;
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
 * `timeoutMs`; returns a function that cancels the wait.
 */
export function afterBgpInitialSync(speaker: BgpSpeaker, timeoutMs: number, log: (line: string) => void, done: (why: string) => void): () => void {
  const started = Date.now();
  let said = '';
  const seen: ImplicitEorState = new WeakMap();
  const check = () => {
    const waiting = bgpInitialSyncWaitingFor(speaker, seen);
    if (waiting.length === 0) return finish(said ? `BGP initial tables in after ${Date.now() - started} ms` : 'configuration committed');
    if (Date.now() - started >= timeoutMs) return finish(`selection deferral timer (${Math.round(timeoutMs / 1000)} s) over, still waiting for ${waiting.join(', ')}`);
    if (!said) {
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
