/**
 * BFD (RFC 5880, single hop RFC 5881, multihop RFC 5883) in the protocol pattern of
 * docs/design.md: session.ts holds one session's state and timer arithmetic, fsm.ts the
 * state machine, events.ts one handler per input, session-table.ts the demultiplexing,
 * instance.ts the entry points a host calls. The packet codec is src/wire/bfd.ts. This
 * module imports only src/wire and src/lib and reads no clock, so it can run inside the
 * vRouter (docs/bfd.md says what exists and what is still missing).
 */
export { BfdInstance, type BfdInstanceOptions, encodeSessionPacket } from './instance.js';
export type { BfdContext, BfdDiscardReason, BfdOutput } from './events.js';
export { type State, type Event, type Transition, transition } from './fsm.js';
export { type BfdSession, type BfdSessionConfig, type BfdSessionKey, SLOW_TX_US, detectionTimeUs, jittered, sessionKeyText, txIntervalUs } from './session.js';
export { type BfdPacketMeta, SessionTable } from './session-table.js';
