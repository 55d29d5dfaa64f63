/**
 * The namespaces of the benchmarks that push frames through one device under test (forwarding,
 * l2-switching): gen:eth0 ── PORT1 [dut] PORT2 ── sink:eth0, plus gen:eth1 ── sink:eth1 for the
 * same-round baseline that sends straight to the sink. Only the device's own ports have their
 * offloads turned off (every forwarder under test gets the same); the generator and the sink keep
 * the kernel's defaults, as neighbours do.
 */
import type { NetnsLab } from '../../test/lib/netns.js';

export function genDutSink(lab: NetnsLab, dutName: string, ports: readonly [string, string]): { gen: string; dut: string; sink: string } {
  const gen = lab.netns('gen');
  const dut = lab.netns(dutName);
  const sink = lab.netns('sink');
  lab.veth(gen, 'eth0', dut, ports[0]);
  lab.veth(sink, 'eth0', dut, ports[1]);
  lab.veth(gen, 'eth1', sink, 'eth1');
  for (const ifname of ports) lab.run(dut, ['ethtool', '-K', ifname, 'tx', 'off', 'tso', 'off', 'gso', 'off'], { allowFail: true });
  return { gen, dut, sink };
}
