/**
 * ControllerMessage.bfd_session (field 30) through the Program stream's hand codec, against
 * protobufjs (what proto-loader reads and writes) both ways; AgentMessage.bfd_state through
 * proto-loader, as the agent writes it and the controller reads it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { bfdSessionId, LOADER_OPTIONS, protoDir, type PbControllerMessage } from './proto.js';
import { decodeControllerMessage, encodeControllerMessage } from './codec.js';

const def = protoLoader.loadSync(join(protoDir(), 'agent.proto'), LOADER_OPTIONS);
const program = (def['cnr.agent.v1.Agent'] as protoLoader.ServiceDefinition)['Program']!;

const updates = [
  { peer: '10.0.0.2', local: '', interface: '', multihop: false, delete: false, desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3, adminDown: false, clients: ['bgp'], authType: 0, authKeyId: 0, authKey: '', minTtl: 0 },
  { peer: 'fd00::2', local: 'fd00::1', interface: 'eth1', multihop: false, delete: false, desiredMinTxUs: 300_000, requiredMinRxUs: 1_000_000, detectMult: 255, adminDown: true, clients: ['bgp', 'isis', 'static'], authType: 4, authKeyId: 63, authKey: 'twenty-byte-key-0123', minTtl: 0 },
  { peer: '192.0.2.9', local: '10.255.0.1', interface: '', multihop: true, delete: true, desiredMinTxUs: 0, requiredMinRxUs: 0, detectMult: 0, adminDown: false, clients: [], authType: 5, authKeyId: 0, authKey: 'k', minTtl: 254 },
];

test('bfd_session: the hand codec and protobufjs agree both ways', () => {
  for (const [i, u] of updates.entries()) {
    const msg: PbControllerMessage = { seq: 40 + i, bfdSession: u };
    const bytes = encodeControllerMessage(msg);
    const viaPb = program.requestDeserialize(bytes) as Record<string, unknown>;
    assert.equal(viaPb['body'], 'bfdSession');
    assert.deepEqual(viaPb['bfdSession'], u);
    assert.deepEqual(decodeControllerMessage(bytes), { seq: 40 + i, body: 'bfdSession', bfdSession: u });
    const fromPb = program.requestSerialize({ seq: 40 + i, bfdSession: u }) as Buffer;
    assert.deepEqual(decodeControllerMessage(fromPb).bfdSession, u);
  }
});

test('bfd_state rides an AgentMessage with seq 0; session names agree on both sides', () => {
  const state = { peer: '10.0.0.2', local: '', interface: '', multihop: false, state: 'Up', remoteState: 'Up', flaps: 2, changedAtMs: 1_765_000_000_000, clients: ['bgp'], resolvedInterface: 'eth1', resolvedLocal: '10.0.0.1', removed: false, error: '', remoteControlPlaneIndependent: true };
  const bytes = program.responseSerialize({ seq: 0, ok: true, failures: [], swept: 0, bfdState: state }) as Buffer;
  const back = program.responseDeserialize(bytes) as { seq: number; bfdState: Record<string, unknown> };
  assert.equal(back.seq, 0);
  for (const [k, v] of Object.entries(state)) assert.deepEqual(back.bfdState[k], v, k);
  assert.equal(bfdSessionId(back.bfdState as never), bfdSessionId(updates[0]!));
  assert.equal(bfdSessionId(updates[2]!), 'multihop - 10.255.0.1 192.0.2.9');
  // an ordinary ACK carries no state
  assert.equal((program.responseDeserialize(program.responseSerialize({ seq: 7, ok: true }) as Buffer) as { bfdState: unknown }).bfdState, null);
});
