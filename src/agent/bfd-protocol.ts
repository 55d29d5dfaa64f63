/**
 * The messages between the agent's BFD host (bfd-host.ts, on the vRouter's event loop) and the BFD worker
 * (bfd-worker.ts), and the one description of a hosted session both hand around (also what
 * the agent reports to the controller, proto/agent.proto BfdSessionState).
 */
import type { BfdSessionConfig, BfdSessionKey } from '../bfd/index.js';
import type { BfdState } from '../wire/bfd.js';

export interface BfdSessionInfo {
  /** the contract's name of the session (bfdSessionId) */
  id: string;
  multihop: boolean;
  interface: string;
  local: string;
  peer: string;
  state: BfdState;
  remoteState: BfdState;
  localDiag: number;
  remoteDiag: number;
  localDiscr: number;
  remoteDiscr: number;
  /** configured */
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  detectMult: number;
  /** negotiated: our transmit interval before jitter, and the peer's (what detection uses) */
  txIntervalUs: number;
  rxIntervalUs: number;
  detectionTimeUs: number;
  remoteDetectMult: number;
  remoteMinRxUs: number;
  remoteMinTxUs: number;
  remoteControlPlaneIndependent: boolean;
  flaps: number;
  upTransitions: number;
  rxPackets: number;
  txPackets: number;
  discarded: number;
  /** wall clock of the last state change, ms since the epoch */
  changedAtMs: number;
  upForMs: number;
  cause: string;
  clients: string[];
  sourcePort: number;
}

export type ToBfdWorker =
  | { op: 'set'; req: number; id: string; key: BfdSessionKey; config: BfdSessionConfig; clients: string[] }
  | { op: 'delete'; req: number; id: string }
  | { op: 'list'; req: number }
  | { op: 'stop' };

export type FromBfdWorker =
  | { ev: 'ready'; tid: number; niced: boolean }
  | { ev: 'stopped' }
  | { ev: 'applied'; req: number; info?: BfdSessionInfo; error?: string }
  | { ev: 'list'; req: number; sessions: BfdSessionInfo[]; discards: Record<string, number> }
  | { ev: 'state'; info: BfdSessionInfo; from: BfdState; diag: number }
  | { ev: 'error'; message: string };
