/**
 * What the IS-IS interop tests share: FRR's zebra and isisd in a namespace (started empty,
 * their IS-IS configuration pushed afterwards with `vtysh -f`, which LAB.md says brings
 * useful LSPs in 1-2 s instead of ~30 s), and cnr's IS-IS in the test process over a
 * KernelFramePort opened inside cnr's namespace, feeding a real RIB.
 */
import { chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './harness/lab.js';
import { must, run, waitFor, WaitAborted } from './harness/proc.js';
import { KernelFramePort } from '../../src/controller/link/kernel-frame-port.js';
import { createIsis, type Isis } from '../../src/controller/protocols/isis/index.js';
import { Rib } from '../../src/controller/rib/rib.js';

export const isisSkip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : run('test', ['-x', '/usr/lib/frr/isisd']).code !== 0 ? 'FRR isisd not installed (apt-get install frr)' : false;

export interface FrrIsisd {
  vtysh(cmd: string): string;
  /** push configuration lines (vtysh -f) */
  push(lines: string[]): void;
}

/** zebra + isisd in `ns`, named `hostname`, then `config` pushed. */
export async function startFrrIsisd(lab: Lab, ns: string, hostname: string, config: string[]): Promise<FrrIsisd> {
  const runDir = join(lab.dir, `frr-run-${hostname}`);
  must('install', ['-d', '-o', 'frr', '-g', 'frr', runDir]);
  const uid = Number(must('id', ['-u', 'frr']).trim());
  const gid = Number(must('id', ['-g', 'frr']).trim());
  const zebraConf = join(lab.dir, `zebra-${hostname}.conf`);
  const isisdConf = join(lab.dir, `isisd-${hostname}.conf`);
  writeFileSync(zebraConf, `hostname ${hostname}\n`);
  writeFileSync(isisdConf, `hostname ${hostname}\n`);
  for (const f of [zebraConf, isisdConf]) chownSync(f, uid, gid);
  const common = ['-u', 'frr', '-g', 'frr', '-z', join(runDir, 'zserv.api'), '--vty_socket', runDir];
  const vtyOk = (d: string) => run('vtysh', ['--vty_socket', runDir, '-d', d, '-c', 'show version'], 5000).code === 0;
  lab.daemon(`zebra-${hostname}`, ns, '/usr/lib/frr/zebra', ['-f', zebraConf, '-i', join(runDir, 'zebra.pid'), ...common]);
  await waitFor('zebra vty', () => vtyOk('zebra'), 15_000);
  const isisd = lab.daemon(`isisd-${hostname}`, ns, '/usr/lib/frr/isisd', ['-f', isisdConf, '-i', join(runDir, 'isisd.pid'), ...common]);
  await waitFor('isisd vty', () => {
    if (isisd.child.exitCode !== null) throw new WaitAborted(`isisd exited: ${isisd.output().slice(-2000)}`);
    return vtyOk('isisd');
  }, 15_000);
  let pushes = 0;
  const frr: FrrIsisd = {
    vtysh: (cmd) => {
      const r = run('vtysh', ['--vty_socket', runDir, '-c', cmd], 5000);
      return r.code === 0 ? r.stdout : '';
    },
    push: (lines) => {
      const file = join(lab.dir, `isis-push-${hostname}-${pushes++}.conf`);
      writeFileSync(file, [...lines, ''].join('\n'));
      chownSync(file, uid, gid);
      must('vtysh', ['--vty_socket', runDir, '-f', file]);
    },
  };
  frr.push(config);
  return frr;
}

/** cnr's IS-IS in this process, its sockets in `ns`. */
export function startCnrIsis(lab: Lab, ns: string): { isis: Isis; rib: Rib; port: KernelFramePort } {
  const rib = new Rib();
  const port = new KernelFramePort({ netns: `/var/run/netns/${ns}` });
  lab.defer('close the frame port', () => port.close());
  const isis = createIsis(rib, port, { log: (m) => console.log(`# ${m}`) });
  lab.defer('stop cnr isis', () => isis.stop());
  return { isis, rib, port };
}
