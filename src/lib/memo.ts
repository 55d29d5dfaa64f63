/**
 * A function of one string remembered: the consumers of a commit parse every address and
 * prefix of the configuration on every commit (a CNI pod's commit with a few hundred pods
 * configured parsed a thousand or more, a few ms of the controller's thread), though
 * nearly all of them were parsed, with the same result, by the commit before. `fn` must be
 * pure; what it throws is remembered and thrown again. The table is emptied when it holds
 * `max` strings (a bound, not a cache policy: configurations rarely hold that many).
 */
export function memoByString<T>(fn: (s: string) => T, max = 65_536): (s: string) => T {
  const known = new Map<string, { v: T } | { e: unknown }>();
  return (s: string): T => {
    let r = known.get(s);
    if (r === undefined) {
      try {
        r = { v: fn(s) };
      } catch (e) {
        r = { e };
      }
      if (known.size >= max) known.clear();
      known.set(s, r);
    }
    if ('e' in r) throw r.e;
    return r.v;
  };
}
