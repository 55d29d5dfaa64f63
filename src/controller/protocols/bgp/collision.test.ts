// The second-connection rules as data: an event on the second connection (and, for a valid
// OPEN, what the session is doing) in, one outcome out. No socket, no clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPeerOpen, decideSecond, type CollisionContext, type SecondEvent } from './collision.js';
import { emptyCapabilities, type Open } from '../../../wire/bgp/open.js';
import { notifyError } from '../../../wire/bgp/errors.js';

const LOW = 0x0a000001; // 10.0.0.1
const HIGH = 0x0a000002; // 10.0.0.2

/** Established with a peer; the second connection came in (we did not open it). */
const base: CollisionContext = {
  session: 'Established',
  existingOutgoing: true,
  secondOutgoing: false,
  localId: LOW,
  remoteId: HIGH,
  localAs: 65001,
  remoteAs: 65002,
  gracefulRestart: false,
};

interface Row {
  readonly name: string;
  readonly event: SecondEvent;
  /** outcome kind, and for close-second the NOTIFICATION code/subcode (undefined: none) */
  readonly want: 'dump-existing' | 'peer-restarted' | readonly ['close-second', number, number] | readonly ['close-second'];
}

const open = (ctx: Partial<CollisionContext>): SecondEvent => ({ name: 'BGPOpen', ctx: { ...base, ...ctx } });

const rows: Row[] = [
  // connections that never deliver a valid OPEN: their own NOTIFICATION, the session untouched
  { name: 'silence until the hold timer', event: { name: 'HoldTimer_Expires' }, want: ['close-second', 4, 0] },
  { name: 'closed before any message', event: { name: 'TcpConnectionFails' }, want: ['close-second'] },
  { name: 'garbage (no marker)', event: { name: 'BGPHeaderErr', error: notifyError(1, 1, 'marker') }, want: ['close-second', 1, 1] },
  { name: 'OPEN with a wrong AS', event: { name: 'BGPOpenMsgErr', error: notifyError(2, 2, 'peer AS') }, want: ['close-second', 2, 2] },
  { name: 'OPEN with our BGP identifier (iBGP)', event: { name: 'BGPOpenMsgErr', error: notifyError(2, 3, 'id') }, want: ['close-second', 2, 3] },
  { name: 'KEEPALIVE before OPEN', event: { name: 'KeepAliveMsg' }, want: ['close-second', 5, 1] },
  { name: 'UPDATE before OPEN', event: { name: 'UpdateMsg' }, want: ['close-second', 5, 1] },
  { name: 'NOTIFICATION from the other side', event: { name: 'NotifMsg' }, want: ['close-second'] },
  { name: 'a newer connection replaces it', event: { name: 'OpenCollisionDump' }, want: ['close-second', 6, 7] },
  // Established: only a graceful-restart peer's valid OPEN replaces the session (RFC 4724 4.2)
  { name: 'valid OPEN, Established, no graceful restart: Established wins', event: open({}), want: ['close-second', 6, 7] },
  { name: 'valid OPEN, Established, no GR, even from the higher identifier', event: open({ localId: HIGH, remoteId: LOW }), want: ['close-second', 6, 7] },
  { name: 'valid OPEN, Established, graceful restart: the peer restarted', event: open({ gracefulRestart: true }), want: 'peer-restarted' },
  // OpenSent / OpenConfirm: the connection opened by the higher identifier stays (RFC 4271 6.8)
  { name: 'OpenConfirm, remote id higher: its (incoming) connection wins', event: open({ session: 'OpenConfirm' }), want: 'dump-existing' },
  { name: 'OpenConfirm, local id higher: our outgoing connection stays', event: open({ session: 'OpenConfirm', localId: HIGH, remoteId: LOW }), want: ['close-second', 6, 7] },
  { name: 'OpenSent, remote id higher', event: open({ session: 'OpenSent' }), want: 'dump-existing' },
  { name: 'OpenSent, local id higher', event: open({ session: 'OpenSent', localId: HIGH, remoteId: LOW }), want: ['close-second', 6, 7] },
  { name: 'equal identifiers (eBGP): the larger AS opened the kept one (RFC 6286)', event: open({ session: 'OpenConfirm', localId: LOW, remoteId: LOW, localAs: 65001, remoteAs: 65002 }), want: 'dump-existing' },
  { name: 'equal identifiers, local AS larger', event: open({ session: 'OpenConfirm', localId: LOW, remoteId: LOW, localAs: 65009, remoteAs: 65002 }), want: ['close-second', 6, 7] },
  { name: 'both connections incoming: the first stays', event: open({ session: 'OpenConfirm', existingOutgoing: false }), want: ['close-second', 6, 7] },
  { name: 'GR does not matter before Established', event: open({ session: 'OpenConfirm', localId: HIGH, remoteId: LOW, gracefulRestart: true }), want: ['close-second', 6, 7] },
];

for (const row of rows) {
  test(`second connection: ${row.name}`, () => {
    const out = decideSecond(row.event);
    assert.ok(out.why.length > 0, 'every outcome says why (it goes to the log)');
    if (typeof row.want === 'string') {
      assert.equal(out.do, row.want);
      return;
    }
    assert.equal(out.do, 'close-second');
    if (out.do !== 'close-second') return;
    if (row.want.length === 1) assert.equal(out.notify, undefined);
    else assert.deepEqual([out.notify?.code, out.notify?.subcode], [row.want[1], row.want[2]]);
  });
}

test('OPEN checks: wrong AS (2/2 with the 2-octet AS as data), our identifier over iBGP (2/3), eBGP may share it', () => {
  const o = (myAs: number, bgpId: number, as4?: number): Open => ({ version: 4, myAs, holdTime: 90, bgpId, capabilities: { ...emptyCapabilities(), as4 } });
  assert.equal(checkPeerOpen(o(65002, HIGH), { peerAs: 65002, localId: LOW, ebgp: true }), undefined);
  const wrong = checkPeerOpen(o(65003, HIGH), { peerAs: 65002, localId: LOW, ebgp: true });
  assert.deepEqual([wrong?.code, wrong?.subcode, [...(wrong?.data ?? [])]], [2, 2, [0xfd, 0xeb]]);
  assert.equal(checkPeerOpen(o(23456, HIGH, 4200000000), { peerAs: 4200000000, localId: LOW, ebgp: true }), undefined, 'the AS4 capability decides');
  const same = checkPeerOpen(o(65001, LOW), { peerAs: 65001, localId: LOW, ebgp: false });
  assert.deepEqual([same?.code, same?.subcode], [2, 3]);
  assert.equal(checkPeerOpen(o(65002, LOW), { peerAs: 65002, localId: LOW, ebgp: true }), undefined);
});
