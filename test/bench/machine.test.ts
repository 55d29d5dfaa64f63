/** bench/lib/machine.ts: the CPU named from /proc/cpuinfo as x86 and arm64 kernels print it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCpuinfo } from '../../bench/lib/machine.js';

test('x86: model name, clock, processors and the hypervisor flag', () => {
  const text = ['processor\t: 0', 'model name\t: AMD EPYC', 'cpu MHz\t\t: 2445.412', 'flags\t\t: fpu vme hypervisor lahf_lm', '', 'processor\t: 1', 'model name\t: AMD EPYC', 'cpu MHz\t\t: 2600.000', 'flags\t\t: fpu vme hypervisor', ''].join('\n');
  assert.deepEqual(parseCpuinfo(text), { model: 'AMD EPYC', mhz: 2445.412, processors: 2, hypervisor: true });
});

test('arm64: no model name or clock per processor, the hardware line names the part', () => {
  const text = ['processor\t: 0', 'BogoMIPS\t: 50.00', 'Features\t: fp asimd', '', 'processor\t: 1', 'BogoMIPS\t: 50.00', '', 'Hardware\t: BCM2835', ''].join('\n');
  assert.deepEqual(parseCpuinfo(text), { model: 'BCM2835', mhz: undefined, processors: 2, hypervisor: false });
});
