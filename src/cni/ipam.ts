/**
 * IPAM delegation, as the reference plugins do it (libcni's invoke.DelegateAdd/Del): find
 * the plugin named by ipam.type on CNI_PATH, run it with our own environment (CNI_COMMAND
 * included) and the network configuration on stdin, and read its result or error.
 *
 * One deviation: Debian's plugins speak CNI up to 1.0.0 and refuse 1.1.0 configurations
 * with code 1; then the same configuration is retried labelled 1.0.0, whose result shape
 * is the same.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from './errors.js';
import { execFile } from './exec.js';
import { parseResult, type CniResult } from './result.js';
import type { CniEnv } from './config.js';

export function findPlugin(type: string, path: readonly string[]): string {
  for (const dir of path) {
    const p = join(dir, type);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next directory
    }
  }
  throw new CniError(ErrorCode.InvalidConfig, `failed to find plugin "${type}" in path [${path.join(' ')}]`);
}

function pluginError(stdout: string, stderr: string, type: string, code: number): CniError {
  try {
    const e = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof e.code === 'number' && typeof e.msg === 'string') {
      return new CniError(e.code, `${type}: ${e.msg}`, typeof e.details === 'string' ? e.details : '');
    }
  } catch {
    // not a CNI error object
  }
  return new CniError(ErrorCode.Internal, `${type} failed (exit ${code}): ${(stderr || stdout).trim()}`);
}

async function delegate(type: string, command: string, env: CniEnv, configText: string): Promise<string> {
  const plugin = findPlugin(type, env.path);
  const vars = { ...env.vars, CNI_COMMAND: command };
  let r = await execFile(plugin, [], { env: vars, input: configText });
  if (r.code !== 0) {
    let err = pluginError(r.stdout, r.stderr, type, r.code);
    if (err.code === ErrorCode.IncompatibleVersion) {
      const conf = JSON.parse(configText) as Record<string, unknown>;
      if (conf.cniVersion === '1.1.0') {
        r = await execFile(plugin, [], { env: vars, input: JSON.stringify({ ...conf, cniVersion: '1.0.0' }) });
        if (r.code === 0) return r.stdout;
        err = pluginError(r.stdout, r.stderr, type, r.code);
      }
    }
    throw err;
  }
  return r.stdout;
}

export async function ipamAdd(type: string, env: CniEnv, configText: string): Promise<CniResult> {
  const out = await delegate(type, 'ADD', env, configText);
  let raw: unknown;
  try {
    raw = JSON.parse(out);
  } catch {
    throw new CniError(ErrorCode.DecodeFailure, `${type}: result is not JSON: ${out.slice(0, 200)}`);
  }
  return parseResult(raw, `${type} result`);
}

export async function ipamDel(type: string, env: CniEnv, configText: string): Promise<void> {
  await delegate(type, 'DEL', env, configText);
}

export async function ipamCheck(type: string, env: CniEnv, configText: string): Promise<void> {
  await delegate(type, 'CHECK', env, configText);
}

/** The CNI versions the IPAM plugin speaks (its VERSION answer). */
export async function ipamVersions(type: string, env: CniEnv): Promise<string[]> {
  const r = await execFile(findPlugin(type, env.path), [], { env: { ...env.vars, CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.1.0"}' });
  try {
    const v = JSON.parse(r.stdout) as { supportedVersions?: unknown };
    return Array.isArray(v.supportedVersions) ? v.supportedVersions.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * GC is delegated only to IPAM plugins that speak 1.1.0 (older ones do not know the
 * command); the others had their allocations released by the per-attachment DELs.
 */
export async function ipamGc(type: string, env: CniEnv, configText: string): Promise<boolean> {
  if (!(await ipamVersions(type, env)).includes('1.1.0')) return false;
  await delegate(type, 'GC', env, configText);
  return true;
}
