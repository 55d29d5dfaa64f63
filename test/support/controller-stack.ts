/**
 * A controller, its RIB service and an agent over loopback gRPC driving an in-memory data
 * plane (memory vifs, no workers, no vhost), in this process: what the L2 controller tests
 * commit Junos lines against and inject frames into. stop() tears it all down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { Controller } from '../../src/controller/controller.js';
import { createDataplane, type VRouterDataplane } from '../../src/dataplane/dataplane.js';
import { startVrouter } from '../../src/agent/vrouter.js';
import { createRibStack } from '../../src/controller/rib/service.js';
import type { FibExport } from '../../src/controller/rib/fib-export.js';

export interface ControllerStack {
  dp: VRouterDataplane;
  ctl: Controller;
  fib: FibExport;
  /** runs commands in one session: the results and the first refused one */
  run(...commands: string[]): Promise<{ out: Awaited<ReturnType<Controller['exec']>>; failed: Awaited<ReturnType<Controller['exec']>>[number] | undefined; last: Awaited<ReturnType<Controller['exec']>>[number] }>;
  /** injects a frame on a memory vif and gives the polling data plane a few turns */
  deliver(port: string, frame: Uint8Array): Promise<void>;
  stop(): Promise<void>;
}

export async function startControllerStack(tag: string): Promise<ControllerStack> {
  const stateDir = mkdtempSync(join(tmpdir(), `cnr-${tag}-${process.pid}-`));
  const dp = createDataplane({ workers: 0, vhost: false });
  const vr = await startVrouter({ dataplane: dp, agentAddress: '127.0.0.1:0', introspect: false, health: false, log: () => {} });
  await dp.start();
  const stack = createRibStack({ agentAddress: `127.0.0.1:${vr.agentPort}`, driverFor: () => 'memory' });
  const ctl = new Controller({ stateDir, consumers: [stack.service], commands: stack.service.commands(), serve: false, log: () => {} });
  await ctl.start();
  stack.start();
  return {
    dp,
    ctl,
    fib: stack.fib,
    async run(...commands) {
      const out = await ctl.exec(commands, 'tester');
      return { out, failed: out.find((r) => r.error !== undefined), last: out.at(-1)! };
    },
    async deliver(port, frame) {
      assert.ok(dp.memoryDriver(port).inject(frame));
      for (let k = 0; k < 20 && dp.memoryDriver(port).pending > 0; k++) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 20));
    },
    async stop() {
      await ctl.stop();
      await stack.fib.stop();
      await vr.stop();
      await dp.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
