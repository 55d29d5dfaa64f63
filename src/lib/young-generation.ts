/**
 * Keeping V8's young generation at its starting size (`--small-young-generation` of `cnr start`
 * and `cnr controller`). While most young objects survive — an IS-IS flood's LSPs, a BGP
 * feed's routes — V8 doubles the young generation's two semi-spaces up to 16 MB each, and
 * those pages stay resident: at the end of a 10k-LSP IS-IS flood, 28 of the process's ~125 MB
 * (docs/isis.md, "Memory against FRR"). With no growth, the peak of that flood was ~92 MB and
 * its CPU the same; a bulk RIB ingest of 400k routes peaked 15 MB lower for ~10% more CPU
 * (more, smaller scavenges). Off by default until BGP's benchmarks have measured it.
 *
 * How: `--semi-space-growth-factor=1` set at run time. On the command line V8 raises the
 * factor to 2 when it configures a heap (and the smallest `--max-semi-space-size`, 1 MB,
 * also sizes other parts of the heap: ~104 MB at that flood); set here, it holds until the
 * next isolate is created: a worker thread started later (a data plane started again, a
 * thread of some later feature) configures its heap and restores 2 for the whole process. So
 * it is set again every second (a flag write, nothing more) for as long as the process runs.
 */
import { setFlagsFromString } from 'node:v8';

const REAPPLY_MS = 1000;

/** Keep the young generation small from now on; the returned function stops re-applying. */
export function keepYoungGenerationSmall(): () => void {
  const apply = () => setFlagsFromString('--semi-space-growth-factor=1');
  apply();
  const timer = setInterval(apply, REAPPLY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
