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

// `cnr lab up --topology sr`: the overlay in one command (src/cmd/lab-sr.ts). The pods in VRF
// blue on PE1 and PE2 ping each other over both families, and the capture on the core shows
// P's label for PE2 (500003) over PE2's VPN label, the VPN label alone after P (PHP).
test('cnr lab up --topology sr: pods ping across PE1 — P — PE2, the core carries the SR and VPN labels', { skip, timeout: 150_000 }, async (t) => {
  if (labNamespaces().length > 0) {
    t.skip('a lab is already running on this machine (cnr lab down first); skipped');
    return;
  }
  try {
    const upRun = spawnSync(cnr, ['lab', 'up', '--topology', 'sr'], { encoding: 'utf8', timeout: 120_000 });
    const out = upRun.stdout + upRun.stderr;
    for (const check of ['pod1 -> pod2 (IPv4)', 'pod2 -> pod1 (IPv4)', 'pod1 -> pod2 (IPv6)', 'pod2 -> pod1 (IPv6)']) {
      assert.match(out, new RegExp(`ok\\s+ping ${check.replace(/[()]/g, '\\$&')}`), out);
    }
    const blue = /PE2's VPN label for blue (\d+)/.exec(out)?.[1];
    assert.ok(blue, out);
    assert.match(out, new RegExp(`PE1 -> P +\\[500003, ${blue}\\]`), out);
    assert.match(out, new RegExp(`P +-> PE2 +\\[${blue}\\]`), out);
    assert.doesNotMatch(out, /FAIL/, out);
    assert.equal(upRun.status, 0, out);
    // the node's own traffic: PE1's kernel holds its IS-IS routes to the other loopbacks via vhost0
    const kernel = execFileSync('ip', ['netns', 'exec', 'cnrlab-pe1', 'ip', 'route', 'show', 'proto', '250'], { encoding: 'utf8' });
    assert.match(kernel, /^10\.255\.0\.3 dev vhost0/m, kernel);
  } finally {
    const downRun = spawnSync(cnr, ['lab', 'down'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(downRun.status, 0, downRun.stdout + downRun.stderr);
  }
  assert.deepEqual(labNamespaces(), []);
  assert.equal(existsSync('/run/cnr-lab'), false);
});
