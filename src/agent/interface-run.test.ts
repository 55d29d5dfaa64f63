/** The agent's runs of interface messages applied together (server.ts takeInterfaceRun): distinct interfaces only, in order. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { takeInterfaceRun } from './server.js';
import type { PbControllerMessage } from '../api/proto.js';

const itf = (seq: number, name: string): PbControllerMessage => ({ seq, body: 'interface', interface: { name } });
const routes = (seq: number): PbControllerMessage => ({ seq, body: 'routes', routes: { vrf: '', family: 4, add: [], del: [] } } as unknown as PbControllerMessage);

test('consecutive interface messages for distinct interfaces form one run; a repeated name or another message ends it', () => {
  const q = [itf(1, 'a'), itf(2, 'b'), itf(3, 'c'), itf(4, 'a'), routes(5), itf(6, 'd')];
  assert.deepEqual(takeInterfaceRun(q).map((m) => m.seq), [1, 2, 3]);
  assert.deepEqual(takeInterfaceRun(q).map((m) => m.seq), [4], 'the second change of a waits for the first');
  assert.deepEqual(takeInterfaceRun(q).map((m) => m.seq), [5], 'routes go alone, after the interfaces before them');
  assert.deepEqual(takeInterfaceRun(q).map((m) => m.seq), [6]);
  assert.equal(q.length, 0);
});

test('a run is at most 32 interfaces', () => {
  const q = Array.from({ length: 40 }, (_, i) => itf(i, `v${i}`));
  assert.equal(takeInterfaceRun(q).length, 32);
  assert.equal(takeInterfaceRun(q).length, 8);
});
