// FSM step tests: events in, actions and states out, no socket and no clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectRetryDelay, idleHoldDelay, initialSnapshot, step, type Action, type Event, type FsmSnapshot, type State, type Timer } from './fsm.js';
import { notifyError } from '../../../wire/bgp/errors.js';

const CONFIG = { passive: false, holdTime: 90, connectRetryTime: 30, idleHoldTime: 5 };

function run(s: FsmSnapshot, events: Event[]): { s: FsmSnapshot; actions: Action[]; log: string[] } {
  const actions: Action[] = [];
  const log: string[] = [];
  for (const e of events) {
    const t = step(s, e);
    s = t.next;
    actions.push(...t.actions);
    log.push(t.log);
  }
  return { s, actions, log };
}

const has = (actions: Action[], what: string) => actions.some((a) => a.do === what);

test('active peer: Idle -> Connect -> OpenSent -> OpenConfirm -> Established', () => {
  const r = run(initialSnapshot(CONFIG), [{ name: 'ManualStart' }, { name: 'Tcp_CR_Acked' }, { name: 'BGPOpen', holdTime: 30 }, { name: 'KeepAliveMsg' }]);
  assert.equal(r.s.state, 'Established');
  assert.deepEqual(r.log, ['Idle -> Connect on ManualStart', 'Connect -> OpenSent on Tcp_CR_Acked', 'OpenSent -> OpenConfirm on BGPOpen', 'OpenConfirm -> Established on KeepAliveMsg']);
  assert.ok(has(r.actions, 'connect') && has(r.actions, 'send-open') && has(r.actions, 'send-keepalive') && has(r.actions, 'session-up'));
  assert.ok(r.actions.some((a) => a.do === 'start-timer' && a.timer === 'KeepaliveTimer' && a.seconds === 10), 'keepalive = hold / 3');
  assert.ok(r.actions.some((a) => a.do === 'start-timer' && a.timer === 'HoldTimer' && a.seconds === 30));
});

test('passive peer waits in Active and never connects', () => {
  const r = run(initialSnapshot({ ...CONFIG, passive: true }), [{ name: 'ManualStart' }, { name: 'ConnectRetryTimer_Expires' }]);
  assert.equal(r.s.state, 'Active');
  assert.ok(!has(r.actions, 'connect'));
  const up = run(r.s, [{ name: 'TcpConnectionConfirmed' }]);
  assert.equal(up.s.state, 'OpenSent');
});

test('hold time 0: no keepalive or hold timer', () => {
  const r = run(initialSnapshot(CONFIG), [{ name: 'ManualStart' }, { name: 'Tcp_CR_Acked' }, { name: 'BGPOpen', holdTime: 0 }]);
  assert.ok(!r.actions.some((a) => a.do === 'start-timer' && (a.timer === 'KeepaliveTimer' || (a.timer === 'HoldTimer' && a.seconds === 0))));
});

test('hold timer expiry in Established sends NOTIFICATION 4, ends the session, plans a restart', () => {
  const up = run(initialSnapshot(CONFIG), [{ name: 'ManualStart' }, { name: 'Tcp_CR_Acked' }, { name: 'BGPOpen', holdTime: 9 }, { name: 'KeepAliveMsg' }]);
  const r = run(up.s, [{ name: 'HoldTimer_Expires' }]);
  assert.equal(r.s.state, 'Idle');
  assert.deepEqual(r.actions[0], { do: 'send-notification', code: 4, subcode: 0, data: undefined });
  assert.ok(has(r.actions, 'session-down') && has(r.actions, 'drop-connection'));
  assert.ok(r.actions.some((a) => a.do === 'start-timer' && a.timer === 'IdleHoldTimer'));
  assert.equal(r.s.connectRetryCounter, 1);
  const again = run(r.s, [{ name: 'IdleHoldTimer_Expires' }]);
  assert.equal(again.s.state, 'Connect');
});

test('ManualStop sends Cease/administrative shutdown and does not restart', () => {
  const up = run(initialSnapshot(CONFIG), [{ name: 'ManualStart' }, { name: 'Tcp_CR_Acked' }, { name: 'BGPOpen', holdTime: 9 }, { name: 'KeepAliveMsg' }]);
  const r = run(up.s, [{ name: 'ManualStop' }]);
  assert.deepEqual(r.actions[0], { do: 'send-notification', code: 6, subcode: 2, data: undefined });
  assert.ok(!r.actions.some((a) => a.do === 'start-timer'));
  assert.equal(run(r.s, [{ name: 'IdleHoldTimer_Expires' }]).s.state, 'Idle');
});

test('unexpected UPDATE in OpenSent: FSM error subcode 1 (RFC 6608)', () => {
  const r = run(initialSnapshot(CONFIG), [{ name: 'ManualStart' }, { name: 'Tcp_CR_Acked' }, { name: 'UpdateMsg' }]);
  assert.equal(r.s.state, 'Idle');
  assert.ok(r.actions.some((a) => a.do === 'send-notification' && a.code === 5 && a.subcode === 1));
});

test('OPEN error is answered with its NOTIFICATION', () => {
  const err = notifyError(2, 2, 'bad peer AS');
  const r = run(initialSnapshot(CONFIG), [{ name: 'ManualStart' }, { name: 'Tcp_CR_Acked' }, { name: 'BGPOpenMsgErr', error: err }]);
  assert.ok(r.actions.some((a) => a.do === 'send-notification' && a.code === 2 && a.subcode === 2));
});

test('connection failure in Connect falls back to Active; retry timer reconnects', () => {
  const r = run(initialSnapshot(CONFIG), [{ name: 'ManualStart' }, { name: 'TcpConnectionFails' }]);
  assert.equal(r.s.state, 'Active');
  const again = run(r.s, [{ name: 'ConnectRetryTimer_Expires' }]);
  assert.equal(again.s.state, 'Connect');
  assert.ok(has(again.actions, 'connect'));
});

test('every state answers every event without throwing (the switch is exhaustive)', () => {
  const states: State[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];
  const err = notifyError(3, 1, 'x');
  const events: Event[] = [
    { name: 'ManualStart' }, { name: 'ManualStop' }, { name: 'AutomaticStart' }, { name: 'ManualStart_with_PassiveTcpEstablishment' },
    { name: 'AutomaticStart_with_PassiveTcpEstablishment' }, { name: 'AutomaticStop', subcode: 1 }, { name: 'ConnectRetryTimer_Expires' },
    { name: 'HoldTimer_Expires' }, { name: 'KeepaliveTimer_Expires' }, { name: 'IdleHoldTimer_Expires' }, { name: 'Tcp_CR_Acked' },
    { name: 'TcpConnectionConfirmed' }, { name: 'TcpConnectionFails' }, { name: 'BGPOpen', holdTime: 90 }, { name: 'BGPHeaderErr', error: err },
    { name: 'BGPOpenMsgErr', error: err }, { name: 'OpenCollisionDump' }, { name: 'NotifMsgVerErr' }, { name: 'NotifMsg' },
    { name: 'KeepAliveMsg' }, { name: 'UpdateMsg' }, { name: 'UpdateMsgErr', error: err },
  ];
  for (const state of states) {
    for (const e of events) {
      const t = step({ ...initialSnapshot(CONFIG), state, enabled: true }, e);
      assert.ok(t.log.startsWith(`${state} -> `));
      if (state === 'Established' && t.next.state === 'Idle') assert.ok(has(t.actions, 'session-down'), `${e.name} in Established`);
    }
  }
});

const timerSeconds = (actions: Action[], timer: Timer) => actions.flatMap((a) => (a.do === 'start-timer' && a.timer === timer ? [a.seconds] : []));

test('retries back off 1, 1, 2, 4 ... s up to ConnectRetryTime; Established resets the count', () => {
  let s = initialSnapshot(CONFIG);
  let r = run(s, [{ name: 'ManualStart' }]);
  assert.deepEqual(timerSeconds(r.actions, 'ConnectRetryTimer'), [1], 'the first attempt is retried after 1 s');
  s = r.s;
  const seen: number[] = [];
  for (let i = 0; i < 7; i++) {
    // the peer refuses: Connect -> Active, then the timer tries again
    r = run(s, [{ name: 'TcpConnectionFails' }]);
    seen.push(...timerSeconds(r.actions, 'ConnectRetryTimer'));
    r = run(r.s, [{ name: 'ConnectRetryTimer_Expires' }]);
    assert.ok(has(r.actions, 'connect'));
    s = r.s;
  }
  assert.deepEqual(seen, [1, 2, 4, 8, 16, 30, 30]);
  // a SYN that is never answered counts as a failure too
  const silent = run(initialSnapshot(CONFIG), [{ name: 'ManualStart' }, { name: 'ConnectRetryTimer_Expires' }, { name: 'ConnectRetryTimer_Expires' }]);
  assert.deepEqual(timerSeconds(silent.actions, 'ConnectRetryTimer'), [1, 1, 2]);
  const up = run(s, [{ name: 'Tcp_CR_Acked' }, { name: 'BGPOpen', holdTime: 90 }, { name: 'KeepAliveMsg' }]);
  assert.equal(up.s.state, 'Established');
  assert.equal(up.s.connectRetryCounter, 0);
});

test('a session that flaps right after Established keeps backing off; a stable one comes back in 1 s', () => {
  const cfg = { ...CONFIG, idleHoldTime: 1 };
  const flap = (s: FsmSnapshot, stable: boolean) => {
    const up = run(s, [{ name: 'IdleHoldTimer_Expires' }, { name: 'Tcp_CR_Acked' }, { name: 'BGPOpen', holdTime: 90 }, { name: 'KeepAliveMsg' }, ...(stable ? [{ name: 'KeepaliveTimer_Expires' } as const] : [])]);
    assert.equal(up.s.state, 'Established');
    return run(up.s, [{ name: 'UpdateMsgErr', error: notifyError(3, 1, 'bad') }]);
  };
  let r = run(initialSnapshot(cfg), [{ name: 'ManualStart' }, { name: 'Tcp_CR_Acked' }, { name: 'BGPOpen', holdTime: 90 }, { name: 'KeepAliveMsg' }, { name: 'KeepaliveTimer_Expires' }, { name: 'TcpConnectionFails' }]);
  const holds = [...timerSeconds(r.actions, 'IdleHoldTimer')];
  for (let i = 0; i < 4; i++) {
    r = flap(r.s, false);
    holds.push(...timerSeconds(r.actions, 'IdleHoldTimer'));
  }
  r = flap(r.s, true);
  holds.push(...timerSeconds(r.actions, 'IdleHoldTimer'));
  assert.deepEqual(holds, [1, 1, 2, 4, 8, 1], 'the first short session costs nothing extra, the next ones double; a stable one starts over');
});

test('an automatic restart waits IdleHoldTime, doubled per consecutive failure up to the ceiling', () => {
  const cfg = { ...CONFIG, idleHoldTime: 1 };
  const up = (s: FsmSnapshot) => run(s, [{ name: 'IdleHoldTimer_Expires' }, { name: 'Tcp_CR_Acked' }, { name: 'BGPOpen', holdTime: 90 }]);
  let r = run(initialSnapshot(cfg), [{ name: 'ManualStart' }, { name: 'Tcp_CR_Acked' }, { name: 'BGPOpen', holdTime: 90 }, { name: 'KeepAliveMsg' }, { name: 'TcpConnectionFails' }]);
  assert.deepEqual(timerSeconds(r.actions, 'IdleHoldTimer'), [1], 'a flap after Established: back in 1 s');
  const holds: number[] = [];
  for (let i = 0; i < 6; i++) {
    // fails again before Established (the peer sends a NOTIFICATION in OpenConfirm)
    r = run(up(r.s).s, [{ name: 'NotifMsg' }]);
    holds.push(...timerSeconds(r.actions, 'IdleHoldTimer'));
  }
  assert.deepEqual(holds, [2, 4, 8, 16, 30, 30]);
  assert.equal(idleHoldDelay({ ...cfg, idleHoldTime: 0 }, 3), 0, 'no automatic restart');
  assert.equal(connectRetryDelay(cfg, 0), 1);
});

test('Idle -> Active on a passive automatic start stops the IdleHoldTimer (a connection in hand is taken at once)', () => {
  const r = run({ ...initialSnapshot(CONFIG), enabled: true }, [{ name: 'AutomaticStart_with_PassiveTcpEstablishment' }]);
  assert.equal(r.s.state, 'Active');
  assert.ok(r.actions.some((a) => a.do === 'stop-timer' && a.timer === 'IdleHoldTimer'));
  assert.ok(!has(r.actions, 'connect'));
});
