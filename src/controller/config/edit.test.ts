// Several sibling statements in one `set` (Junos takes `set system syslog host H port P any
// info`): in the set notation and in a CLI candidate alike; a wrong word still refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from './notation.js';
import { resolveMany } from './edit.js';
import { Controller } from '../controller.js';

test('a set line of sibling statements is split after each leaf value or flag', () => {
  const paths = (words: string[]) => resolveMany(words).map((r) => [...r.path, ...(r.values ?? []).map(String)]);
  assert.deepEqual(paths(['system', 'syslog', 'host', '192.0.2.9', 'port', '50055', 'any', 'info']), [
    ['system', 'syslog', 'host', '192.0.2.9', 'port', '50055'],
    ['system', 'syslog', 'host', '192.0.2.9', 'any', 'info'],
  ]);
  assert.deepEqual(paths(['system', 'host-name', 'r1']), [['system', 'host-name', 'r1']]);
  assert.deepEqual(parseConfig('set routing-options static route 10.0.0.0/8 discard preference 7\n', 'set'), {
    'routing-options': { static: { route: { '10.0.0.0/8': { discard: true, preference: 7 } } } },
  });
  assert.throws(() => parseConfig('set system host-name r1 bogus x\n', 'set'), /line 1: syntax error at 'bogus'/);
  assert.throws(() => parseConfig('set system services ssh port 22 address nope\n', 'set'), /line 1: address: invalid IP address 'nope'/);
});

test('the CLI takes them too, in a shared or private candidate', async () => {
  const dir = mkdtempSync(join(tmpdir(), `cnr-edit-${process.pid}-`));
  const c = new Controller({ stateDir: dir, serve: false, log: () => {} });
  try {
    await c.start();
    for (const mode of ['configure', 'configure private']) {
      const r = await c.exec([mode, 'set system syslog file messages any notice authorization info', 'commit']);
      assert.equal(r.at(-1)!.error, undefined, r.at(-1)!.error);
      assert.deepEqual((c.store.running as any).system.syslog.file.messages, { any: 'notice', authorization: 'info' });
      await c.exec(['configure', 'delete system syslog', 'commit']);
    }
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
