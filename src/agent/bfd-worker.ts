/**
 * The BFD worker thread of the vRouter (docs/bfd.md, "Hosting"): it owns the BFD instance
 * (src/bfd), the UDP sockets (bfd-socket.ts) and the clock, and runs one loop — poll(2) on
 * the sockets and a wake fd until the next transmit or detection deadline, then read what
 * came, apply the host's requests, fire the timers. A thread of its own, so neither a busy
 * controller (with `cnr start --vrouter-thread off` it shares the process's main thread with the agent) nor a
 * controller restart delays a packet or a detection. Requests arrive on a MessagePort read
 * with receiveMessageOnPort after the wake fd fires (the loop never returns to the event
 * loop while sessions run); state changes and replies go back by postMessage.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { BfdInstance, type BfdOutput, type BfdSession, type BfdSessionConfig, detectionTimeUs, encodeSessionPacket, sessionKeyText, txIntervalUs } from '../bfd/index.js';
import { BFD_PORT_MULTIHOP, BFD_PORT_SINGLE_HOP } from '../wire/bfd.js';
import { drainWakeFd, libc, pollReadable } from '../sys/libc.js';
import { nameThisThread } from '../sys/thread-name.js';
import { closeSocket, openReceiveSocket, openSendSocket, Receiver, sendDatagram, sockaddr } from './bfd-socket.js';
import type { BfdSessionInfo, FromBfdWorker, ToBfdWorker } from './bfd-protocol.js';

interface WorkerInit {
  port: MessagePort;
  wakeFd: number;
  /** the host interface the sockets bind to (vhost0), if any */
  device?: string;
}

interface Hosted {
  id: string;
  session: BfdSession;
  /** the peer's sockaddr and port, built once */
  to: Uint8Array;
  tx: { fd: number; port: number };
  rxKey: string;
  clients: string[];
  /** wall-clock time of the last state change */
  changedAtMs: number;
}

/** the BFD thread's nice value (setpriority(2) takes the low 32 bits as an int) */
const NICE_BFD = -10;

const nowUs = (): number => Math.floor(performance.now() * 1000);

function main(init: WorkerInit): void {
  const { port, wakeFd, device } = init;
  const post = (m: FromBfdWorker) => parentPort!.postMessage(m);
  const bfd = new BfdInstance();
  const receiver = new Receiver();
  const byId = new Map<string, Hosted>();
  const byKey = new Map<string, Hosted>();
  /** receive sockets by "address|port", with the sessions using each */
  const rx = new Map<string, { fd: number; local: string; port: number; users: number }>();
  /** send sockets by local address (one source port per address, every session from it) */
  const tx = new Map<string, { fd: number; port: number; users: number }>();
  /** single-hop: the vRouter interface that holds a local address (the kernel sees vhost0) */
  const ifnameByLocal = new Map<string, string>();
  const buf = new Uint8Array(128);
  /** socket errors already told to the host */
  const reported = new Set<string>();
  let running = true;

  const info = (h: Hosted, now: number): BfdSessionInfo => {
    const s = h.session;
    return {
      id: h.id,
      multihop: s.key.kind === 'multihop',
      interface: s.key.kind === 'single-hop' ? s.key.ifname : '',
      local: s.key.local,
      peer: s.key.peer,
      state: s.state,
      remoteState: s.remoteState,
      localDiag: s.localDiag,
      remoteDiag: s.remoteDiag,
      localDiscr: s.localDiscr,
      remoteDiscr: s.remoteDiscr,
      desiredMinTxUs: s.config.desiredMinTxUs,
      requiredMinRxUs: s.config.requiredMinRxUs,
      detectMult: s.config.detectMult,
      txIntervalUs: txIntervalUs(s),
      rxIntervalUs: Math.max(s.rxInUseUs, s.remoteDesiredMinTxUs),
      detectionTimeUs: detectionTimeUs(s),
      remoteDetectMult: s.remoteDetectMult,
      remoteMinRxUs: s.remoteMinRxUs,
      remoteMinTxUs: s.remoteDesiredMinTxUs,
      remoteControlPlaneIndependent: s.remoteControlPlaneIndependent,
      flaps: s.counters.flaps,
      upTransitions: s.counters.upTransitions,
      rxPackets: s.counters.rxPackets,
      txPackets: s.counters.txPackets,
      discarded: s.counters.discarded,
      changedAtMs: h.changedAtMs,
      upForMs: s.state === 'Up' ? Math.floor((now - s.sinceUs) / 1000) : 0,
      cause: s.lastCause,
      clients: h.clients,
      sourcePort: h.tx.port,
    };
  };

  const handle = (outs: BfdOutput[]) => {
    for (const o of outs) {
      if (o.kind === 'send') {
        const h = byKey.get(sessionKeyText(o.key));
        if (!h) continue;
        const end = encodeSessionPacket(h.session, o.packet, buf);
        sendDatagram(h.tx.fd, buf.subarray(0, end), h.to);
      } else if (o.kind === 'state-change') {
        const h = byKey.get(sessionKeyText(o.key));
        if (!h) continue;
        h.changedAtMs = Date.now();
        post({ ev: 'state', info: info(h, nowUs()), from: o.from, diag: o.diag });
      }
      // discards are counted by the instance (bfd.discards()), read with the session list
    }
  };

  const acquireRx = (local: string, p: number): string => {
    const k = `${local}|${p}`;
    let r = rx.get(k);
    if (!r) {
      r = { fd: openReceiveSocket(local, p, device), local, port: p, users: 0 };
      rx.set(k, r);
    }
    r.users++;
    return k;
  };
  const releaseRx = (k: string) => {
    const r = rx.get(k);
    if (r && --r.users === 0) {
      closeSocket(r.fd);
      rx.delete(k);
    }
  };
  const acquireTx = (local: string): { fd: number; port: number } => {
    let t = tx.get(local);
    if (!t) {
      // spread the addresses over the range, so restarts rarely meet a port in TIME_WAIT-like use
      const s = openSendSocket(local, 49152 + (tx.size * 97) % 16384, device);
      t = { ...s, users: 0 };
      tx.set(local, t);
    }
    t.users++;
    return t;
  };
  const releaseTx = (local: string) => {
    const t = tx.get(local);
    if (t && --t.users === 0) {
      closeSocket(t.fd);
      tx.delete(local);
    }
  };

  const remove = (id: string, now: number) => {
    const h = byId.get(id);
    if (!h) return;
    // tell the peer first (section 6.8.16: AdminDown before the session goes away)
    if (h.session.state !== 'AdminDown') handle(bfd.setAdminDown(h.session.key, true, now));
    bfd.removeSession(h.session.key);
    byId.delete(id);
    byKey.delete(sessionKeyText(h.session.key));
    releaseRx(h.rxKey);
    releaseTx(h.session.key.local);
  };

  const apply = (m: ToBfdWorker) => {
    const now = nowUs();
    switch (m.op) {
      case 'set': {
        const old = byId.get(m.id);
        if (old) {
          old.clients = m.clients;
          const c = old.session.config;
          if (c.desiredMinTxUs !== m.config.desiredMinTxUs || c.requiredMinRxUs !== m.config.requiredMinRxUs || c.detectMult !== m.config.detectMult) {
            handle(bfd.changeTimers(old.session.key, m.config, now));
          }
          if (!sameAuth(c.auth, m.config.auth) || c.minTtl !== m.config.minTtl) bfd.changeChecks(old.session.key, { auth: m.config.auth, minTtl: m.config.minTtl });
          if ((old.session.state === 'AdminDown') !== (m.config.adminDown === true)) handle(bfd.setAdminDown(old.session.key, m.config.adminDown === true, now));
          post({ ev: 'applied', req: m.req, info: info(old, now) });
          return;
        }
        let rxKey: string | undefined;
        let txOpened = false;
        try {
          rxKey = acquireRx(m.key.local, m.key.kind === 'multihop' ? BFD_PORT_MULTIHOP : BFD_PORT_SINGLE_HOP);
          const t = acquireTx(m.key.local);
          txOpened = true;
          const session = bfd.addSession(m.key, m.config, now);
          const h: Hosted = { id: m.id, session, to: sockaddr(m.key.peer, m.key.kind === 'multihop' ? BFD_PORT_MULTIHOP : BFD_PORT_SINGLE_HOP), tx: t, rxKey, clients: m.clients, changedAtMs: Date.now() };
          byId.set(m.id, h);
          byKey.set(sessionKeyText(m.key), h);
          if (m.key.kind === 'single-hop') ifnameByLocal.set(m.key.local, m.key.ifname);
          post({ ev: 'applied', req: m.req, info: info(h, now) });
        } catch (err) {
          if (txOpened) releaseTx(m.key.local);
          if (rxKey) releaseRx(rxKey);
          post({ ev: 'applied', req: m.req, error: err instanceof Error ? err.message : String(err) });
        }
        return;
      }
      case 'delete':
        remove(m.id, now);
        post({ ev: 'applied', req: m.req });
        return;
      case 'list':
        post({ ev: 'list', req: m.req, sessions: [...byId.values()].map((h) => info(h, now)), discards: Object.fromEntries(bfd.discards()) });
        return;
      case 'stop':
        for (const id of [...byId.keys()]) remove(id, now);
        running = false;
        return;
    }
  };

  // the thread's id, so its CPU time can be read apart from the process's (/proc/PID/task/TID)
  const tid = Number(libc().syscall(process.arch === 'arm64' ? 178 : 186, 0, 0, 0));
  // a packet late by a detection time is a false Down at the peer: this thread, which does
  // little but must do it on time, runs at nice -10 where allowed (root), ahead of the
  // controller and the data plane's busy threads (setpriority on the thread's own id)
  const niced = Number(libc().syscall(process.arch === 'arm64' ? 140 : 141, 0, tid, NICE_BFD >>> 0)) === 0;
  nameThisThread('cnr-bfd');
  post({ ev: 'ready', tid, niced });
  const fds: number[] = [];
  while (running) {
    fds.length = 0;
    fds.push(wakeFd);
    const rxList = [...rx.values()];
    for (const r of rxList) fds.push(r.fd);
    const next = bfd.nextDeadlineUs();
    const timeoutMs = next === undefined ? 1000 : Math.max(0, Math.ceil((next - nowUs()) / 1000));
    pollReadable(fds, timeoutMs);
    drainWakeFd(wakeFd);
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) apply(m.message as ToBfdWorker);
    if (!running) break;
    for (const r of rxList) {
      if (!rx.has(`${r.local}|${r.port}`)) continue;
      try {
        for (let d = receiver.receive(r.fd); d; d = receiver.receive(r.fd)) {
          const dst = d.dstAddress || r.local;
          const meta = { ifname: ifnameByLocal.get(dst) ?? '', srcAddress: d.srcAddress, dstAddress: dst, srcPort: d.srcPort, dstPort: r.port, ttl: d.ttl };
          handle(bfd.receive(d.payload, meta, nowUs()));
        }
      } catch (err) {
        // a socket error must not stop the other sessions: say it (once per kind) and go on
        const text = err instanceof Error ? err.message : String(err);
        if (!reported.has(text)) {
          reported.add(text);
          post({ ev: 'error', message: `receiving on ${r.local} port ${r.port}: ${text}` });
        }
      }
    }
    handle(bfd.tick(nowUs()));
  }
  port.close();
  post({ ev: 'stopped' });
}

main(workerData as WorkerInit);

/** Whether two sessions' authentication settings are the same (type, key id and key bytes). */
function sameAuth(a: BfdSessionConfig['auth'], b: BfdSessionConfig['auth']): boolean {
  if (!a || !b) return a === b;
  return a.type === b.type && a.keyId === b.keyId && Buffer.from(a.key).equals(Buffer.from(b.key));
}
