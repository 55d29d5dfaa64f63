/**
 * The network configuration cnr-cni reads on stdin, and the CNI_* environment. Both are
 * validated here once, so the commands work on typed values; every rejection carries the
 * spec's error code (1 version, 2 unsupported field, 4 environment, 6 decode, 7 config).
 *
 * Fields (beside the spec's cniVersion/name/type/ipam/prevResult/dns):
 *   instanceName   routing instance the pod's interface joins (required unless bridgeDomain);
 *                  "default" is the main instance (inet.0, inet6.0)
 *   bridgeDomain   instead of a routing instance: the bridge domain the pod's interface joins
 *                  as an access port (L2, docs/l2.md); vlanId then names the domain's VLAN
 *   instanceType   "vrf" (default) or "virtual-router"
 *   interfaceType  "veth" (default) or "tap": the vRouter creates a TAP device that cnr-cni
 *                  moves into the pod (see docs/cni.md); "memif": no netdev, the vRouter serves a
 *                  memif socket in a per-pod directory for a DPDK application (docs/memif.md)
 *   memifDir       where the per-pod memif directories are made (default /run/cnr/memif)
 *   vrfTarget      route target of a vrf instance, "target:65000:1"
 *   vlanId         802.1Q tag of the pod's interface (1..4094); with bridgeDomain, the VLAN the
 *                  domain must have (the pod's frames stay untagged)
 *   mtu            MTU of both ends of the veth (default 1500)
 *   stateDir       where the controller's mgmt.sock and mgmt.token are (default /var/lib/cnr)
 *   dataDir        where cnr-cni keeps its attachment records and lock (default /var/lib/cni/cnr)
 *   txChecksumOffload  leave the pod side's TX checksum offload on (default false: turned off,
 *                  which also turns off TSO, so the pod hands the vRouter's AF_PACKET ring
 *                  finished frames of at most the MTU instead of 64 KB TCP super-frames)
 */
import { CniError, ErrorCode } from './errors.js';
import { isSupportedVersion, parseResult, SUPPORTED_VERSIONS, type CniDns, type CniResult } from './result.js';
import { isRecord } from '../controller/config/tree.js';
import { DEFAULT_MEMIF_DIR } from './memif.js';

export type InstanceType = 'vrf' | 'virtual-router';
export type InterfaceType = 'veth' | 'tap' | 'memif';

export interface Attachment {
  containerId: string;
  ifname: string;
}

export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  /** '' for a bridge-domain pod */
  instanceName: string;
  /** L2: the bridge domain the pod's interface joins as an access port */
  bridgeDomain?: string;
  instanceType: InstanceType;
  interfaceType: InterfaceType;
  vrfTarget?: string;
  vlanId?: number;
  mtu: number;
  stateDir: string;
  dataDir: string;
  txChecksumOffload: boolean;
  /** interfaceType memif: the parent of the per-pod socket directories */
  memifDir: string;
  ipamType?: string;
  dns?: CniDns;
  prevResult?: CniResult;
  /** GC: cni.dev/valid-attachments */
  validAttachments?: Attachment[];
  /** the config exactly as it came on stdin: delegated unchanged to IPAM plugins */
  rawText: string;
  raw: Record<string, unknown>;
}

export const DEFAULT_STATE_DIR = '/var/lib/cnr';
export const DEFAULT_DATA_DIR = '/var/lib/cni/cnr';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const TARGET_RE = /^target:(\d+|\d+\.\d+\.\d+\.\d+|\d+L?):\d+$/;

function bad(msg: string): CniError {
  return new CniError(ErrorCode.InvalidConfig, msg);
}

/** Parses stdin text into JSON, with the spec's decode error. */
export function decodeJson(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new CniError(ErrorCode.DecodeFailure, `failed to decode network configuration: ${(err as Error).message}`);
  }
  if (!isRecord(v)) throw new CniError(ErrorCode.DecodeFailure, 'network configuration must be a JSON object');
  return v;
}

/** The version check every command but VERSION does first. */
export function checkVersion(raw: Record<string, unknown>): string {
  const v = raw.cniVersion;
  if (!isSupportedVersion(v)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `incompatible CNI versions; config is "${typeof v === 'string' ? v : ''}", plugin supports [${SUPPORTED_VERSIONS.map((x) => `"${x}"`).join(' ')}]`,
    );
  }
  return v;
}

function str(raw: Record<string, unknown>, key: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw bad(`"${key}" must be a string`);
  return v;
}

export function parseNetConf(text: string): NetConf {
  const raw = decodeJson(text);
  const cniVersion = checkVersion(raw);
  const name = str(raw, 'name');
  if (!name || !NAME_RE.test(name)) throw bad('"name" is required (letters, digits, _ . -)');
  const type = str(raw, 'type') ?? 'cnr-cni';

  const bridgeDomain = str(raw, 'bridgeDomain');
  if (bridgeDomain !== undefined && (!NAME_RE.test(bridgeDomain) || bridgeDomain.length > 64)) {
    throw bad(`"bridgeDomain" '${bridgeDomain}' is not a valid bridge domain name`);
  }
  const instanceName = str(raw, 'instanceName') ?? '';
  if (bridgeDomain !== undefined) {
    // the domain's IRB routes for it (in the instance the IRB belongs to): the pod has no instance
    if (instanceName) throw bad('"bridgeDomain" and "instanceName" exclude each other (the bridge domain\'s IRB is in its routing instance)');
    if (raw.vrfTarget !== undefined && raw.vrfTarget !== null) throw bad('"vrfTarget" needs "instanceName", not "bridgeDomain"');
  } else if (!instanceName) throw bad('"instanceName" is required (or "bridgeDomain")');
  if (instanceName && (!NAME_RE.test(instanceName) || instanceName.length > 64)) {
    throw bad(`"instanceName" '${instanceName}' is not a valid routing instance name`);
  }
  const instanceType = (str(raw, 'instanceType') ?? 'vrf') as InstanceType;
  if (instanceType !== 'vrf' && instanceType !== 'virtual-router') {
    throw bad(`"instanceType" must be "vrf" or "virtual-router", not "${String(instanceType)}"`);
  }
  const interfaceType = (str(raw, 'interfaceType') ?? 'veth') as InterfaceType;
  if (interfaceType !== 'veth' && interfaceType !== 'tap' && interfaceType !== 'memif') {
    throw bad(`"interfaceType" must be "veth", "tap" or "memif", not "${String(interfaceType)}"`);
  }
  const vrfTarget = str(raw, 'vrfTarget');
  if (vrfTarget !== undefined && !TARGET_RE.test(vrfTarget)) {
    throw bad(`"vrfTarget" '${vrfTarget}' must look like target:65000:1 or target:10.0.0.1:1`);
  }
  if (vrfTarget !== undefined && instanceType !== 'vrf') throw bad('"vrfTarget" needs "instanceType": "vrf"');
  if (vrfTarget !== undefined && instanceName === 'default') throw bad('the default instance has no "vrfTarget"');
  let vlanId: number | undefined;
  if (raw.vlanId !== undefined && raw.vlanId !== null) {
    if (typeof raw.vlanId !== 'number' || !Number.isInteger(raw.vlanId) || raw.vlanId < 1 || raw.vlanId > 4094) {
      throw bad('"vlanId" must be an integer 1..4094');
    }
    vlanId = raw.vlanId;
    if (interfaceType !== 'veth' && bridgeDomain === undefined) throw bad(`"vlanId" needs "interfaceType": "veth" (a ${interfaceType === 'tap' ? 'TAP' : 'memif'} carries no VLAN)`);
  }
  let mtu = 1500;
  if (raw.mtu !== undefined && raw.mtu !== null) {
    if (typeof raw.mtu !== 'number' || !Number.isInteger(raw.mtu) || raw.mtu < 1280 || raw.mtu > 65535) {
      throw bad('"mtu" must be an integer 1280..65535 (IPv6 needs at least 1280)');
    }
    mtu = raw.mtu;
    // the vRouter's vifs take 576..9000; a TAP is one of them on the pod's side too
    if (interfaceType !== 'veth' && mtu > 9000) throw bad(`"mtu" of a ${interfaceType} interface must be 1280..9000`);
  }
  const stateDir = str(raw, 'stateDir') || DEFAULT_STATE_DIR;
  const dataDir = str(raw, 'dataDir') || DEFAULT_DATA_DIR;
  const txChecksumOffload = raw.txChecksumOffload === true;
  const memifDir = str(raw, 'memifDir') || DEFAULT_MEMIF_DIR;
  if (!memifDir.startsWith('/') || memifDir.includes('..')) throw bad('"memifDir" must be an absolute path without ".."');

  let ipamType: string | undefined;
  if (raw.ipam !== undefined && raw.ipam !== null) {
    const ipam = raw.ipam;
    if (!isRecord(ipam)) throw bad('"ipam" must be an object');
    const t = ipam.type;
    if (t !== undefined && (typeof t !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(t))) throw bad('"ipam.type" must be a plugin name');
    ipamType = t === '' ? undefined : (t as string | undefined);
  }
  const conf: NetConf = {
    cniVersion,
    name,
    type,
    instanceName,
    instanceType,
    interfaceType,
    mtu,
    stateDir,
    dataDir,
    txChecksumOffload,
    memifDir: memifDir.replace(/\/+$/, ''),
    rawText: text,
    raw,
  };
  if (vrfTarget !== undefined) conf.vrfTarget = vrfTarget;
  if (bridgeDomain !== undefined) {
    if (interfaceType === 'memif') throw bad('"bridgeDomain" needs "interfaceType" "veth" or "tap"');
    conf.bridgeDomain = bridgeDomain;
  }
  if (vlanId !== undefined) conf.vlanId = vlanId;
  if (ipamType !== undefined) conf.ipamType = ipamType;
  if (raw.dns !== undefined && raw.dns !== null) {
    const d = parseResult({ dns: raw.dns }, 'dns').dns;
    if (d) conf.dns = d;
  }
  if (raw.prevResult !== undefined && raw.prevResult !== null) conf.prevResult = parseResult(raw.prevResult, 'prevResult');
  const va = raw['cni.dev/valid-attachments'] ?? raw.validAttachments;
  if (va !== undefined && va !== null) {
    if (!Array.isArray(va)) throw bad('"cni.dev/valid-attachments" must be a list');
    conf.validAttachments = va.map((o: unknown) => {
      if (!isRecord(o) || typeof o.containerID !== 'string' || typeof o.ifname !== 'string') {
        throw bad('"cni.dev/valid-attachments" entries need "containerID" and "ifname"');
      }
      return { containerId: o.containerID, ifname: o.ifname };
    });
  }
  return conf;
}

/** The CNI_* environment of one invocation. */
export interface CniEnv {
  command: string;
  containerId: string;
  netns: string;
  ifname: string;
  args: string;
  path: string[];
  /** the whole environment, passed unchanged to delegated plugins */
  vars: NodeJS.ProcessEnv;
}

const CONTAINER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function readEnv(vars: NodeJS.ProcessEnv): CniEnv {
  return {
    command: vars.CNI_COMMAND ?? '',
    containerId: vars.CNI_CONTAINERID ?? '',
    netns: vars.CNI_NETNS ?? '',
    ifname: vars.CNI_IFNAME ?? '',
    args: vars.CNI_ARGS ?? '',
    path: (vars.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
    vars,
  };
}

/** Checks that the variables `command` needs are present and well formed (code 4 if not). */
export function requireEnv(env: CniEnv, needs: { containerId?: boolean; netns?: boolean; ifname?: boolean; path?: boolean }): void {
  const missing: string[] = [];
  if (needs.containerId && !env.containerId) missing.push('CNI_CONTAINERID');
  if (needs.netns && !env.netns) missing.push('CNI_NETNS');
  if (needs.ifname && !env.ifname) missing.push('CNI_IFNAME');
  if (needs.path && env.path.length === 0) missing.push('CNI_PATH');
  if (missing.length) {
    throw new CniError(ErrorCode.InvalidEnvironment, `required environment variables missing: ${missing.join(' ')}`);
  }
  if (env.containerId && !CONTAINER_ID_RE.test(env.containerId)) {
    throw new CniError(ErrorCode.InvalidEnvironment, `invalid CNI_CONTAINERID '${env.containerId}'`);
  }
  if (env.ifname && (env.ifname.length > 15 || env.ifname === '.' || env.ifname === '..' || /[\s/:]/.test(env.ifname))) {
    throw new CniError(ErrorCode.InvalidEnvironment, `invalid CNI_IFNAME '${env.ifname}' (at most 15 characters, no / : or spaces)`);
  }
}

/** CNI_ARGS "K1=V1;K2=V2" as a map (the runtime's per-container arguments). */
export function parseCniArgs(args: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of args.split(';')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new CniError(ErrorCode.InvalidEnvironment, `invalid CNI_ARGS pair '${part}'`);
    out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}
