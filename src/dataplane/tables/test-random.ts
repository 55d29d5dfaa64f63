/**
 * Forwarder to test/support/random.ts, where the seeded random sources for tests now live.
 * It stays only while graph.test.ts, fuzz.test.ts and bench/pipeline.bench.ts (being changed on
 * the graph-split branch) still import this path; delete it once they import
 * test/support/random.js directly. Nothing outside tests and benchmarks may import it.
 */
export { bgpLikeLen4, mask4, randomBytes, randomPrefixes4, rng } from '../../../test/support/random.js';
