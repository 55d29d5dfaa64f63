/**
 * CNI results and their versions. Inside the plugin a result always has the 1.x shape;
 * `parseResult` accepts any supported version's shape (IPAM plugins and prevResult may
 * speak 0.3.x/0.4.0, whose ips carry a "version" field), and `formatResult` writes the
 * shape of the version the runtime asked for, so a 0.3.1 config gets a 0.3.1 result.
 */
import { CniError, ErrorCode } from './errors.js';
import { isRecord } from '../controller/config/tree.js';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION = '1.1.0';

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
  /** 1.1.0 */
  mtu?: number;
  /** 1.1.0: the socket of a socket-based interface (memif) */
  socketPath?: string;
}

export interface CniIp {
  /** CIDR: address/prefix length */
  address: string;
  gateway?: string;
  /** index into interfaces */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  /** 1.1.0 route attributes */
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: CniRoute[];
  dns?: CniDns;
}

export function isSupportedVersion(v: unknown): v is string {
  return typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Compares dotted versions numerically: -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function optString(o: Record<string, unknown>, key: string, what: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new CniError(ErrorCode.DecodeFailure, `${what}: "${key}" must be a string`);
  return v;
}

function optNumber(o: Record<string, unknown>, key: string, what: string): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new CniError(ErrorCode.DecodeFailure, `${what}: "${key}" must be an integer`);
  }
  return v;
}

function optStrings(o: Record<string, unknown>, key: string, what: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new CniError(ErrorCode.DecodeFailure, `${what}: "${key}" must be a list of strings`);
  }
  return v as string[];
}

export function parseRoute(raw: unknown, what: string): CniRoute {
  if (!isRecord(raw)) throw new CniError(ErrorCode.DecodeFailure, `${what}: a route must be an object`);
  const dst = optString(raw, 'dst', what);
  if (!dst) throw new CniError(ErrorCode.DecodeFailure, `${what}: a route needs "dst"`);
  const r: CniRoute = { dst };
  const gw = optString(raw, 'gw', what);
  if (gw) r.gw = gw;
  for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
    const n = optNumber(raw, k, what);
    if (n !== undefined) r[k] = n;
  }
  return r;
}

/** Reads a result of any supported version (from an IPAM plugin or prevResult). */
export function parseResult(raw: unknown, what = 'result'): CniResult {
  if (!isRecord(raw)) throw new CniError(ErrorCode.DecodeFailure, `${what} must be a JSON object`);
  const cniVersion = typeof raw.cniVersion === 'string' ? raw.cniVersion : LATEST_VERSION;
  const out: CniResult = { cniVersion };
  if (raw.interfaces !== undefined && raw.interfaces !== null) {
    if (!Array.isArray(raw.interfaces)) throw new CniError(ErrorCode.DecodeFailure, `${what}: "interfaces" must be a list`);
    out.interfaces = raw.interfaces.map((i) => {
      if (!isRecord(i)) throw new CniError(ErrorCode.DecodeFailure, `${what}: an interface must be an object`);
      const name = optString(i, 'name', what);
      if (!name) throw new CniError(ErrorCode.DecodeFailure, `${what}: an interface needs "name"`);
      const itf: CniInterface = { name };
      const mac = optString(i, 'mac', what);
      if (mac) itf.mac = mac;
      const sandbox = optString(i, 'sandbox', what);
      if (sandbox) itf.sandbox = sandbox;
      const socketPath = optString(i, 'socketPath', what);
      if (socketPath) itf.socketPath = socketPath;
      const mtu = optNumber(i, 'mtu', what);
      if (mtu !== undefined) itf.mtu = mtu;
      return itf;
    });
  }
  if (raw.ips !== undefined && raw.ips !== null) {
    if (!Array.isArray(raw.ips)) throw new CniError(ErrorCode.DecodeFailure, `${what}: "ips" must be a list`);
    out.ips = raw.ips.map((ip) => {
      if (!isRecord(ip)) throw new CniError(ErrorCode.DecodeFailure, `${what}: an ip must be an object`);
      const address = optString(ip, 'address', what);
      if (!address) throw new CniError(ErrorCode.DecodeFailure, `${what}: an ip needs "address"`);
      const o: CniIp = { address };
      const gateway = optString(ip, 'gateway', what);
      if (gateway) o.gateway = gateway;
      const itf = optNumber(ip, 'interface', what);
      if (itf !== undefined) o.interface = itf;
      return o;
    });
  }
  if (raw.routes !== undefined && raw.routes !== null) {
    if (!Array.isArray(raw.routes)) throw new CniError(ErrorCode.DecodeFailure, `${what}: "routes" must be a list`);
    out.routes = raw.routes.map((r) => parseRoute(r, what));
  }
  if (isRecord(raw.dns)) {
    const dns: CniDns = {};
    const ns = optStrings(raw.dns, 'nameservers', what);
    if (ns) dns.nameservers = ns;
    const domain = optString(raw.dns, 'domain', what);
    if (domain) dns.domain = domain;
    const search = optStrings(raw.dns, 'search', what);
    if (search) dns.search = search;
    const options = optStrings(raw.dns, 'options', what);
    if (options) dns.options = options;
    out.dns = dns;
  }
  return out;
}

/** The JSON object of `r` in the shape of CNI version `version`. */
export function formatResult(r: CniResult, version: string): Record<string, unknown> {
  const v1 = compareVersions(version, '1.0.0') >= 0;
  const v11 = compareVersions(version, '1.1.0') >= 0;
  const out: Record<string, unknown> = { cniVersion: version };
  if (r.interfaces) {
    out.interfaces = r.interfaces.map((i) => {
      const o: Record<string, unknown> = { name: i.name };
      if (i.mac) o.mac = i.mac;
      if (v11 && i.mtu !== undefined) o.mtu = i.mtu;
      if (i.sandbox) o.sandbox = i.sandbox;
      // 1.1.0's field; given to older versions too, since a memif pod has nothing else to find its socket by
      if (i.socketPath) o.socketPath = i.socketPath;
      return o;
    });
  }
  if (r.ips) {
    out.ips = r.ips.map((ip) => {
      const o: Record<string, unknown> = {};
      // 0.3.x and 0.4.0 name the family of each address; 1.0.0 dropped the field.
      if (!v1) o.version = ip.address.includes(':') ? '6' : '4';
      if (ip.interface !== undefined) o.interface = ip.interface;
      o.address = ip.address;
      if (ip.gateway) o.gateway = ip.gateway;
      return o;
    });
  }
  if (r.routes) {
    out.routes = r.routes.map((rt) => {
      const o: Record<string, unknown> = { dst: rt.dst };
      if (rt.gw) o.gw = rt.gw;
      if (v11) for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) if (rt[k] !== undefined) o[k] = rt[k];
      return o;
    });
  }
  out.dns = r.dns ?? {};
  return out;
}
