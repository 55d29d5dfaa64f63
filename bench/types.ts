/** One figure of a benchmark, beside the reference measured in the same run. */
export interface BenchResult {
  /** states the work measured, e.g. "MPLS push (2 labels), 1 route" */
  name: string;
  /** the median over the rounds */
  value: number;
  unit: string;
  /** min / median / max over the rounds (bench/lib/stats.ts) */
  spread?: Spread;
  reference?: { name: string; value: number; spread?: Spread };
  /** the median of the ratios computed within each round; the notes say which way (bench/lib/stats.ts figure()) */
  ratio?: number;
  ratioSpread?: Spread;
  notes?: string;
}

/** A figure's rounds: count, min, median, max, and the values in the order they ran. */
export interface Spread {
  n: number;
  min: number;
  median: number;
  max: number;
  rounds: number[];
}
