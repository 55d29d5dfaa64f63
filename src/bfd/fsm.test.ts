/**
 * The RFC 5880 section 6.2 diagram, edge by edge: every state against every event, read
 * from the RFC's figure and the section 6.8.6 state rules (not from the code).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Event, type State, transition } from './fsm.js';

/** a peer's packet in `state`; the FSM reads only the state */
const pkt = (state: State): Event => ({
  name: 'PacketReceived',
  packet: { state, diag: 0, poll: false, final: false, controlPlaneIndependent: false, demand: false, detectMult: 3, myDiscriminator: 7, yourDiscriminator: 1, desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, requiredMinEchoRxUs: 0 },
});

/** [state, event, next state or '-' for none, diag (undefined: kept)] */
const TABLE: [State, Event, State | '-', number?][] = [
  ['Down', pkt('AdminDown'), '-'],
  ['Down', pkt('Down'), 'Init', undefined],
  ['Down', pkt('Init'), 'Up', 0],
  ['Down', pkt('Up'), '-'],
  ['Down', { name: 'DetectionTimerExpired' }, '-'],
  ['Init', pkt('AdminDown'), 'Down', 3],
  ['Init', pkt('Down'), '-'],
  ['Init', pkt('Init'), 'Up', 0],
  ['Init', pkt('Up'), 'Up', 0],
  ['Init', { name: 'DetectionTimerExpired' }, 'Down', 1],
  ['Up', pkt('AdminDown'), 'Down', 3],
  ['Up', pkt('Down'), 'Down', 3],
  ['Up', pkt('Init'), '-'],
  ['Up', pkt('Up'), '-'],
  ['Up', { name: 'DetectionTimerExpired' }, 'Down', 1],
  ['AdminDown', pkt('Down'), '-'],
  ['AdminDown', pkt('Up'), '-'],
  ['AdminDown', { name: 'DetectionTimerExpired' }, '-'],
  ['AdminDown', { name: 'AdminDown' }, '-'],
  ['AdminDown', { name: 'AdminUp' }, 'Down', 0],
  ['Down', { name: 'AdminDown' }, 'AdminDown', 7],
  ['Init', { name: 'AdminDown' }, 'AdminDown', 7],
  ['Up', { name: 'AdminDown' }, 'AdminDown', 7],
  ['Up', { name: 'AdminUp' }, '-'],
];

for (const [state, event, next, diag] of TABLE) {
  test(`bfd fsm: ${state} + ${event.name}${event.name === 'PacketReceived' ? ` (${event.packet.state})` : ''} -> ${next}`, () => {
    const t = transition(state, event);
    if (next === '-') assert.equal(t, undefined);
    else {
      assert.ok(t);
      assert.equal(t.next, next);
      assert.equal(t.diag, diag);
      assert.ok(t.cause.length > 0);
    }
  });
}
