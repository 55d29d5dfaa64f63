/**
 * Statistics every benchmark reports the same way (issue 16): a figure is measured in at least
 * three rounds, reported as min / median / max, and quoted by its median; a ratio to a
 * reference is computed within each round (both sides measured in the same minutes) and the
 * median of those per-round ratios is the ratio reported, never the best of one side against
 * the best of the other. Pure functions, unit-tested in test/bench/stats.test.ts.
 */
import type { BenchResult, Spread } from '../types.js';

/** Rounds every figure gets unless its benchmark says otherwise (BENCH_ROUNDS overrides; never fewer than 3). */
export const ROUNDS = Math.max(3, Number(process.env['BENCH_ROUNDS'] ?? 3) || 3);

/** The median of a non-empty list (mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** min / median / max of the rounds, with the rounds themselves in the order they ran. */
export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) throw new Error('spread of no values');
  return { n: xs.length, min: Math.min(...xs), median: median(xs), max: Math.max(...xs), rounds: [...xs] };
}

/**
 * Per-round ratios of two series measured round by round. `direction` 'value/ref' for
 * higher-is-better figures (rates), 'ref/value' for lower-is-better ones (times, costs), so
 * that above 1 always means cnr is better. Rounds where either side is missing or zero are
 * left out.
 */
export function roundRatios(values: readonly number[], refs: readonly number[], direction: 'value/ref' | 'ref/value'): number[] {
  if (values.length !== refs.length) throw new Error(`ratio of ${values.length} rounds against ${refs.length}`);
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const r = refs[i]!;
    if (!Number.isFinite(v) || !Number.isFinite(r) || v === 0 || r === 0) continue;
    out.push(direction === 'value/ref' ? v / r : r / v);
  }
  return out;
}

export interface FigureSpec {
  name: string;
  unit: string;
  /** cnr's value in each round */
  values: readonly number[];
  reference?: { name: string; values: readonly number[] };
  /** how the ratio is formed (default 'value/ref'); the note says which */
  direction?: 'value/ref' | 'ref/value';
  notes?: string;
}

/** A BenchResult from per-round values: median quoted, spreads attached, ratio = median of per-round ratios. */
export function figure(spec: FigureSpec): BenchResult {
  const values = spec.values.filter(Number.isFinite);
  if (values.length === 0) throw new Error(`${spec.name}: no round produced a value`);
  const s = spread(values);
  const r: BenchResult = { name: spec.name, value: s.median, unit: spec.unit, spread: s };
  const notes: string[] = [];
  if (spec.reference) {
    const direction = spec.direction ?? 'value/ref';
    const refValues = spec.reference.values.filter(Number.isFinite);
    if (refValues.length > 0) {
      const rs = spread(refValues);
      r.reference = { name: spec.reference.name, value: rs.median, spread: rs };
      const ratios = roundRatios(spec.values, spec.reference.values, direction);
      if (ratios.length > 0) {
        r.ratio = median(ratios);
        r.ratioSpread = spread(ratios);
      }
      notes.push(direction === 'value/ref' ? 'ratio = cnr / reference within each round (higher is better)' : 'ratio = reference / cnr within each round (above 1 = cnr better)');
    }
  }
  if (values.length < 3) notes.push(`only ${values.length} round(s) produced a value`);
  if (spec.notes) notes.unshift(spec.notes);
  if (notes.length) r.notes = notes.join('; ');
  return r;
}

/** "1.23 / 1.50 / 1.71" (min / median / max) with the given formatter. */
export function formatSpread(s: Spread, fmt: (v: number) => string): string {
  return `${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)}`;
}
