/**
 * The CNI commands. `runCommand` is the whole plugin minus the process: main.ts feeds it
 * the environment and stdin and prints what it returns; tests call it in-process with a
 * controller of their choosing.
 *
 * ADD, in order: record the attachment (so GC can always find it), then at once ask IPAM
 * for addresses and create the veth with its pod end in CNI_NETNS; then at once configure
 * the pod's addresses and routes and commit the attachment's group to the controller —
 * in the CNI service, the group's intent is made durable and its committer (committer.ts)
 * commits it, batched with concurrent ADDs, and ADD answers once the vRouter has it (the
 * agent's acknowledgement): the pod can send at once. Any failure undoes what was done. DEL
 * undoes the same things, each step tolerating that it was already undone, so DEL succeeds
 * when nothing is left; through the service it answers once its intent is durable.
 */
import { join } from 'node:path';
import { parsePrefix, formatIp, parseCidr } from '../lib/addr.js';
import { attachmentNames, type AttachmentNames } from './names.js';
import { CniError, ErrorCode, asCniError } from './errors.js';
import { checkVersion, decodeJson, parseCniArgs, parseNetConf, readEnv, requireEnv, type CniEnv, type NetConf } from './config.js';
import {
  compareVersions,
  formatResult,
  isSupportedVersion,
  LATEST_VERSION,
  SUPPORTED_VERSIONS,
  type CniInterface,
  type CniIp,
  type CniResult,
  type CniRoute,
} from './result.js';
import { ipamAdd, ipamCheck, ipamDel, ipamGc, findPlugin } from './ipam.js';
import {
  assertNetns,
  configurePod,
  createVeth,
  deleteLink,
  deletePodLink,
  inspectPod,
  linkExists,
  moveTap,
  podLinkExists,
  waitForTap,
  type PodAddress,
  type PodRoute,
} from './link.js';
import { addCommands, connectController, deleteCommands, groupStatements, preloadController, type ControllerConfig, type GroupSpec } from './controller.js';
import { IntentCancelled, type Committer, type Intent } from './committer.js';
import { listRecords, readRecord, removeRecord, withLock, writeRecord, type AttachmentRecord } from './state.js';
import { existsSync } from 'node:fs';
import { mark } from '../lib/timeline.js';
import { makeMemifDir, memifPlace, removeMemifPlace, type MemifPlace } from './memif.js';

/** CNR_CNI_TRACE=1: time of each step since the process started, on stderr. */
const tracing = process.env.CNR_CNI_TRACE === '1';
function trace(step: string): void {
  if (tracing) process.stderr.write(`cnr-cni ${performance.now().toFixed(1)} ms ${step}\n`);
  mark(`cni ${step}`);
}

export interface Deps {
  /** opens the management API of the controller whose state directory is given */
  controller(stateDir: string): Promise<ControllerConfig>;
  /**
   * The CNI service's background committer for that controller (committer.ts), if there is
   * one: ADD and DEL then make the attachment's intent durable and reply before the commit.
   * Without one (the Node plugin) they commit synchronously.
   */
  committer?(stateDir: string): Committer | undefined;
}

export const defaultDeps: Deps = { controller: connectController };

export interface CommandOutput {
  /** JSON to print on stdout, if any */
  stdout?: Record<string, unknown>;
  exitCode: number;
}

/** What the plugin prints on stdout for `out`: the same bytes from the process and the service. */
export function outputText(out: CommandOutput): string {
  return out.stdout ? JSON.stringify(out.stdout) + '\n' : '';
}

/** The version the error object is labelled with: the config's if it is one we speak. */
function errorVersion(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return isSupportedVersion(v) ? v : LATEST_VERSION;
  } catch {
    return LATEST_VERSION;
  }
}

export async function runCommand(vars: NodeJS.ProcessEnv, stdin: string, deps: Deps = defaultDeps): Promise<CommandOutput> {
  const env = readEnv(vars);
  trace(`start ${env.command}`);
  try {
    switch (env.command) {
      case 'VERSION':
        return { stdout: versionInfo(stdin), exitCode: 0 };
      case 'ADD': {
        preloadController();
        const conf = parseNetConf(stdin);
        const r = await cmdAdd(env, conf, deps);
        return { stdout: formatResult(r, conf.cniVersion), exitCode: 0 };
      }
      case 'DEL':
        preloadController();
        await cmdDel(env, parseNetConf(stdin), deps);
        return { exitCode: 0 };
      case 'CHECK':
        await cmdCheck(env, confFrom(stdin, 'CHECK', '0.4.0'), deps);
        return { exitCode: 0 };
      case 'GC':
        await cmdGc(env, confFrom(stdin, 'GC', '1.1.0'), deps);
        return { exitCode: 0 };
      case 'STATUS':
        await cmdStatus(env, confFrom(stdin, 'STATUS', '1.1.0'), deps);
        return { exitCode: 0 };
      case '':
        throw new CniError(ErrorCode.InvalidEnvironment, 'required environment variable CNI_COMMAND is missing');
      default:
        throw new CniError(ErrorCode.InvalidEnvironment, `unknown CNI_COMMAND "${env.command}"`);
    }
  } catch (err) {
    return { stdout: asCniError(err).toJSON(errorVersion(stdin)), exitCode: 1 };
  }
}

/** The config of a command that appeared in CNI version `since` (older configs: code 1). */
function confFrom(stdin: string, command: string, since: string): NetConf {
  const conf = parseNetConf(stdin);
  if (compareVersions(conf.cniVersion, since) < 0) {
    throw new CniError(ErrorCode.IncompatibleVersion, `config version "${conf.cniVersion}" does not allow ${command}`);
  }
  return conf;
}

function versionInfo(stdin: string): Record<string, unknown> {
  let version = LATEST_VERSION;
  if (stdin.trim() !== '') {
    const raw = decodeJson(stdin);
    if (raw.cniVersion !== undefined) version = checkVersion(raw);
  }
  return { cniVersion: version, supportedVersions: [...SUPPORTED_VERSIONS] };
}

// ---------------------------------------------------------------------------------------
// ADD

function firstHost(cidr: string): string {
  const p = parsePrefix(cidr);
  const b = new Uint8Array(p.addr);
  b[b.length - 1]! |= 1;
  return formatIp(b);
}

interface PodPlan {
  addrs: PodAddress[];
  routes: PodRoute[];
}

/**
 * Addresses and routes for the pod from an IPAM result (or a prevResult without IPAM).
 * `l2`: a bridge-domain pod keeps its prefix lengths (its neighbours in the domain are on
 * link) and may have no address at all.
 */
export function planPod(ipam: CniResult, l2 = false): PodPlan {
  const addrs: PodAddress[] = [];
  for (const ip of ipam.ips ?? []) {
    const c = parseCidr(ip.address);
    const address = formatIp(c.addr);
    const gateway = ip.gateway ?? firstHost(ip.address);
    if (gateway === address) throw new CniError(ErrorCode.InvalidConfig, `IPAM gave the pod its gateway address ${address}`);
    addrs.push(l2 ? { address, family: c.family, gateway, prefixLen: c.len } : { address, family: c.family, gateway });
  }
  if (addrs.length === 0 && !l2) throw new CniError(ErrorCode.InvalidConfig, 'no addresses for the pod: IPAM returned none');
  const gw = (f: 4 | 6) => addrs.find((a) => a.family === f)?.gateway;
  const routes: PodRoute[] = [];
  const families = new Set<4 | 6>();
  for (const r of ipam.routes ?? []) {
    const f = r.dst.includes(':') ? 6 : 4;
    const via = r.gw ?? gw(f);
    if (!via) continue; // a route of a family the pod has no address in
    routes.push({ dst: r.dst, gw: via });
    families.add(f);
  }
  // Without routes from IPAM the vRouter is the pod's default gateway.
  for (const f of [4, 6] as const) {
    const via = gw(f);
    if (via && !families.has(f)) routes.push({ dst: f === 4 ? '0.0.0.0/0' : '::/0', gw: via });
  }
  return { addrs, routes };
}

/** The VLAN of a bridge-domain pod's access port, or undefined for a routed pod. */
type BridgeVlan = number | undefined;

function groupSpec(env: CniEnv, conf: NetConf, n: AttachmentNames, plan: PodPlan, bridgeVlan?: BridgeVlan): GroupSpec {
  const s: GroupSpec = {
    group: n.group,
    hostVeth: n.hostVeth,
    instanceName: conf.instanceName,
    instanceType: conf.instanceType,
    mtu: conf.mtu,
    pods: plan.addrs,
    containerId: env.containerId,
    ifname: env.ifname,
  };
  if (conf.vrfTarget) s.vrfTarget = conf.vrfTarget;
  if (bridgeVlan !== undefined) s.bridge = { vlanId: bridgeVlan };
  else if (conf.vlanId !== undefined) s.vlanId = conf.vlanId;
  if (conf.interfaceType === 'tap') s.tap = { routerMac: n.hostMac };
  const podName = kubernetesPod(env);
  if (podName) s.podName = podName;
  if (conf.interfaceType === 'memif') s.memif = { socket: memifPlaceOf(env, conf).socket, routerMac: n.hostMac };
  // the pod's MAC is ours to set on a veth or TAP (a memif application picks its own; a bridge pod has no L3 unit)
  else if (bridgeVlan === undefined) s.podMac = n.podMac;
  return s;
}

/** The pod's NAMESPACE/NAME when the runtime gave them in CNI_ARGS (a malformed CNI_ARGS is not ours to refuse). */
function kubernetesPod(env: CniEnv): string | undefined {
  try {
    const args = parseCniArgs(env.args);
    const ns = args.get('K8S_POD_NAMESPACE');
    const pod = args.get('K8S_POD_NAME');
    if (ns && pod && /^[a-z0-9.-]+$/.test(`${ns}${pod}`)) return `${ns}/${pod}`;
  } catch {
    // no pod name then
  }
  return undefined;
}

/** A memif attachment's directory and socket: as its record says (DEL, GC), else from the pod's names. */
function memifPlaceOf(env: CniEnv, conf: NetConf, rec?: AttachmentRecord | null): MemifPlace {
  if (rec?.memifSocket) return { socket: rec.memifSocket, dir: rec.memifSocket.slice(0, rec.memifSocket.lastIndexOf('/')) };
  return memifPlace(conf.memifDir, env.containerId, env.ifname, kubernetesPod(env));
}

async function commitToController(conf: NetConf, deps: Deps, commands: string[]): Promise<void> {
  const ctl = await deps.controller(conf.stateDir);
  trace('controller ready');
  try {
    await withLock(join(conf.dataDir, 'controller.lock'), async () => {
      trace('locked');
      try {
        await ctl.exec(commands);
      } catch (err) {
        if (err instanceof CniError) throw err;
        throw new CniError(ErrorCode.Internal, `controller refused the configuration: ${(err as Error).message}`);
      }
    });
  } finally {
    await ctl.close?.();
  }
}

/**
 * Group shapes the controller has taken (validateGroup): the statements with what is the
 * attachment's own (its group and interface names and MACs, all made by names.ts, and a
 * description of plain words) replaced by placeholders. Every pod of one network config has
 * one shape, so the check runs once per config rather than at every ADD: it is 10-30 ms of
 * the controller's CPU (a private candidate and a dozen statements parsed against the schema),
 * which 10 ADDs at once otherwise spend one after another on its one thread. Only what the
 * schema accepted is kept; the schema does not change while the process lives.
 */
const validShapes = new Set<string>();
const VALID_SHAPES_MAX = 256;

/** Forgets the shapes checked (a test whose stand-in controller starts refusing what it took). */
export function forgetGroupShapes(): void {
  validShapes.clear();
}

/** The shape of an attachment's statements (validShapes), or undefined when it has none to share. */
export function groupShape(stateDir: string, n: AttachmentNames, statements: readonly string[]): string | undefined {
  const lines: string[] = [stateDir];
  for (const s of statements) {
    const generic = s.replaceAll(n.group, 'cni-G').replaceAll(n.hostVeth, 'cnrIF').replaceAll(n.podMac, 'MAC-P').replaceAll(n.hostMac, 'MAC-H');
    const d = / description "([^"\\]*)"$/.exec(generic);
    if (d) {
      // the description's words are the pod's (container id, ifname, pod name): plain ones only
      if (!/^[A-Za-z0-9_.\-/ ]*$/.test(d[1]!)) return undefined;
      lines.push(generic.slice(0, d.index) + ' description "D"');
    } else lines.push(generic);
  }
  return lines.join('\n');
}

/**
 * Checks the group's statements against the schema in a private candidate that is never
 * committed (no whole-tree check): what ADD can know is bad is refused before it replies.
 * A shape checked before is not checked again (validShapes).
 */
async function validateGroup(conf: NetConf, deps: Deps, statements: string[], n: AttachmentNames): Promise<void> {
  const shape = groupShape(conf.stateDir, n, statements);
  if (shape !== undefined && validShapes.has(shape)) return;
  const ctl = await deps.controller(conf.stateDir);
  try {
    await ctl.exec(['configure private', ...statements]);
    if (shape !== undefined) {
      if (validShapes.size >= VALID_SHAPES_MAX) validShapes.clear();
      validShapes.add(shape);
    }
  } catch (err) {
    if (err instanceof CniError) throw err;
    throw new CniError(ErrorCode.Internal, `controller refused the configuration: ${(err as Error).message}`);
  } finally {
    await ctl.close?.();
  }
}

/** Stand-in addresses with which a group's statements are checked before IPAM answers. */
const SHAPE_PLAN: PodPlan = {
  addrs: [
    { address: '192.0.2.2', family: 4, gateway: '192.0.2.1' },
    { address: '2001:db8::2', family: 6, gateway: '2001:db8::1' },
  ],
  routes: [],
};

function intent(op: 'add' | 'del', conf: NetConf, env: CniEnv, n: AttachmentNames, statements?: string[]): Intent {
  const i: Intent = { op, group: n.group, dataDir: conf.dataDir, containerId: env.containerId, ifname: env.ifname };
  if (statements) i.statements = statements;
  return i;
}

/**
 * Removes the attachment's group: through the service's committer (the intent durable
 * first; `wait` for the commit itself), or by a commit of its own.
 */
async function removeGroup(conf: NetConf, deps: Deps, env: CniEnv, n: AttachmentNames, wait: boolean): Promise<void> {
  const committer = deps.committer?.(conf.stateDir);
  if (!committer) return commitToController(conf, deps, deleteCommands(n.group, env.containerId, env.ifname));
  const done = committer.submit(intent('del', conf, env, n), wait);
  if (wait) return done;
  done.catch(() => {}); // refused: logged, retried by reconcile
  await committer.durable();
}

/** The 802.1Q tag of the pod's own interface: a routed pod's vlanId (a bridge-domain pod's frames are untagged). */
function podVlanId(conf: NetConf): number | undefined {
  return conf.bridgeDomain === undefined ? conf.vlanId : undefined;
}

/** Name of the pod-side veth end: CNI_IFNAME itself, or a carrier under a VLAN CNI_IFNAME. */
function podLinkName(conf: NetConf, env: CniEnv, n: AttachmentNames): string {
  return podVlanId(conf) !== undefined ? `cnp${n.shortId}` : env.ifname;
}

/**
 * A bridge-domain pod's VLAN: the domain's, read from the running configuration (the
 * operator defines the domain); a `vlanId` in the network config must be that VLAN.
 */
async function bridgeVlanOf(conf: NetConf, deps: Deps): Promise<BridgeVlan> {
  if (conf.bridgeDomain === undefined) return undefined;
  const ctl = await deps.controller(conf.stateDir);
  let text = '';
  try {
    // with inheritance: a domain an operator's group defines counts too
    text = (await ctl.exec([`show configuration bridge-domains ${conf.bridgeDomain} | display inheritance | display set`])).join('\n');
  } catch (err) {
    if (err instanceof CniError) throw err;
    // a path the configuration does not have: no such domain (below)
  } finally {
    await ctl.close?.();
  }
  const m = /^set bridge-domains \S+ vlan-id (\d+)$/m.exec(text);
  if (!m) throw new CniError(ErrorCode.InvalidConfig, `bridge domain '${conf.bridgeDomain}' is not configured (set bridge-domains ${conf.bridgeDomain} vlan-id N)`);
  const vlan = Number(m[1]);
  if (conf.vlanId !== undefined && conf.vlanId !== vlan) {
    throw new CniError(ErrorCode.InvalidConfig, `"vlanId" ${conf.vlanId} is not the VLAN of bridge domain '${conf.bridgeDomain}' (${vlan})`);
  }
  return vlan;
}

export async function cmdAdd(env: CniEnv, conf: NetConf, deps: Deps): Promise<CniResult> {
  requireEnv(env, { containerId: true, netns: true, ifname: true, path: conf.ipamType !== undefined });
  assertNetns(env.netns);
  if (!conf.ipamType && !(conf.prevResult?.ips?.length) && conf.bridgeDomain === undefined) {
    throw new CniError(ErrorCode.InvalidConfig, '"ipam" is required (or a prevResult with addresses, or a "bridgeDomain")');
  }
  const n = attachmentNames(env.containerId, env.ifname);
  const bridgeVlan = await bridgeVlanOf(conf, deps);
  // A repeated ADD must not touch the existing attachment (its undo would tear it down).
  const memif = conf.interfaceType === 'memif' ? memifPlaceOf(env, conf) : undefined;
  if ((await linkExists(n.hostVeth)) || (conf.interfaceType === 'tap' && (await podLinkExists(env.netns, env.ifname))) || (memif && existsSync(memif.socket))) {
    throw new CniError(ErrorCode.Internal, `${env.containerId}/${env.ifname} is already attached (${n.hostVeth}); DEL it first`);
  }
  const rec: AttachmentRecord = {
    containerId: env.containerId,
    ifname: env.ifname,
    netns: env.netns,
    hostVeth: n.hostVeth,
    group: n.group,
    instanceName: conf.instanceName || `bridge-domain ${conf.bridgeDomain ?? ''}`,
    ips: [],
    created: new Date().toISOString(),
  };
  const podLink = podLinkName(conf, env, n);

  if (conf.interfaceType === 'tap') {
    writeRecord(conf.dataDir, conf.name, rec);
    return addTap(env, conf, deps, n, rec, bridgeVlan);
  }
  if (memif) {
    rec.memifSocket = memif.socket;
    writeRecord(conf.dataDir, conf.name, rec);
    return addMemif(env, conf, deps, n, rec, memif);
  }

  let vethMade = false;
  let ipamDone = false;
  let committed = false;
  try {
    // The IPAM plugin starts first (spawned synchronously here); the record that lets GC
    // find this attachment is written while it runs, before anything else is created.
    const ipamP = ipamFor(env, conf);
    trace('ipam spawned');
    ipamP.then(() => trace('ipam returned'), () => {});
    try {
      writeRecord(conf.dataDir, conf.name, rec);
    } catch (err) {
      ipamDone = (await Promise.allSettled([ipamP]))[0].status === 'fulfilled' && conf.ipamType !== undefined;
      throw err;
    }
    // With the service's committer, the group's statements are checked against the schema
    // while IPAM runs, in their shape for both families (documentation addresses stand in for
    // the pod's: those are well-formed by parsing), so that a bad one is refused before it
    // joins a batch of other pods' intents (it would make that commit be retried one by one).
    const committer = deps.committer?.(conf.stateDir);
    const validated = committer ? validateGroup(conf, deps, groupStatements(groupSpec(env, conf, n, SHAPE_PLAN, bridgeVlan)), n) : Promise.resolve();
    validated.then(() => trace('validated'), () => {});
    const [ipamR, validR, vethR] = await Promise.allSettled([
      ipamP,
      validated,
      createVeth({ hostVeth: n.hostVeth, hostMac: n.hostMac, ifname: podLink, podMac: n.podMac, netns: env.netns, mtu: conf.mtu }, !conf.txChecksumOffload),
    ]);
    trace('ipam and veth done');
    ipamDone = ipamR.status === 'fulfilled' && conf.ipamType !== undefined;
    vethMade = vethR.status === 'fulfilled';
    if (ipamR.status === 'rejected') throw ipamR.reason;
    if (vethR.status === 'rejected') throw vethR.reason;
    if (validR.status === 'rejected') throw validR.reason;
    const ipam = ipamR.value;
    const plan = planPod(ipam, bridgeVlan !== undefined);
    // (the record keeps no addresses: CHECK takes them from prevResult; one write less here)
    const spec = groupSpec(env, conf, n, plan, bridgeVlan);
    const statements = groupStatements(spec);

    const steps = [
      configurePod(
        env.netns,
        env.ifname,
        plan.addrs,
        plan.routes,
        podVlanId(conf) !== undefined ? { carrier: podLink, vlanId: podVlanId(conf)!, mtu: conf.mtu } : undefined,
      ).then(() => trace('pod configured')),

      committer
        ? Promise.resolve()
        : commitToController(conf, deps, addCommands(spec)).then(() => {
            committed = true;
            trace('committed');
          }),
    ];
    const results = await Promise.allSettled(steps);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    if (committer) {
      // ADD answers once the intent is committed (with the other ADDs queued meanwhile), the
      // vRouter has acknowledged it and its journal line is durable, so that the pod's first
      // packets (an ARP for its gateway) find their vif and routes.
      const done = committer.submit(intent('add', conf, env, n, statements), true);
      committed = true;
      trace('intent durable');
      await done.catch((err: unknown) => {
        // a DEL of this attachment replaced the ADD before its commit: nothing of it was committed
        if (err instanceof IntentCancelled) committed = false;
        throw new CniError(ErrorCode.Internal, err instanceof IntentCancelled ? err.message : `controller refused the configuration: ${(err as Error).message}`);
      });
      // (the pod is a static neighbour of the vRouter and the vRouter answers the pod's ARP
      // and NDP for its gateway at once: nothing to probe before the container starts)
      trace('committed and programmed');
    }

    return buildResult(env, conf, n, ipam, plan);
  } catch (err) {
    // Undo in reverse; a failure while undoing must not hide the first error.
    if (committed) await removeGroup(conf, deps, env, n, false).catch(() => {});
    if (vethMade) await deleteLink(n.hostVeth).catch(() => {});
    if (ipamDone && conf.ipamType) await ipamDel(conf.ipamType, env, conf.rawText).catch(() => {});
    removeRecord(conf.dataDir, conf.name, env.containerId, env.ifname);
    throw err;
  }
}

function ipamFor(env: CniEnv, conf: NetConf): Promise<CniResult> {
  if (conf.ipamType) return ipamAdd(conf.ipamType, env, conf.rawText);
  // a pure L2 pod: no addresses of cnr-cni's (the pod's own software may add some)
  if (!conf.prevResult) return Promise.resolve({ cniVersion: conf.cniVersion, ips: [], routes: [] });
  return Promise.resolve(unclaimedAddresses(conf.prevResult));
}

/**
 * Commits the attachment's group and waits for the commit itself (TAP and memif pods: the
 * vRouter makes their interface only then): through the service's committer after a schema
 * check, or by a commit of its own.
 */
async function commitAndWait(conf: NetConf, deps: Deps, env: CniEnv, n: AttachmentNames, spec: GroupSpec): Promise<void> {
  const committer = deps.committer?.(conf.stateDir);
  if (!committer) return commitToController(conf, deps, addCommands(spec));
  await validateGroup(conf, deps, groupStatements(spec), n);
  await committer.submit(intent('add', conf, env, n, groupStatements(spec)), true).catch((err: unknown) => {
    throw new CniError(ErrorCode.Internal, `controller refused the configuration: ${(err as Error).message}`);
  });
}

/** How long ADD waits for the vRouter to create a pod's TAP after the commit. */
export const TAP_WAIT_MS = 10_000;

/**
 * ADD of `interfaceType: tap`: the vRouter owns the pod's netdev. IPAM first (the group
 * needs the gateway addresses), then the group with `vrouter driver tap` is committed; the
 * vRouter creates the TAP under the attachment's name here, cnr-cni waits for it (bounded),
 * moves it into CNI_NETNS renamed to CNI_IFNAME with the pod's MAC and the MTU, and gives it
 * the pod's addresses and routes as for a veth. The vRouter keeps reading and writing the
 * same device through its file descriptor.
 */
async function addTap(env: CniEnv, conf: NetConf, deps: Deps, n: AttachmentNames, rec: AttachmentRecord, bridgeVlan: BridgeVlan): Promise<CniResult> {
  let ipamDone = false;
  let committed = false;
  try {
    const ipam = await ipamFor(env, conf);
    ipamDone = conf.ipamType !== undefined;
    trace('ipam done');
    const plan = planPod(ipam, bridgeVlan !== undefined);
    rec.ips = plan.addrs.map((a) => `${a.address}/${a.family === 4 ? 32 : 128}`);
    writeRecord(conf.dataDir, conf.name, rec);
    const spec = groupSpec(env, conf, n, plan, bridgeVlan);
    // the vRouter makes the TAP only once the group is committed: wait for the commit
    await commitAndWait(conf, deps, env, n, spec);
    committed = true;
    trace('committed');
    await waitForTap(n.hostVeth, TAP_WAIT_MS);
    trace('tap created by the vRouter');
    await moveTap({ name: n.hostVeth, netns: env.netns, ifname: env.ifname, mac: n.podMac, mtu: conf.mtu });
    trace('tap moved');
    await configurePod(env.netns, env.ifname, plan.addrs, plan.routes, undefined, true);
    trace('pod configured');
    return buildResult(env, conf, n, ipam, plan);
  } catch (err) {
    // The vRouter closes the TAP when the group goes; a TAP left on either side goes too.
    if (committed) await removeGroup(conf, deps, env, n, true).catch(() => {});
    await removeTapLeftovers(env.netns, env.ifname, n).catch(() => {});
    if (ipamDone && conf.ipamType) await ipamDel(conf.ipamType, env, conf.rawText).catch(() => {});
    removeRecord(conf.dataDir, conf.name, env.containerId, env.ifname);
    throw err;
  }
}

/** How long ADD waits for the vRouter to serve a memif pod's socket after the commit. */
export const MEMIF_WAIT_MS = 10_000;

async function waitFor(ok: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * ADD of `interfaceType: memif`: no netdev at all. IPAM first (the group needs the gateway
 * addresses), the pod's directory made, then the group with `vrouter driver memif` and the
 * socket's path committed; the vRouter creates and serves the socket, cnr-cni waits for it
 * (bounded) and answers with its path (`socketPath` of the pod's interface). The addresses
 * are the DPDK application's to use (it answers ARP/NDP for them, as any host does).
 */
async function addMemif(env: CniEnv, conf: NetConf, deps: Deps, n: AttachmentNames, rec: AttachmentRecord, place: MemifPlace): Promise<CniResult> {
  let ipamDone = false;
  let committed = false;
  try {
    const ipam = await ipamFor(env, conf);
    ipamDone = conf.ipamType !== undefined;
    const plan = planPod(ipam);
    rec.ips = plan.addrs.map((a) => `${a.address}/${a.family === 4 ? 32 : 128}`);
    writeRecord(conf.dataDir, conf.name, rec);
    makeMemifDir(place);
    const spec = groupSpec(env, conf, n, plan);
    await commitAndWait(conf, deps, env, n, spec);
    committed = true;
    trace('committed');
    if (!(await waitFor(() => existsSync(place.socket), MEMIF_WAIT_MS))) {
      throw new CniError(ErrorCode.TryAgainLater, `the vRouter did not create memif socket ${place.socket} within ${MEMIF_WAIT_MS / 1000} s`);
    }
    trace('memif socket served');
    return buildResult(env, conf, n, ipam, plan, place.socket);
  } catch (err) {
    if (committed) await removeGroup(conf, deps, env, n, true).catch(() => {});
    removeMemifPlace(place, conf.memifDir);
    if (ipamDone && conf.ipamType) await ipamDel(conf.ipamType, env, conf.rawText).catch(() => {});
    removeRecord(conf.dataDir, conf.name, env.containerId, env.ifname);
    throw err;
  }
}

/**
 * After the group is gone the vRouter closes the attachment's TAP, and the kernel removes a
 * TAP nobody holds. Waits (bounded) for that, then deletes what is still there: the TAP in
 * this namespace (never moved) and the pod's interface if it still has the attachment's MAC.
 */
async function removeTapLeftovers(netns: string, ifname: string, n: AttachmentNames): Promise<void> {
  const inPod = async () => netns !== '' && existsSync(netns) && (await podLinkExists(netns, ifname));
  const end = Date.now() + 2000;
  while (Date.now() < end && ((await linkExists(n.hostVeth)) || (await inPod()))) await new Promise((r) => setTimeout(r, 50));
  await deleteLink(n.hostVeth);
  if (netns !== '') await deletePodLink(netns, ifname, n.podMac);
}

/**
 * Without IPAM of its own the pod takes the prevResult's addresses that no interface
 * claims (an IPAM-only plugin before cnr-cni), or all of them when every one is claimed.
 */
function unclaimedAddresses(prev: CniResult): CniResult {
  const free = (prev.ips ?? []).filter((ip) => ip.interface === undefined);
  return { ...prev, ips: free.length ? free : (prev.ips ?? []), routes: prev.routes ?? [] };
}

function buildResult(env: CniEnv, conf: NetConf, n: AttachmentNames, ipam: CniResult, plan: PodPlan, socketPath?: string): CniResult {
  const prev = conf.prevResult;
  const interfaces: CniInterface[] = [...(prev?.interfaces ?? [])];
  // a TAP has no host side: the vRouter holds it by file descriptor
  if (conf.interfaceType === 'veth') interfaces.push({ name: n.hostVeth, mac: n.hostMac, mtu: conf.mtu });
  if (podVlanId(conf) !== undefined) interfaces.push({ name: podLinkName(conf, env, n), mac: n.podMac, mtu: conf.mtu, sandbox: env.netns });
  // a memif pod's interface is its socket: the MAC is the one the application should take (net_memif's mac=)
  const podIdx = interfaces.push({ name: env.ifname, mac: n.podMac, mtu: conf.mtu, sandbox: env.netns, ...(socketPath ? { socketPath } : {}) }) - 1;
  // With IPAM, prevResult's addresses stay (they belong to earlier plugins' interfaces);
  // without, the prevResult's addresses were the ones given to this pod interface.
  const taken = new Set((ipam.ips ?? []).map((ip) => ip.address));
  const ips: CniIp[] = conf.ipamType ? [...(prev?.ips ?? [])] : (prev?.ips ?? []).filter((ip) => !taken.has(ip.address));
  for (const a of plan.addrs) ips.push({ address: `${a.address}/${a.prefixLen ?? (a.family === 4 ? 32 : 128)}`, gateway: a.gateway, interface: podIdx });
  // Without IPAM the prevResult's routes were the plan's input: they are in plan.routes.
  const routes: CniRoute[] = conf.ipamType ? [...(prev?.routes ?? [])] : [];
  for (const r of plan.routes) routes.push({ dst: r.dst, gw: r.gw });
  const out: CniResult = { cniVersion: conf.cniVersion, interfaces, ips, routes };
  const dns = ipam.dns && Object.keys(ipam.dns).length ? ipam.dns : (conf.dns ?? prev?.dns);
  if (dns) out.dns = dns;
  return out;
}

// ---------------------------------------------------------------------------------------
// DEL

/** Whether the controller still has the attachment's group; unknown (unreachable) counts as yes. */
async function groupPresent(conf: NetConf, deps: Deps, group: string): Promise<boolean> {
  if (deps.committer?.(conf.stateDir)?.state(group).pending === 'add') return true;
  try {
    const ctl = await deps.controller(conf.stateDir);
    try {
      return (await ctl.exec([`show configuration groups ${group} | display set`])).join('').trim() !== '';
    } finally {
      await ctl.close?.();
    }
  } catch {
    return true;
  }
}

async function removeAttachment(env: CniEnv, conf: NetConf, deps: Deps): Promise<void> {
  const n = attachmentNames(env.containerId, env.ifname);
  const rec = readRecord(conf.dataDir, conf.name, env.containerId, env.ifname);
  const memif = conf.interfaceType === 'memif' ? memifPlaceOf(env, conf, rec) : undefined;
  if (!rec && !(await linkExists(n.hostVeth)) && !(await groupPresent(conf, deps, n.group))) {
    if (memif) removeMemifPlace(memif, conf.memifDir);
    // Nothing left here (a repeated DEL): release the address, commit nothing.
    if (conf.ipamType) await ipamDel(conf.ipamType, env, conf.rawText);
    if (conf.interfaceType === 'tap' && env.netns !== '') await deletePodLink(env.netns, env.ifname, n.podMac);
    return;
  }
  let controllerError: CniError | undefined;
  // A veth goes first, beside the commit (its teardown is the longest step). Waiting for the
  // commit first would not make the vRouter let go of it first: a commit does not wait for
  // the FIB export to the agent. The vRouter's AF_PACKET socket sees the netdev go; the
  // group's removal reaches it after. A TAP is the vRouter's to close, so its leftovers are
  // looked for only after the commit.
  const unlinked = conf.interfaceType === 'veth' ? deleteLink(n.hostVeth) : undefined;
  unlinked?.catch(() => {});
  // The address goes back to IPAM meanwhile: nothing else refers to it once the pod is gone.
  const released = conf.ipamType ? ipamDel(conf.ipamType, env, conf.rawText) : Promise.resolve();
  released.catch(() => {});
  try {
    // a TAP's leftovers are looked for after the commit; a veth's DEL replies on the durable intent
    await removeGroup(conf, deps, env, n, conf.interfaceType !== 'veth');
    trace('committed');
  } catch (err) {
    // Deleting a group that is not there is only a warning to the controller; what fails
    // here is a controller we cannot reach or that refuses: retried later, but only after
    // the local resources are freed.
    controllerError = asCniError(err);
  }
  if (unlinked) await unlinked;
  else if (memif) {
    // the vRouter removes the socket with the vif; what it left (it was down) goes with the directory
    await waitFor(() => !existsSync(memif.socket), 2000);
    removeMemifPlace(memif, conf.memifDir);
  } else await removeTapLeftovers(env.netns, env.ifname, n);
  trace('interface deleted');
  await released;
  trace('ipam released');
  if (controllerError && (rec || (await linkExists(n.hostVeth)))) throw controllerError;
  removeRecord(conf.dataDir, conf.name, env.containerId, env.ifname);
}

export async function cmdDel(env: CniEnv, conf: NetConf, deps: Deps): Promise<void> {
  requireEnv(env, { containerId: true, ifname: true, path: conf.ipamType !== undefined });
  await removeAttachment(env, conf, deps);
}

// ---------------------------------------------------------------------------------------
// CHECK

export async function cmdCheck(env: CniEnv, conf: NetConf, deps: Deps): Promise<void> {
  requireEnv(env, { containerId: true, netns: true, ifname: true, path: conf.ipamType !== undefined });
  const prev = conf.prevResult;
  if (!prev) throw new CniError(ErrorCode.InvalidConfig, 'CHECK needs prevResult');
  assertNetns(env.netns);
  if (conf.ipamType) await ipamCheck(conf.ipamType, env, conf.rawText);
  const n = attachmentNames(env.containerId, env.ifname);
  if (conf.interfaceType === 'memif') return checkMemif(env, conf, deps, n);
  const drift: string[] = [];
  // a TAP has no host side (the vRouter holds it by file descriptor): the group must ask for one
  const tap = conf.interfaceType === 'tap';
  if (!tap && !(await linkExists(n.hostVeth))) drift.push(`host interface ${n.hostVeth} is missing`);
  const pod = await inspectPod(env.netns, env.ifname);
  const podIdx = (prev.interfaces ?? []).findIndex((i) => i.name === env.ifname && i.sandbox === env.netns);
  if (podIdx < 0) drift.push(`prevResult has no interface ${env.ifname} in ${env.netns}`);
  if (!pod) {
    drift.push(`interface ${env.ifname} is missing in ${env.netns}`);
  } else {
    if (!pod.up) drift.push(`interface ${env.ifname} is down`);
    if (pod.mtu !== conf.mtu) drift.push(`interface ${env.ifname} has MTU ${pod.mtu}, not ${conf.mtu}`);
    const mine = (prev.ips ?? []).filter((ip) => ip.interface === podIdx);
    for (const ip of mine) {
      if (!pod.addresses.includes(ip.address)) drift.push(`address ${ip.address} is missing on ${env.ifname}`);
    }
    for (const r of prev.routes ?? []) {
      const dst = r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : r.dst;
      const fam = r.dst.includes(':');
      const found = pod.routes.some(
        (x) => (x.dst === dst || x.dst === r.dst) && (r.gw === undefined || x.gw === r.gw) && (x.gw ?? '').includes(':') === fam,
      );
      if (!found) drift.push(`route ${r.dst}${r.gw ? ` via ${r.gw}` : ''} is missing in ${env.netns}`);
    }
  }
  const queued = deps.committer?.(conf.stateDir)?.state(n.group) ?? {};
  const ctl = await deps.controller(conf.stateDir);
  try {
    const out = (await ctl.exec([`show configuration groups ${n.group} | display set`])).join('\n');
    if (queued.refused !== undefined) drift.push(`configuration group not committed: ${queued.refused}`);
    // an ADD whose group is still queued for the background commit has not drifted
    else if (queued.pending === 'add') {
      // nothing to compare yet
    } else if (!out.includes(`interfaces ${n.hostVeth}`)) drift.push(`controller configuration group ${n.group} is missing or incomplete`);
    else if (tap && !out.includes(`interfaces ${n.hostVeth} vrouter driver tap`)) drift.push(`controller configuration group ${n.group} does not ask the vRouter for a TAP`);
    else if (conf.bridgeDomain !== undefined && !out.includes(`interfaces ${n.hostVeth} unit 0 family bridge interface-mode access`)) drift.push(`controller configuration group ${n.group} does not make ${n.hostVeth} an access port`);
    // the pod's addresses: the prevResult's of its interface (and a record's, if it has them)
    const rec = readRecord(conf.dataDir, conf.name, env.containerId, env.ifname);
    const podIps = new Set([...(prev.ips ?? []).filter((ip) => ip.interface === podIdx).map((ip) => ip.address), ...(rec?.ips ?? [])]);
    // a bridge-domain pod's addresses are learned by the switch, not routed: nothing to compare
    const compare = queued.refused === undefined && queued.pending !== 'add' && conf.bridgeDomain === undefined;
    for (const ip of podIps) if (compare && !out.includes(`route ${ip}`)) drift.push(`controller has no route ${ip} in ${n.group}`);
  } finally {
    await ctl.close?.();
  }
  if (drift.length) throw new CniError(100, `attachment ${env.containerId}/${env.ifname} drifted: ${drift.join('; ')}`, drift.join('\n'));
}

/** CHECK of a memif attachment: its socket is served and its group asks for it. */
async function checkMemif(env: CniEnv, conf: NetConf, deps: Deps, n: AttachmentNames): Promise<void> {
  const place = memifPlaceOf(env, conf, readRecord(conf.dataDir, conf.name, env.containerId, env.ifname));
  const drift: string[] = [];
  if (!existsSync(place.socket)) drift.push(`memif socket ${place.socket} is missing`);
  const queued = deps.committer?.(conf.stateDir)?.state(n.group) ?? {};
  const ctl = await deps.controller(conf.stateDir);
  try {
    const out = (await ctl.exec([`show configuration groups ${n.group} | display set`])).join('\n');
    if (queued.refused !== undefined) drift.push(`configuration group not committed: ${queued.refused}`);
    else if (queued.pending !== 'add' && !out.includes(`interfaces ${n.hostVeth} vrouter memif socket ${place.socket}`)) drift.push(`controller configuration group ${n.group} does not serve ${place.socket}`);
  } finally {
    await ctl.close?.();
  }
  if (drift.length) throw new CniError(100, `attachment ${env.containerId}/${env.ifname} drifted: ${drift.join('; ')}`, drift.join('\n'));
}

// ---------------------------------------------------------------------------------------
// GC and STATUS

export async function cmdGc(env: CniEnv, conf: NetConf, deps: Deps): Promise<void> {
  if (conf.ipamType) requireEnv(env, { path: true });
  const valid = new Set((conf.validAttachments ?? []).map((a) => `${a.containerId}/${a.ifname}`));
  const errors: string[] = [];
  for (const rec of listRecords(conf.dataDir, conf.name)) {
    if (valid.has(`${rec.containerId}/${rec.ifname}`)) continue;
    // an ADD that replied moments ago may postdate the runtime's list: its group is still queued
    if (deps.committer?.(conf.stateDir)?.state(rec.group).pending === 'add') continue;
    const vars = { ...env.vars, CNI_COMMAND: 'DEL', CNI_CONTAINERID: rec.containerId, CNI_IFNAME: rec.ifname, CNI_NETNS: '' };
    try {
      await removeAttachment(readEnv(vars), conf, deps);
    } catch (err) {
      errors.push(`${rec.containerId}/${rec.ifname}: ${(err as Error).message}`);
    }
  }
  if (conf.ipamType) {
    try {
      await ipamGc(conf.ipamType, env, conf.rawText);
    } catch (err) {
      errors.push(`IPAM GC: ${(err as Error).message}`);
    }
  }
  if (errors.length) throw new CniError(ErrorCode.TryAgainLater, `GC left attachments behind: ${errors.join('; ')}`);
}

export async function cmdStatus(env: CniEnv, conf: NetConf, deps: Deps): Promise<void> {
  if (conf.ipamType) {
    try {
      findPlugin(conf.ipamType, env.path);
    } catch (err) {
      throw new CniError(ErrorCode.NotAvailable, (err as Error).message);
    }
  }
  const backlog = deps.committer?.(conf.stateDir)?.backlog();
  if (backlog?.reason !== undefined) {
    throw new CniError(
      ErrorCode.NotAvailable,
      `the controller refuses ${backlog.refused} attachment(s) (${backlog.waiting} more waiting to be committed): ${backlog.reason}`,
    );
  }
  if (!existsSync(join(conf.stateDir, 'mgmt.sock'))) {
    throw new CniError(ErrorCode.NotAvailable, `controller not running: no ${join(conf.stateDir, 'mgmt.sock')}`);
  }
  let ctl: ControllerConfig;
  try {
    ctl = await deps.controller(conf.stateDir);
  } catch (err) {
    throw new CniError(ErrorCode.NotAvailable, (err as Error).message);
  }
  try {
    await ctl.exec(['show system commit']);
  } catch (err) {
    throw new CniError(ErrorCode.NotAvailable, `controller does not answer: ${(err as Error).message}`);
  } finally {
    await ctl.close?.();
  }
}
