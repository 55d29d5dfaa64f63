/** One figure of a benchmark, beside the reference measured in the same run. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  reference?: { name: string; value: number };
  /** value / reference.value (or the inverse for lower-is-better units; say which in notes) */
  ratio?: number;
  notes?: string;
}
