/**
 * CNR_TIMELINE=1: marks of one operation's steps on stderr, in wall-clock milliseconds with
 * microseconds (`T <ms since the epoch> <step>`), so that steps taken in the controller, the
 * agent, the data plane's worker and outside processes (the CNI shim, a benchmark) line up on
 * one time axis (docs/cni.md, "Where an ADD's time goes"). Off, a mark costs one branch (plus
 * its text: marks on a per-message path test `timelineOn` before building it).
 */
export const timelineOn = process.env.CNR_TIMELINE === '1';

export function mark(step: string): void {
  if (timelineOn) process.stderr.write(`T ${(performance.timeOrigin + performance.now()).toFixed(3)} ${step}\n`);
}
