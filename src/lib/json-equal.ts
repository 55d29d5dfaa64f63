/**
 * Whether two JSON-like values (plain objects, arrays, strings, numbers, booleans, null)
 * would serialize to the same content, without serializing them: the consumers of a commit
 * compare every route and interface of the configuration with what they hold, and
 * `JSON.stringify(a) === JSON.stringify(b)` made two strings per item on every commit (a CNI
 * pod's commit with a few hundred pods configured: a few ms of the controller's thread).
 *
 * As JSON would: a property whose value is undefined counts as absent. Unlike it, key order
 * does not matter (the same content built in another order is equal).
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k) || x[k] === undefined) continue;
    n++;
    if (!Object.hasOwn(y, k) || !jsonEqual(x[k], y[k])) return false;
  }
  for (const k in y) if (Object.hasOwn(y, k) && y[k] !== undefined) n--;
  return n === 0;
}
