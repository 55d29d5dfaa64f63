/**
 * The controller's side of L2 switching (docs/l2.md): what the committed tree says about
 * bridge ports, IRB units, bridge domains and MAC aging, in the shapes the FIB export sends
 * to the agent. The RIB service (rib/service.ts) calls these while it applies a commit; the
 * rules over several statements were checked before, in config/validate.ts.
 */
import type { ConfigTree } from '../types.js';
import { stringList, subtree } from '../config/tree.js';
import { expandVlans } from '../config/schema/bridge-domains.js';
import type { FibBridgeDomain, FibBridgePort } from '../rib/fib-export.js';
import { bridgeFilterOf } from './bridge-filter.js';

/** The bridge port an interface's unit 0 makes (`family bridge`), or undefined for an L3 interface. */
export function bridgePortOf(cfg: ConfigTree, ifBody: ConfigTree): FibBridgePort | undefined {
  const fam = subtree(subtree(subtree(ifBody['unit'])['0'])['family']);
  if (fam['bridge'] === undefined) return undefined;
  const br = subtree(fam['bridge']);
  const port: FibBridgePort = br['interface-mode'] === 'trunk' ? { mode: 'trunk', vlans: expandVlans(stringList(br['vlan-id-list'])) } : { mode: 'access', vlan: Number(br['vlan-id'] ?? 0) };
  if (port.mode === 'trunk' && typeof ifBody['native-vlan-id'] === 'number') port.nativeVlan = ifBody['native-vlan-id'];
  if (br['no-local-switching'] === true) port.noLocalSwitching = true;
  if (typeof br['ether-type'] === 'string') port.tpid = parseInt(br['ether-type'], 16);
  if (br['dot1q-tunneling'] === true) port.dot1qTunneling = true;
  const sc = br['storm-control'];
  if (typeof sc === 'string') {
    const all = subtree(subtree(subtree(subtree(cfg['forwarding-options'])['storm-control-profiles'])[sc])['all']);
    if (typeof all['bandwidth-level'] === 'number') port.stormKbps = all['bandwidth-level'];
    if (typeof all['burst-size'] === 'number') port.stormBurst = all['burst-size'];
  }
  const fin = subtree(br['filter'])['input'];
  if (typeof fin === 'string') {
    port.inputFilter = bridgeFilterOf(cfg, fin);
    port.inputFilterName = fin;
  }
  const fout = subtree(br['filter'])['output'];
  if (typeof fout === 'string') {
    port.outputFilter = bridgeFilterOf(cfg, fout);
    port.outputFilterName = fout;
  }
  return port;
}

/** The bridge domains of the tree. */
export function bridgeDomainsOf(cfg: ConfigTree): FibBridgeDomain[] {
  return Object.entries(subtree(cfg['bridge-domains'])).map(([name, b0]) => {
    const b = subtree(b0);
    const opts = subtree(b['bridge-options']);
    const d: FibBridgeDomain = { name, vlan: Number(b['vlan-id'] ?? 0) };
    if (typeof b['routing-interface'] === 'string') d.irb = b['routing-interface'];
    const mts = subtree(opts['mac-table-size']);
    if (typeof mts['limit'] === 'number') d.macTableSize = mts['limit'];
    if (mts['packet-action'] === 'drop' || mts['packet-action'] === 'none') d.macTableSizeAction = mts['packet-action'];
    const iml = subtree(opts['interface-mac-limit']);
    if (typeof iml['limit'] === 'number') d.interfaceMacLimit = iml['limit'];
    if (iml['packet-action'] === 'drop' || iml['packet-action'] === 'none') d.interfaceMacLimitAction = iml['packet-action'];
    return d;
  });
}

/** `protocols l2-learning global-mac-table-aging-time`, or undefined for the default. */
export function macAgingOf(cfg: ConfigTree): number | undefined {
  const v = subtree(subtree(subtree(cfg['protocols'])['l2-learning']))['global-mac-table-aging-time'];
  return typeof v === 'number' ? v : undefined;
}
