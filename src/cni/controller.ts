/**
 * The pod's trace in the controller's configuration: one group per attachment,
 * `groups cni-<id>`, applied with `apply-groups`, holding the host veth with the gateway
 * addresses, its membership of the routing instance and the pod's /32 and /128 static
 * routes. Being configuration, it is shown by `show configuration`, persisted, and
 * survives restarts of the controller; the RIB and agent turn it into an attached vif and
 * FIB entries. The commands are built here as plain text (pure, tested alone) and applied
 * through the management API (src/controller/mgmt/client.ts).
 */
import { CniError, ErrorCode } from './errors.js';

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
}

/** The `set` statements of one attachment's group (without configure/commit). */
export function groupStatements(s: GroupSpec): string[] {
  const g = `set groups ${s.group}`;
  const itf = `${g} interfaces ${s.hostVeth}`;
  const ri = `${g} routing-instances ${s.instanceName}`;
  const out: string[] = [`${itf} description "cnr-cni ${s.containerId} ${s.ifname}"`];
  if (s.mtu <= 16000) out.push(`${itf} mtu ${s.mtu}`);
  if (s.vlanId !== undefined) out.push(`${itf} vlan-id ${s.vlanId}`);
  for (const gw of new Set(s.pods.map((p) => `${p.gateway}/${p.family === 4 ? 32 : 128}`))) {
    out.push(`${itf} unit 0 family ${gw.includes(':') ? 'inet6' : 'inet'} address ${gw}`);
  }
  out.push(`${ri} instance-type ${s.instanceType}`);
  if (s.vrfTarget) out.push(`${ri} vrf-target ${s.vrfTarget}`);
  out.push(`${ri} interface ${s.hostVeth}`);
  for (const p of s.pods) {
    // IPv6 routes of an instance live in its NAME.inet6.0 table, as in Junos.
    const table = p.family === 4 ? `${ri} routing-options static` : `${ri} routing-options rib ${s.instanceName}.inet6.0 static`;
    out.push(`${table} route ${p.address}/${p.family === 4 ? 32 : 128} qualified-next-hop ${p.address} interface ${s.hostVeth}`);
  }
  out.push(`set apply-groups ${s.group}`);
  return out;
}

export function addCommands(s: GroupSpec): string[] {
  return [
    'configure private',
    ...groupStatements(s),
    `commit comment "cnr-cni ADD ${s.containerId} ${s.ifname}"`,
  ];
}

export function deleteCommands(group: string, containerId: string, ifname: string): string[] {
  return ['configure private', `delete apply-groups ${group}`, `delete groups ${group}`, `commit comment "cnr-cni DEL ${containerId} ${ifname}"`];
}

/** What cnr-cni needs of the management API. */
export interface ControllerConfig {
  exec(commands: string[]): Promise<unknown>;
  close?(): void | Promise<void>;
}

/** Opens the controller's management API from its state directory, or fails with code 11. */
export async function connectController(stateDir: string): Promise<ControllerConfig> {
  // Loaded on use: VERSION, and DEL of an attachment that left nothing, never pay for it.
  const modPath = '../controller/mgmt/client.js';
  let mod: { MgmtClient: { fromStateDir(dir: string): ControllerConfig | Promise<ControllerConfig> } };
  try {
    mod = (await import(modPath)) as typeof mod;
  } catch (err) {
    throw new CniError(ErrorCode.NotAvailable, `management client unavailable: ${(err as Error).message}`);
  }
  try {
    return await mod.MgmtClient.fromStateDir(stateDir);
  } catch (err) {
    throw new CniError(ErrorCode.TryAgainLater, `controller not reachable through ${stateDir}/mgmt.sock: ${(err as Error).message}`);
  }
}

export function outputText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(outputText).join('\n');
  return JSON.stringify(v);
}
