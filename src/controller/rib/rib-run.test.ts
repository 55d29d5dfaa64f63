/**
 * The RIB's run install (Rib.installRun: fresh entries that take the same route object as the
 * run's first one take its resolution without resolving again) against the per-prefix path
 * (`new Rib({ runs: false })`): the same operations on both must leave the same routes, FIB
 * forms, `show route` output, listener calls and FIB queue, in the same order. Each test also
 * checks that the run path was taken (runInstalls), so that the comparison compares something.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rib, type RibChange } from './rib.js';
import type { RibRoute } from './types.js';
import { ipv4PrefixCode, prefixKeyOfText, prefixKeyText, type PrefixKey } from '../../lib/addr.js';

/** A RIB with what its listener and FIB queue were told, as comparable text. */
class Watched {
  readonly rib: Rib;
  readonly told: string[] = [];
  /** what a listener filtered as BGP's speaker filters (no BGP route but in inet.3) was told */
  readonly toldFiltered: string[] = [];
  readonly fib: string[] = [];
  private readonly queue;
  constructor(runs: boolean) {
    this.rib = new Rib({ runs });
    const text = (c: RibChange) => `${c.table} ${c.prefix} ${c.protocol ?? '-'} ${JSON.stringify(c.fib)} ${c.route?.prefix ?? '-'}`;
    this.rib.subscribe((c: RibChange) => this.told.push(text(c)));
    this.rib.subscribe((c: RibChange) => this.toldFiltered.push(text(c)), (table, protocol) => protocol !== 'bgp' || table === 'inet.3');
    this.queue = this.rib.fibQueue(() => {});
  }
  /** read the FIB queue as the exporter would (in batches, so that reading interleaves with changes) */
  drain(max = 1_000_000): void {
    this.queue.drain(max, (k, action, nhs) => this.fib.push(`${prefixKeyText(k)} ${action ?? 'remove'} ${JSON.stringify(nhs)}`));
  }
  /** everything the RIB shows, without the times (two RIBs stamp their own) */
  state(): unknown {
    const tables = this.rib.tableNames();
    return {
      tables,
      shown: tables.map((t) =>
        this.rib
          .show(t)
          .map((e) => ({ ...e, candidates: e.candidates.map((c) => ({ ...c, since: 0 })) }))
          .sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0)),
      ),
      summary: this.rib.summary(),
      attached: tables.map((t) => [...this.rib.attachedEntries(t)].map(([ref, v]) => `${prefixKeyText(ref.pkey)} ${JSON.stringify(v)}`).sort()),
    };
  }
}

/** Run the same steps on a RIB with runs and one without; compare after each step. */
function both(steps: ((w: Watched) => void)[]): { runs: Watched; plain: Watched } {
  const runs = new Watched(true), plain = new Watched(false);
  for (const [i, step] of steps.entries()) {
    step(runs);
    step(plain);
    assert.deepEqual(runs.told, plain.told, `listener calls after step ${i}`);
    assert.deepEqual(runs.toldFiltered, plain.toldFiltered, `filtered listener calls after step ${i}`);
    assert.deepEqual(runs.toldFiltered, runs.told.filter((l) => !/^(?!inet\.3 )\S+ \S+ bgp /.test(l)), `the filtered listener is told what its filter takes, after step ${i}`);
    assert.deepEqual(runs.fib, plain.fib, `FIB queue after step ${i}`);
    assert.deepEqual(runs.state(), plain.state(), `RIB after step ${i}`);
  }
  runs.drain();
  plain.drain();
  assert.deepEqual(runs.fib, plain.fib, 'FIB queue at the end');
  assert.equal(plain.rib.runInstalls, 0, 'the per-prefix RIB installs no run');
  return { runs, plain };
}

function direct(prefix: string, ifname: string): RibRoute {
  return { prefix, protocol: 'direct', preference: 0, nexthops: [{ interface: ifname }] };
}

/** one BGP route object shared by a run of prefixes (as BGP's UPDATE gives them) */
function bgp(gateway: string, labels?: number[]): RibRoute {
  return { prefix: '', protocol: 'bgp', preference: 170, nexthops: [labels ? { gateway, recursive: true, labels } : { gateway, recursive: true }] };
}

/** /28s from a.b.c.0 on, as prefix codes */
function run28(base: number, n: number): PrefixKey[] {
  return Array.from({ length: n }, (_, i) => ipv4PrefixCode((base + i * 16) >>> 0, 28));
}

const V4 = (s: string) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0);

/** announce a run through attached entries, as BGP's fresh prefixes go (entryRef, attachAt, announceAt) */
function announceRun(rib: Rib, keys: PrefixKey[], route: RibRoute): void {
  for (const k of keys) {
    const ref = rib.entryRef('inet.0', k);
    rib.attachAt(ref, { bgp: true });
    rib.announceAt(ref, 'bgp', route);
  }
}

/**
 * announceRun as BGP's learnAll goes with a RIB that takes runs of fresh prefixes in one call
 * (announceFreshRun), the keys it does not take one by one; returns how many it took (none
 * for a RIB without runs: the comparison's per-prefix side).
 */
function announceFresh(rib: Rib, keys: readonly PrefixKey[], route: RibRoute, table = 'inet.0'): number {
  let taken = 0;
  for (let i = 0; i < keys.length; i++) {
    const to = rib.announceFreshRun(table, keys, i, 'bgp', route, { bgp: true });
    taken += to - i;
    i = to;
    if (i === keys.length) break;
    const ref = rib.entryRef(table, keys[i]!);
    rib.attachAt(ref, { bgp: true });
    rib.announceAt(ref, 'bgp', route);
  }
  return taken;
}

/** announceRun one prefix at a time, the route of each chosen by its place */
function announceEach(rib: Rib, keys: PrefixKey[], pick: (i: number) => RibRoute): void {
  for (const [i, k] of keys.entries()) announceRun(rib, [k], pick(i));
}

test('a run resolves as the per-prefix path: listeners, FIB queue and RIB alike, prefixes with another protocol among them', () => {
  const r1 = bgp('10.0.0.2');
  const keys = run28(V4('198.18.0.0'), 200);
  const { runs } = both([
    (w) => w.rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/30', 'eth1')),
    // some prefixes of the run already hold a static route (preference 5 beats BGP's 170)
    (w) => {
      for (const k of keys.slice(10, 15)) w.rib.announce('inet.0', 'static', { prefix: prefixKeyText(k), protocol: 'static', preference: 5, nexthops: [{ gateway: '10.0.0.1' }] });
    },
    (w) => announceRun(w.rib, keys.slice(0, 100), r1),
    (w) => w.drain(37),
    (w) => {
      for (const k of keys.slice(100)) w.rib.announceSharedKey('inet.0', 'bgp', k, r1);
    },
    (w) => w.drain(),
  ]);
  assert.ok(runs.rib.runInstalls >= 150, `run installs: ${runs.rib.runInstalls}`);
  assert.equal(runs.rib.summary().find((t) => t.name === 'inet.0')?.active, 201);
});

test('a run whose next hop does not resolve stays inactive, and comes up with the covering route; a covering route changing after re-resolves it', () => {
  const r1 = bgp('10.9.0.2');
  const keys = run28(V4('203.0.0.0'), 120);
  const { runs } = both([
    (w) => announceRun(w.rib, keys.slice(0, 60), r1),
    (w) => w.rib.announce('inet.0', 'direct:eth9', direct('10.9.0.0/24', 'eth9')),
    (w) => w.drain(),
    (w) => announceRun(w.rib, keys.slice(60), r1),
    // a more specific covering route for the next hop: every prefix re-resolves through it
    (w) => w.rib.announce('inet.0', 'static', { prefix: '10.9.0.0/28', protocol: 'static', preference: 5, nexthops: [{ gateway: '10.9.0.1', interface: 'eth9' }] }),
    (w) => w.drain(50),
    (w) => w.rib.withdraw('inet.0', 'direct:eth9', '10.9.0.0/24'),
    (w) => w.rib.withdraw('inet.0', 'static', '10.9.0.0/28'),
    (w) => w.drain(),
    (w) => w.rib.announce('inet.0', 'direct:eth9', direct('10.9.0.0/24', 'eth9')),
    (w) => w.drain(),
  ]);
  assert.ok(runs.rib.runInstalls >= 100, `run installs: ${runs.rib.runInstalls}`);
  assert.equal(runs.rib.getFib('inet.0', prefixKeyText(keys[119]!))?.nexthops[0]?.interface, 'eth9');
});

test('a run prefix that covers its own next hop, interfaces going down and labeled routes through inet.3 go as the per-prefix path', () => {
  const plain = bgp('10.0.0.2');
  const labeled = bgp('192.0.2.9', [3001]);
  // the run passes over 10.0.0.0/28, which holds its next hop 10.0.0.2
  const keys = run28(V4('9.255.255.0'), 40);
  const { runs } = both([
    (w) => w.rib.setInterfaces(['eth1', 'eth2']),
    (w) => w.rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/30', 'eth1')),
    (w) => w.rib.announce('inet.0', 'direct:eth2', direct('10.1.0.0/30', 'eth2')),
    (w) => w.rib.announce('inet.0', 'isis', { prefix: '192.0.2.9/32', protocol: 'isis', preference: 15, nexthops: [{ gateway: '10.1.0.2', interface: 'eth2' }] }),
    (w) => announceRun(w.rib, keys, plain),
    (w) => announceRun(w.rib, run28(V4('100.64.0.0'), 50), labeled),
    (w) => w.rib.announce('inet.3', 'isis', { prefix: '192.0.2.9/32', protocol: 'isis', preference: 15, nexthops: [{ gateway: '10.1.0.2', interface: 'eth2', labels: [16009] }] }),
    (w) => announceRun(w.rib, run28(V4('100.65.0.0'), 50), labeled),
    (w) => w.drain(),
    (w) => w.rib.setInterfaces(['eth2']),
    (w) => announceRun(w.rib, run28(V4('100.66.0.0'), 30), plain),
    (w) => w.rib.setInterfaces(['eth1', 'eth2']),
    (w) => w.rib.withdraw('inet.3', 'isis', '192.0.2.9/32'),
    (w) => {
      for (const k of keys.slice(0, 20)) w.rib.withdrawKey('inet.0', 'bgp', k);
    },
    (w) => announceRun(w.rib, keys.slice(0, 20), plain),
  ]);
  assert.ok(runs.rib.runInstalls >= 100, `run installs: ${runs.rib.runInstalls}`);
});

test('a labeled run whose next hop lies under one of its own prefixes re-resolves the run through it, as the per-prefix path does', () => {
  // 10.0.0.0/28 is one of the run's prefixes and holds the next hop 10.0.0.2: the prefixes after
  // it resolve through it (its label under theirs), those before are re-resolved by propagate
  const route = bgp('10.0.0.2', [44]);
  const { runs } = both([
    (w) => w.rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1')),
    (w) => announceRun(w.rib, run28(V4('9.255.254.0'), 60), route),
    (w) => w.drain(),
  ]);
  assert.ok(runs.rib.runInstalls >= 20, `run installs: ${runs.rib.runInstalls}`);
  assert.deepEqual(runs.rib.getFib('inet.0', '9.255.254.0/28')?.nexthops, [{ gateway: '10.0.0.2', interface: 'eth1', labels: [44, 44] }]);
});

test('a run after its resolver went (every dependent withdrawn) registers with the new one: a covering route changing after reaches it', () => {
  const route = bgp('10.0.0.2');
  const keys = run28(V4('198.18.0.0'), 30);
  const { runs } = both([
    (w) => w.rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1')),
    (w) => announceRun(w.rib, keys, route),
    (w) => keys.forEach((k) => {
        w.rib.withdrawKey('inet.0', 'bgp', k);
      }),
    (w) => announceRun(w.rib, keys, route),
    (w) => w.drain(),
    (w) => w.rib.withdraw('inet.0', 'direct:eth1', '10.0.0.0/24'),
    (w) => w.drain(),
  ]);
  assert.ok(runs.rib.runInstalls >= 50, `run installs: ${runs.rib.runInstalls}`);
  assert.equal(runs.rib.getFib('inet.0', prefixKeyText(keys[29]!)), undefined, 'the next hop no longer resolves');
});

test('routes through one next-hops array (BGP: one per next hop, whatever the attributes) run together, fresh and replacing a lone route in place', () => {
  const viaA = [{ gateway: '10.0.0.2', recursive: true }];
  const viaB = [{ gateway: '10.0.1.2', recursive: true }];
  const routes = (nexthops: RibRoute['nexthops']) =>
    Array.from({ length: 4 }, (_, i): RibRoute => ({ prefix: '', protocol: 'bgp', preference: 170, metric: i, nexthops, attributes: { set: i } }));
  const a = routes(viaA), b = routes(viaB);
  const keys = run28(V4('198.18.0.0'), 80);
  const { runs } = both([
    (w) => w.rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1')),
    (w) => w.rib.announce('inet.0', 'direct:eth2', direct('10.0.1.0/24', 'eth2')),
    // fresh prefixes, a route object per 10 of them, one next-hops array
    (w) => announceEach(w.rib, keys, (i) => a[Math.floor(i / 10) % 4]!),
    (w) => w.drain(33),
    // replaced in place: other attributes through the same next hop, then another next hop, then back
    (w) => announceEach(w.rib, keys.slice(0, 40), (i) => a[(i + 1) % 4]!),
    (w) => announceEach(w.rib, keys.slice(20, 60), (i) => b[i % 4]!),
    (w) => announceEach(w.rib, keys.slice(30, 50), () => a[0]!),
    // the same route again: nothing to tell
    (w) => announceEach(w.rib, keys.slice(30, 50), () => a[0]!),
    (w) => w.drain(),
    (w) => w.rib.withdraw('inet.0', 'direct:eth2', '10.0.1.0/24'),
    (w) => announceEach(w.rib, keys.slice(60), (i) => b[i % 4]!),
    (w) => w.rib.announce('inet.0', 'direct:eth2', direct('10.0.1.0/24', 'eth2')),
    (w) => announceEach(w.rib, keys.slice(60), (i) => b[(i + 2) % 4]!),
  ]);
  assert.ok(runs.rib.runInstalls >= 150, `run installs: ${runs.rib.runInstalls}`);
  assert.deepEqual(runs.rib.getKey('inet.0', keys[79]!)?.attributes, { set: 1 });
});

test('fresh prefixes in one call (announceFreshRun) go as the per-prefix path: held prefixes, a prefix holding the next hop, text keys and IPv6 among them', () => {
  const route = bgp('10.0.0.2');
  const other = bgp('10.0.1.2');
  const v6 = bgp('2001:db8::2');
  // the run passes over 10.0.0.0/28, which holds its next hop 10.0.0.2
  const keys = run28(V4('9.255.255.0'), 60);
  const more = run28(V4('198.18.0.0'), 300);
  const mixed: PrefixKey[] = [...run28(V4('203.0.0.0'), 20), '203.0.1.64/28', ...run28(V4('203.0.1.80'), 20)];
  const keys6 = Array.from({ length: 40 }, (_, i) => prefixKeyOfText(`2001:db8:1:${i.toString(16)}::/64`));
  let taken = 0;
  const { runs } = both([
    (w) => w.rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1')),
    (w) => w.rib.announce('inet.0', 'direct:eth2', direct('10.0.1.0/24', 'eth2')),
    (w) => w.rib.announce('inet6.0', 'direct:eth1', direct('2001:db8::/64', 'eth1')),
    // some prefixes of the second run already hold a static route, some BGP's (another next hop)
    (w) => {
      for (const k of more.slice(10, 15)) w.rib.announce('inet.0', 'static', { prefix: prefixKeyText(k), protocol: 'static', preference: 5, nexthops: [{ gateway: '10.0.0.1' }] });
      announceRun(w.rib, more.slice(100, 110), other);
    },
    (w) => {
      taken += announceFresh(w.rib, keys, route);
    },
    (w) => w.drain(41),
    (w) => {
      taken += announceFresh(w.rib, more, route);
    },
    (w) => {
      taken += announceFresh(w.rib, mixed, route);
    },
    (w) => {
      taken += announceFresh(w.rib, keys6, v6, 'inet6.0');
    },
    (w) => w.drain(77),
    // the covering route changes under the runs: every one of them re-resolves
    (w) => w.rib.announce('inet.0', 'static', { prefix: '10.0.0.0/28', protocol: 'static', preference: 5, nexthops: [{ gateway: '10.0.1.1', interface: 'eth2' }] }),
    (w) => w.rib.withdraw('inet.0', 'direct:eth1', '10.0.0.0/24'),
    (w) => {
      for (const k of more.slice(0, 50)) w.rib.withdrawKey('inet.0', 'bgp', k);
    },
    (w) => {
      taken += announceFresh(w.rib, more.slice(0, 50), other);
    },
  ]);
  // (counted on both RIBs: the per-prefix one takes none)
  assert.ok(taken >= 300, `taken in runs: ${taken}`);
  assert.ok(taken < keys.length + more.length + mixed.length + keys6.length + 50 - 20, `taken in runs: ${taken} (held prefixes, the text key and run starts go one by one)`);
  assert.equal(runs.rib.getFib('inet.0', prefixKeyText(more[299]!))?.nexthops[0]?.interface, 'eth2');
  assert.deepEqual(runs.rib.show('inet.0', { prefix: prefixKeyText(more[12]!), exact: true })[0]?.candidates.map((c) => c.source).sort(), ['bgp', 'static'], 'a prefix held by a static route gets the BGP route beside it');
  assert.equal(runs.rib.show('inet.0', { prefix: prefixKeyText(more[105]!), exact: true })[0]?.candidates.length, 1, 'a prefix held by BGP already has its route replaced (the usual way), not a second one');
  assert.equal(runs.rib.getFib('inet6.0', '2001:db8:1:27::/64')?.nexthops[0]?.interface, 'eth1');
});

test('random operations: runs and the per-prefix path agree step by step', () => {
  let seed = 0x5eed1234;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const gateways = ['10.0.0.2', '10.0.1.2', '10.0.2.2', '172.16.0.1'];
  const shared = [{ gateway: '10.0.0.2', recursive: true }];
  const routes = [
    ...gateways.map((g) => bgp(g)),
    bgp('10.0.1.2', [44]),
    { prefix: '', protocol: 'bgp', preference: 170, action: 'discard', nexthops: [] } as RibRoute,
    // routes alike but for their attributes: one next-hops array
    ...[1, 2, 3].map((m): RibRoute => ({ prefix: '', protocol: 'bgp', preference: 170, metric: m, nexthops: shared })),
  ];
  const covering = ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/30', '10.0.0.0/28', '10.0.0.0/8'];
  const steps: ((w: Watched) => void)[] = [];
  for (let i = 0; i < 300; i++) {
    const op = rnd(10);
    if (op < 5) {
      const route = routes[rnd(routes.length)]!;
      // runs over a small space of prefixes (10.0.0.0/8 among them) so that they meet again
      const keys = run28(V4(rnd(2) ? '10.0.0.0' : '198.18.0.0') + rnd(64) * 16, 1 + rnd(30));
      const how = rnd(3);
      steps.push((w) => {
        if (how === 0) announceRun(w.rib, keys, route);
        else if (how === 1) announceFresh(w.rib, keys, route);
        else for (const k of keys) w.rib.announceSharedKey('inet.0', 'bgp', k, route);
      });
    } else if (op === 5) {
      const keys = run28(V4('198.18.0.0') + rnd(64) * 16, 1 + rnd(20));
      steps.push((w) => keys.forEach((k) => {
        w.rib.withdrawKey('inet.0', 'bgp', k);
      }));
    } else if (op === 6) {
      const p = covering[rnd(covering.length)]!, ifname = `eth${rnd(3)}`;
      steps.push((w) => w.rib.announce('inet.0', 'direct:' + ifname, direct(p, ifname)));
    } else if (op === 7) {
      const p = covering[rnd(covering.length)]!, ifname = `eth${rnd(3)}`;
      steps.push((w) => w.rib.withdraw('inet.0', 'direct:' + ifname, p));
    } else if (op === 8) {
      const up = ['eth0', 'eth1', 'eth2'].filter(() => rnd(3) > 0);
      steps.push((w) => w.rib.setInterfaces(up));
    } else {
      const max = 1 + rnd(40);
      steps.push((w) => w.drain(max));
    }
  }
  const { runs } = both(steps);
  assert.ok(runs.rib.runInstalls > 200, `run installs: ${runs.rib.runInstalls}`);
});

test("a route's age is read once per task, not once per route: a route installed in a later task is younger", async () => {
  const rib = new Rib();
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  const route = bgp('10.0.0.2');
  announceRun(rib, run28(V4('198.18.0.0'), 3), route);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 450));
  announceRun(rib, run28(V4('198.19.0.0'), 3), route);
  const since = (p: string) => rib.show('inet.0', { prefix: p, exact: true })[0]!.candidates[0]!.since;
  const first = since('198.18.0.0/28'), second = since('198.19.0.0/28');
  // ages are kept in ticks of 200 ms
  assert.ok(first <= t0 + 200, `first ${first - t0} ms after the first task`);
  assert.ok(second - first >= 200, `second ${second - first} ms after the first`);
  assert.equal(since('198.18.0.32/28'), first, 'the routes of one task share its time');
});

test("each entry keeps its own attached record, though entries alike share what they hold: runs with other records, a record changed, a second candidate, a withdraw", () => {
  const rib = new Rib();
  rib.announce('inet.0', 'direct:eth1', direct('10.0.0.0/24', 'eth1'));
  const route = bgp('10.0.0.2');
  const recA = { n: 'A' }, recB = { n: 'B' }, recC = { n: 'C' };
  const keysA = run28(V4('198.18.0.0'), 6), keysB = run28(V4('198.18.0.96'), 6);
  /** as BGP's learnRun: a run from each key on, and the key that stops it the usual way */
  const learn = (keys: PrefixKey[], rec: object) => {
    for (let i = 0; i < keys.length; i++) {
      i = rib.announceFreshRun('inet.0', keys, i, 'bgp', route, rec);
      if (i === keys.length) break;
      const ref = rib.entryRef('inet.0', keys[i]!);
      rib.attachAt(ref, rec);
      rib.announceAt(ref, 'bgp', route);
    }
  };
  const records = () => [...keysA, ...keysB].map((k) => (rib.attachedValue('inet.0', k) as { n: string } | undefined)?.n ?? '-').join('');
  learn(keysA, recA);
  learn(keysB, recB);
  assert.ok(rib.runInstalls >= 10, `run installs: ${rib.runInstalls}`);
  assert.equal(records(), 'AAAAAABBBBBB', 'the same route and resolution, another record');
  assert.ok([...keysA, ...keysB].every((k) => rib.getKey('inet.0', k)?.protocol === 'bgp'));
  // one entry's record changed: its neighbours' stay, its route too
  const since = (k: PrefixKey) => rib.show('inet.0', { prefix: prefixKeyText(k), exact: true })[0]!.candidates[0]!.since;
  const before = since(keysA[2]!);
  rib.attachAt(rib.entryRef('inet.0', keysA[2]!), recC);
  assert.equal(records(), 'AACAAABBBBBB');
  assert.equal(rib.getKey('inet.0', keysA[2]!)?.protocol, 'bgp');
  assert.equal(since(keysA[2]!), before, 'the route keeps its age');
  // a second candidate and back to one: the record stays the entry's
  const p = prefixKeyText(keysB[1]!);
  rib.announce('inet.0', 'static', { prefix: p, protocol: 'static', preference: 5, nexthops: [{ gateway: '10.0.0.9' }] });
  assert.equal(rib.getKey('inet.0', keysB[1]!)?.protocol, 'static');
  assert.equal(records(), 'AACAAABBBBBB');
  rib.withdraw('inet.0', 'static', p);
  assert.equal(rib.getKey('inet.0', keysB[1]!)?.protocol, 'bgp');
  assert.equal(records(), 'AACAAABBBBBB');
  // withdrawn, the entry stays for its record; detached, it goes
  const ref = rib.entryRef('inet.0', keysB[1]!);
  rib.withdrawAt(ref, 'bgp');
  assert.equal(rib.getKey('inet.0', keysB[1]!), undefined);
  assert.equal(records(), 'AACAAABBBBBB');
  rib.detach(ref);
  assert.equal(records(), 'AACAAAB-BBBB');
  assert.equal(rib.attachedRef('inet.0', keysB[1]!), undefined);
  assert.deepEqual([...rib.attachedValues('inet.0')].map((v) => (v as { n: string }).n).join(''), 'AACAAABBBBB');
});
