// The README's "run it" command, end to end: `cnr lab up` builds the demo network, starts
// cnr and BIRD, and must show every ping crossing the router (including toward the prefix
// learned by BGP), with its hosts attached as pods by cnr-cni; `cnr lab down` must leave no namespace, process or run file behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cnr = join(process.cwd(), 'bin', 'cnr');
const labNamespaces = () =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith('cnrlab-'));

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces); skipped' : false;

test('cnr lab up shows traffic through the router, lab down removes everything', { skip, timeout: 150_000 }, async (t) => {
  if (labNamespaces().length > 0) {
    t.skip('a lab is already running on this machine (cnr lab down first); skipped');
    return;
  }
  const state = mkdtempSync(join(tmpdir(), 'cnr-labtest-'));
  try {
    const upRun = spawnSync(cnr, ['lab', 'up', '--state-dir', state], { encoding: 'utf8', timeout: 120_000 });
    const out = upRun.stdout + upRun.stderr;
    assert.match(out, /ok\s+ping host1 -> host2 \(IPv4\)/, out);
    assert.match(out, /ok\s+ping host1 -> host2 \(IPv6\)/, out);
    assert.match(out, /ok\s+ping host1 -> 203\.0\.113\.1 \(learned by BGP\)/, out);
    assert.doesNotMatch(out, /FAIL/, out);
    assert.equal(upRun.status, 0, out);
    const route = spawnSync(cnr, ['cli', '--state-dir', state, '-c', 'show route 203.0.113.0/24'], { encoding: 'utf8', timeout: 20_000 });
    assert.match(route.stdout, /203\.0\.113\.0\/24/, route.stdout + route.stderr);
    assert.match(route.stdout, /BGP/, route.stdout);
    // the hosts were attached as pods, through cnr-cni, each in a group of its own
    const groups = spawnSync(cnr, ['cli', '--state-dir', state, '-c', 'show configuration groups | display set'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal((groups.stdout.match(/^set groups cni-\S+ routing-options static route \S+\/32 /gm) ?? []).length, 2, groups.stdout + groups.stderr);
  } finally {
    const downRun = spawnSync(cnr, ['lab', 'down'], { encoding: 'utf8', timeout: 30_000 });
    rmSync(state, { recursive: true, force: true });
    assert.equal(downRun.status, 0, downRun.stdout + downRun.stderr);
  }
  assert.deepEqual(labNamespaces(), []);
  assert.equal(existsSync('/run/cnr-lab'), false);
});
