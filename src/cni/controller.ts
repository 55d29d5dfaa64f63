/**
 * The pod's trace in the controller's configuration: one group per attachment,
 * `groups cni-<id>`, applied with `apply-groups`, holding the host veth with the gateway
 * addresses, its membership of the routing instance and the pod's /32 and /128 static
 * routes. Being configuration, it is shown by `show configuration`, persisted, and
 * survives restarts of the controller; the RIB and agent turn it into an attached vif and
 * FIB entries (with `vrouter driver tap`, the vRouter creates the netdev itself as a TAP
 * that cnr-cni then moves into the pod). A bridge-domain pod's group makes the host side an
 * access port of the domain's VLAN instead (`family bridge`): no addresses, instance or routes,
 * the domain's IRB (if any) is the pod's gateway. The commands are built here as plain text (pure, tested alone) and applied
 * through the management API (src/controller/mgmt/client.ts).
 */
import { CniError, ErrorCode } from './errors.js';
import type { ExecResult, MgmtClient } from '../controller/mgmt/client.js';

export interface GroupSpec {
  group: string;
  hostVeth: string;
  instanceName: string;
  instanceType: 'vrf' | 'virtual-router';
  vrfTarget?: string;
  vlanId?: number;
  mtu: number;
  /** pod addresses (plain) and the gateway address each is reached through */
  pods: readonly { address: string; family: 4 | 6; gateway: string }[];
  /** container id and ifname, for the description and commit comment */
  containerId: string;
  ifname: string;
  /** Kubernetes namespace/name of the pod, when the runtime gave them in CNI_ARGS */
  podName?: string;
  /** interfaceType tap: the vRouter creates the netdev as a TAP, with this MAC as its own */
  tap?: { routerMac: string };
  /** interfaceType memif: the vRouter serves a memif socket at this path (no netdev), with this MAC as its own */
  memif?: { socket: string; routerMac: string };
  /** bridge-domain pod (L2): the host side is an access port in this VLAN, no L3 unit */
  bridge?: { vlanId: number };
  /**
   * the pod interface's MAC (veth and TAP pods): each pod address becomes a static neighbour
   * under its gateway address (`arp`/`ndp ... mac`), so the vRouter answers the pod's first
   * packet without resolving the pod first
   */
  podMac?: string;
}

/** `instanceName` of the main routing instance (Junos calls it master): inet.0 and inet6.0. */
export const DEFAULT_INSTANCE = 'default';

/** The `set` statements of one attachment's group (without configure/commit). */
export function groupStatements(s: GroupSpec): string[] {
  const g = `set groups ${s.group}`;
  const itf = `${g} interfaces ${s.hostVeth}`;
  const main = s.instanceName === DEFAULT_INSTANCE;
  const ri = main ? g : `${g} routing-instances ${s.instanceName}`;
  const who = s.podName ? `${s.podName} ${s.containerId}` : s.containerId;
  const out: string[] = [`${itf} description "cnr-cni ${who} ${s.ifname}"`];
  if (s.mtu <= 16000) out.push(`${itf} mtu ${s.mtu}`);
  if (s.vlanId !== undefined) out.push(`${itf} vlan-id ${s.vlanId}`);
  if (s.tap) out.push(`${itf} mac-address ${s.tap.routerMac}`, `${itf} vrouter driver tap`);
  if (s.memif) out.push(`${itf} mac-address ${s.memif.routerMac}`, `${itf} vrouter driver memif`, `${itf} vrouter memif socket ${s.memif.socket}`, `${itf} vrouter memif id 0`);
  if (s.bridge) {
    out.push(`${itf} unit 0 family bridge interface-mode access`, `${itf} unit 0 family bridge vlan-id ${s.bridge.vlanId}`, `set apply-groups ${s.group}`);
    return out;
  }
  for (const gw of new Set(s.pods.map((p) => `${p.gateway}/${p.family === 4 ? 32 : 128}`))) {
    out.push(`${itf} unit 0 family ${gw.includes(':') ? 'inet6' : 'inet'} address ${gw}`);
  }
  if (s.podMac) {
    for (const p of s.pods) {
      const [family, table] = p.family === 4 ? ['inet', 'arp'] : ['inet6', 'ndp'];
      out.push(`${itf} unit 0 family ${family} address ${p.gateway}/${p.family === 4 ? 32 : 128} ${table} ${p.address} mac ${s.podMac}`);
    }
  }
  if (!main) {
    out.push(`${ri} instance-type ${s.instanceType}`);
    if (s.vrfTarget) out.push(`${ri} vrf-target ${s.vrfTarget}`);
    out.push(`${ri} interface ${s.hostVeth}`);
  }
  // IPv6 routes of an instance live in its NAME.inet6.0 table (inet6.0 for the main one).
  const table6 = main ? 'inet6.0' : `${s.instanceName}.inet6.0`;
  for (const p of s.pods) {
    const table = p.family === 4 ? `${ri} routing-options static` : `${ri} routing-options rib ${table6} static`;
    out.push(`${table} route ${p.address}/${p.family === 4 ? 32 : 128} qualified-next-hop ${p.address} interface ${s.hostVeth}`);
  }
  out.push(`set apply-groups ${s.group}`);
  return out;
}

export function addCommands(s: GroupSpec): string[] {
  return [
    'configure private',
    // A group left behind by an earlier ADD of the same attachment is replaced, not merged.
    `delete groups ${s.group}`,
    ...groupStatements(s),
    `commit comment "cnr-cni ADD ${s.containerId} ${s.ifname}"`,
  ];
}

export function deleteCommands(group: string, containerId: string, ifname: string): string[] {
  return ['configure private', `delete apply-groups ${group}`, `delete groups ${group}`, `commit comment "cnr-cni DEL ${containerId} ${ifname}"`];
}

/** What cnr-cni needs of the management API: run commands, fail on the first refused one. */
export interface ControllerConfig {
  /** the output text of each command */
  exec(commands: string[]): Promise<string[]>;
  close?(): void | Promise<void>;
}

/** A refused command; `notFound` when it refused because the statement was not there. */
export class ControllerError extends Error {}

/** The management client's per-command results as text, throwing on the first error. */
export function resultTexts(results: readonly ExecResult[]): string[] {
  const failed = results.find((r) => r.error !== undefined);
  if (failed) throw new ControllerError(`'${failed.command}': ${failed.error}`);
  return results.map((r) => r.text);
}

let clientModule: Promise<typeof import('../controller/mgmt/client.js')> | undefined;

/**
 * Starts loading the management client (node:http and friends). ADD and DEL call it first
 * thing, so the load overlaps with IPAM and the veth; VERSION and the error paths never pay.
 */
export function preloadController(): void {
  clientModule ??= import('../controller/mgmt/client.js');
  clientModule.catch(() => {});
}

/** Opens the controller's management API from its state directory, or fails with code 11. */
export async function connectController(stateDir: string): Promise<ControllerConfig> {
  let client: MgmtClient;
  try {
    preloadController();
    const mod = await clientModule!;
    client = mod.MgmtClient.fromStateDir(stateDir);
  } catch (err) {
    throw new CniError(ErrorCode.TryAgainLater, `controller not reachable through ${stateDir}: ${(err as Error).message}`);
  }
  return {
    async exec(commands) {
      let results: ExecResult[];
      try {
        results = await client.exec(commands, 'cnr-cni');
      } catch (err) {
        throw new CniError(ErrorCode.TryAgainLater, `controller not reachable through ${stateDir}/mgmt.sock: ${(err as Error).message}`);
      }
      return resultTexts(results);
    },
  };
}
