/**
 * frame-punt: link-layer control frames that are not IP (802.3 frames with the OSI LLC header,
 * DSAP/SSAP 0xFE: IS-IS) go to the main thread with the vif they arrived on, and from there to
 * the controller (the agent's Frames stream). They are copied into the worker's punt buffer
 * (Graph.puntData, without any 802.1Q tag, so a subinterface's protocol sees the frames it
 * would on a netdev of its own) and their slot is freed; the engine hands the buffer over
 * after the burst. A token bucket bounds the rate and the buffer bounds a burst: beyond either
 * the frame is dropped and counted (frame_punt_limited), so a flood of OSI frames costs the
 * forwarding threads a bounded copy and never blocks them.
 */
import * as K from './graph-constants.js';
import type { Graph } from './graph.js';
import type { GraphNode } from './node.js';

export const framePuntNode: GraphNode = {
  id: K.N_FRAME_PUNT,
  name: 'frame-punt',
  next: [K.N_DROP],
  drops: [K.D_FRAME_PUNT_LIMITED],
  counters: [K.C_CONSUMED, K.C_FRAMES_PUNTED],
  run: framePunt,
};

function framePunt(g: Graph): void {
  const SHIFT = g.pool.shift;
  const p = g.pool;
  const d = g.d;
  const w = g.work;
  const n = g.take(K.N_FRAME_PUNT, w);
  g.refillPunt();
  const out = g.puntData;
  const meta = g.puntMeta;
  for (let k = 0; k < n; k++) {
    const i = w[k]!;
    const o = (i << SHIFT) + p.start[i]!;
    const len = p.len[i]!;
    // an 802.1Q tag (l3 - start is 18 then) is left out: 12 bytes of addresses, then from the length field on
    const tagged = p.l3[i]! - p.start[i]! === 18;
    const outLen = tagged ? len - 4 : len;
    if (g.puntTokens < 1 || g.puntCount >= meta.length / 3 || g.puntBytes + outLen > out.length) { g.drop(i, K.D_FRAME_PUNT_LIMITED); continue; }
    g.puntTokens--;
    const at = g.puntBytes;
    if (tagged) {
      out.set(d.subarray(o, o + 12), at);
      out.set(d.subarray(o + 16, o + len), at + 12);
    } else out.set(d.subarray(o, o + len), at);
    const m = g.puntCount++ * 3;
    meta[m] = p.rxVif[i]!;
    meta[m + 1] = at;
    meta[m + 2] = outLen;
    g.puntBytes = at + outLen;
    g.stats[K.C_FRAMES_PUNTED]++;
    g.consume(i);
  }
}
