import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDataplane } from '../dataplane.js';
import type { LabelAction } from '../api.js';
import { ILM_PHP, ILM_POP_LOOKUP, ILM_SWAP } from './label-table.js';
import { MAX_LABELS } from './nexthop-table.js';
import { rng } from '../../../test/support/random.js';

test('ILM: 20k random add/replace/delete against a reference map, read back from the shared arrays', async () => {
  const r = rng(31);
  const dp = createDataplane({ workers: 0, sizes: { maxLabels: 1 << 15 } });
  await dp.addVif({ name: 'p1', driver: 'memory', mac: '02:aa:00:00:00:01' });
  const vrfs = ['default', 'a', 'b', 'c'];
  for (const v of vrfs.slice(1)) dp.addVrf(v);
  const nhs = Array.from({ length: 8 }, (_, k) => dp.addNexthop({ type: 'encap', vif: 'p1', dmac: `02:00:00:00:00:0${k}` }));
  const ref = new Map<number, LabelAction>();
  const labels = Array.from({ length: 3000 }, () => 16 + (r() % ((1 << 20) - 16)));
  const lt = dp.tables.label;
  const vrfId = (name: string) => (name === 'default' ? 0 : vrfs.indexOf(name));
  const check = (label: number) => {
    const e = lt.index[label]!;
    const want = ref.get(label);
    if (!want) return assert.equal(e, 0, `label ${label} should be absent`);
    assert.ok(e > 0, `label ${label} present`);
    if (want.action === 'pop-lookup') {
      assert.equal(lt.action[e], ILM_POP_LOOKUP);
      assert.equal(lt.vrf[e], vrfId(want.vrf));
    } else if (want.action === 'swap') {
      assert.equal(lt.action[e], ILM_SWAP);
      assert.equal(lt.nh[e], want.nh);
      assert.deepEqual(Array.from(lt.out.subarray(e * MAX_LABELS, e * MAX_LABELS + lt.nout[e]!)), want.outLabels);
    } else {
      assert.equal(lt.action[e], ILM_PHP);
      assert.equal(lt.nh[e], want.nh);
    }
  };
  for (let op = 0; op < 20_000; op++) {
    const label = labels[r() % labels.length]!;
    const u = r() % 10;
    if (u < 3 && ref.has(label)) {
      dp.delLabel(label);
      ref.delete(label);
    } else {
      const kind = r() % 3;
      const a: LabelAction = kind === 0 ? { action: 'pop-lookup', vrf: vrfs[r() % vrfs.length]! }
        : kind === 1 ? { action: 'swap', outLabels: Array.from({ length: 1 + (r() % MAX_LABELS) }, () => 16 + (r() % 100000)), nh: nhs[r() % nhs.length]! }
        : { action: 'php', nh: nhs[r() % nhs.length]! };
      dp.addLabel(label, a);
      ref.set(label, a);
    }
    check(label);
  }
  for (const l of labels) check(l);
  assert.equal(dp.listLabels().length, ref.size);
  // next-hop reference counts follow the labels that use them
  const uses = new Map<number, number>();
  for (const a of ref.values()) if (a.action !== 'pop-lookup') uses.set(a.nh, (uses.get(a.nh) ?? 0) + 1);
  for (const n of dp.listNexthops()) if (n.type === 'encap') assert.equal(n.refs, uses.get(n.id) ?? 0, `refs of next hop ${n.id}`);
  assert.throws(() => dp.delLabel(15), /no label/);
  assert.throws(() => dp.addLabel(17, { action: 'swap', outLabels: [20], nh: dp.addNexthop({ type: 'discard' }) }), /labels need/);
});
