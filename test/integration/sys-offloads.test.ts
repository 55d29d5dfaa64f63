/**
 * src/sys/libc.ts turns a netdev's offloads and kernel ARP off with ioctls in the calling
 * thread (SIOCETHTOOL by feature name, SIOCSIFFLAGS) instead of `ethtool` and `ip` children,
 * which forked the whole vRouter process on every attach. The result must be exactly what
 * `ethtool -K IF tx off tso off gso off gro off` gives (the real tool, on a twin veth), and
 * the link must carry NOARP.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { NetnsLab } from '../lib/netns.js';

const libcJs = resolve(import.meta.dirname, '..', '..', 'src', 'sys', 'libc.js');
const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : spawnSync('ethtool', ['--version']).status !== 0 ? 'needs ethtool (the reference)' : !existsSync(libcJs) ? 'not built' : false;
if (skip) console.log(`# sys-offloads: skipped: ${skip}`);

const lab = new NetnsLab('offl');
after(() => lab.cleanup());

test('offloads and kernel ARP go off by ioctl exactly as ethtool -K and ip link set arp off do', { skip }, () => {
  const ns = lab.netns('n');
  execFileSync('ip', ['-n', ns, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb']);
  execFileSync('ip', ['-n', ns, 'link', 'add', 'xa', 'type', 'veth', 'peer', 'name', 'xb']);
  const features = (dev: string) => execFileSync('ip', ['netns', 'exec', ns, 'ethtool', '-k', dev], { encoding: 'utf8' }).split('\n').slice(1).join('\n');
  const before = features('va');
  assert.match(before, /^tcp-segmentation-offload: on$/m, 'a veth starts with TSO on');
  // in a child inside the namespace: the ioctls act on the calling thread's namespace
  const code = `import { disableOffloads, disableKernelArp } from ${JSON.stringify(libcJs)};\nconsole.log(JSON.stringify([disableOffloads('va'), disableKernelArp('va'), disableOffloads('nosuch0')]));`;
  const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
  assert.deepEqual(JSON.parse(out), [true, true, false]);
  execFileSync('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'xa', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off'], { stdio: 'ignore' });
  const ours = features('va');
  assert.notEqual(ours, before);
  assert.equal(ours, features('xa'));
  assert.match(execFileSync('ip', ['-n', ns, 'link', 'show', 'va'], { encoding: 'utf8' }), /[<,]NOARP[,>]/);
});
