/**
 * `show bfd session [extensive]` as text, and the BFD metrics, from one reply of the agent's
 * ListBfdSessions (a fixed reply: the live one is read in test/interop/bfd-hosted.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PbBfdSessionState, PbListBfdSessionsReply } from '../../../api/proto.js';
import { buildRegistry } from '../../../telemetry/metrics.js';
import { formatBfdSessions } from './commands.js';

const up: PbBfdSessionState = {
  peer: '10.0.0.2', local: '', interface: '', multihop: false, state: 'Up', remoteState: 'Up', localDiag: 0, remoteDiag: 0, localDiscr: 17, remoteDiscr: 9,
  desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3, txIntervalUs: 200_000, rxIntervalUs: 200_000, detectionTimeUs: 600_000, remoteDetectMult: 3,
  remoteMinRxUs: 200_000, remoteMinTxUs: 200_000, flaps: 2, upTransitions: 3, rxPackets: 1000, txPackets: 1001, discarded: 1, changedAtMs: Date.UTC(2026, 11, 6, 12), upForMs: 65_000,
  cause: 'peer is Init: three-way handshake complete', clients: ['bgp', 'static'], sourcePort: 49152, removed: false, resolvedInterface: 'eth1', resolvedLocal: '10.0.0.1', error: '', remoteControlPlaneIndependent: false, authentication: 'keyed-sha-1 key 1',
};
const failed: PbBfdSessionState = { ...up, peer: '192.0.2.9', multihop: true, state: '', resolvedInterface: '', resolvedLocal: '', error: 'multihop session to 192.0.2.9 needs a local address', clients: ['static'], detectionTimeUs: 0, txIntervalUs: 0, flaps: 0, upTransitions: 0, rxPackets: 0, txPackets: 0, discarded: 0 };
const reply: PbListBfdSessionsReply = { sessions: [up, failed], discards: [{ reason: 'bad_ttl', count: 4 }, { reason: 'no_session', count: 1 }] };

test('show bfd session: one line per session, a summary; extensive adds the details and the drops', () => {
  const brief = formatBfdSessions(reply, false, Date.UTC(2026, 11, 6, 13));
  assert.match(brief, /^10\.0\.0\.2\s+Up\s+eth1\s+0\.600\s+0\.200\s+3$/m);
  assert.match(brief, /^192\.0\.2\.9\s+Failed\s+0\.000/m);
  assert.match(brief, /^2 sessions, 3 clients$/m);
  assert.match(brief, /^Cumulative transmit rate 5\.0 pps, cumulative receive rate 5\.0 pps$/m);
  assert.doesNotMatch(brief, /Client/);
  const ext = formatBfdSessions(reply, true, Date.UTC(2026, 11, 6, 13));
  assert.match(ext, /Client BGP, STATIC, TX interval 0\.200, RX interval 0\.200/);
  assert.match(ext, /Session up time 1:05/);
  assert.match(ext, /flaps 2/);
  assert.match(ext, /Authentication keyed-sha-1, key id 1/);
  assert.match(ext, /Remote min TX interval 0\.200, min RX interval 0\.200, multiplier 3/);
  assert.match(ext, /Local discriminator 17, remote discriminator 9/);
  assert.match(ext, /Not running: multihop session to 192\.0\.2\.9 needs a local address/);
  assert.match(ext, /Session type: Multi hop BFD/);
  assert.match(ext, /Received packets dropped: bad_ttl 4, no_session 1/);
});

test('BFD metrics: state, transitions both ways, packets, drops by reason', async () => {
  const reg = buildRegistry({ bfd: async () => reply });
  const text = await reg.metrics();
  assert.match(text, /cnr_bfd_session_up\{peer="10\.0\.0\.2",local="10\.0\.0\.1",hop="single-hop"\} 1/);
  assert.match(text, /cnr_bfd_session_up\{peer="192\.0\.2\.9",local="",hop="multihop"\} 0/);
  assert.match(text, /cnr_bfd_session_transitions_total\{peer="10\.0\.0\.2",local="10\.0\.0\.1",hop="single-hop",to="down"\} 2/);
  assert.match(text, /cnr_bfd_session_transitions_total\{peer="10\.0\.0\.2",local="10\.0\.0\.1",hop="single-hop",to="up"\} 3/);
  assert.match(text, /cnr_bfd_session_packets_total\{peer="10\.0\.0\.2",local="10\.0\.0\.1",hop="single-hop",direction="tx"\} 1001/);
  assert.match(text, /cnr_bfd_discards_total\{reason="bad_ttl"\} 4/);
});
