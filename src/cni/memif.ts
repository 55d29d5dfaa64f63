/**
 * Where a memif pod's socket lives (interfaceType memif, docs/memif.md): one directory per
 * pod under `memifDir`, named after the pod as Kubernetes knows it (NAMESPACE/POD, from
 * CNI_ARGS) so that a pod spec can mount it before the pod exists — hostPath
 * MEMIFDIR/NAMESPACE with `subPathExpr: $(POD_NAME)` — or after the container id when the
 * runtime gives no pod name. The socket inside is named after CNI_IFNAME. The vRouter
 * creates the socket (it serves it); cnr-cni makes and removes the directory.
 */
import { mkdirSync, rmSync, existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from './errors.js';

export const DEFAULT_MEMIF_DIR = '/run/cnr/memif';
/** sun_path holds 107 bytes and a NUL */
const SOCKET_PATH_MAX = 107;

export interface MemifPlace {
  dir: string;
  socket: string;
}

/** The pod's directory and socket path; `pod` is "namespace/name" when the runtime named it. */
export function memifPlace(memifDir: string, containerId: string, ifname: string, pod?: string): MemifPlace {
  const dir = pod ? join(memifDir, ...pod.split('/')) : join(memifDir, containerId);
  const socket = join(dir, `${ifname}.sock`);
  if (Buffer.byteLength(socket) > SOCKET_PATH_MAX) {
    throw new CniError(ErrorCode.InvalidConfig, `memif socket path ${socket} is longer than ${SOCKET_PATH_MAX} bytes (a unix socket's limit): use a shorter "memifDir"`);
  }
  return { dir, socket };
}

/** Make the pod's directory (and its parents); the pod's application reaches the socket through it. */
export function makeMemifDir(p: MemifPlace): void {
  mkdirSync(p.dir, { recursive: true, mode: 0o755 });
}

/**
 * After the vif is gone (the vRouter removed its socket): remove the socket if it was left
 * behind, then the pod's directory when nothing else is in it, then an emptied namespace
 * directory above it (never memifDir itself).
 */
export function removeMemifPlace(p: MemifPlace, memifDir: string): void {
  rmSync(p.socket, { force: true });
  for (let d = p.dir; d.startsWith(memifDir + '/') && d !== memifDir; d = join(d, '..')) {
    if (!existsSync(d)) continue;
    if (readdirSync(d).length > 0) break;
    rmdirSync(d);
  }
}
