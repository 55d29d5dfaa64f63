import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeReply, decodeRequest, encodeReply, encodeRequest, FrameError, TruncatedFrame } from './frame.js';

const tricky = {
  vars: {
    CNI_COMMAND: 'ADD',
    CNI_ARGS: 'K8S_POD_NAME=a b;K8S_POD_NAMESPACE="q\'uote";X=1\\2',
    CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
    CNI_EMPTY: '',
    CNI_NL: 'line1\nline2\n',
  },
  stdin: '{\n  "cniVersion": "1.0.0",\n  "name": "réseau-网络-🚀"\n}\n\n',
};

test('a request round-trips byte for byte: spaces, quotes, ;, newlines, non-ASCII, empty values', () => {
  const buf = encodeRequest(tricky);
  assert.deepEqual(decodeRequest(buf), tricky);
  // the lengths are bytes: the multi-byte config is longer in bytes than in characters
  assert.ok(buf.includes(Buffer.from(`C ${Buffer.byteLength(tricky.stdin)}\n`)));
  // with a token, and with the one newline bash's here-string appends
  const withToken = { ...tricky, token: '0123abcd' };
  assert.deepEqual(decodeRequest(Buffer.concat([encodeRequest(withToken), Buffer.from('\n')])), withToken);
});

test('every proper prefix of a request is truncated (wait for more), never wrong', () => {
  const buf = encodeRequest({ ...tricky, token: 'feed' });
  for (let n = 0; n < buf.length; n++) assert.throws(() => decodeRequest(buf.subarray(0, n)), TruncatedFrame, `prefix ${n}`);
});

test('malformed requests are refused with a reason, not taken as truncated', () => {
  const bad = [
    'GET / HTTP/1.1\r\n\r\n',
    'CNR-CNI/2\nC 2\n{}',
    'CNR-CNI/1 not-hex!\nC 2\n{}',
    'CNR-CNI/1\nX y\n',
    'CNR-CNI/1\nE BAD-NAME 1\nx\nC 2\n{}',
    'CNR-CNI/1\nE CNI_A 1\nxyC 2\n{}',
    'CNR-CNI/1\nC 2\n{}extra',
  ];
  for (const b of bad) {
    assert.throws(
      () => decodeRequest(Buffer.from(b)),
      (e: unknown) => e instanceof FrameError && !(e instanceof TruncatedFrame),
      JSON.stringify(b),
    );
  }
});

test('a reply keeps trailing newlines and the exit code', () => {
  const r = encodeReply(3, '{"code":7}\n\n');
  assert.equal(r.toString(), 'CNR-CNI/1 3\n{"code":7}\n\n.');
  assert.deepEqual(decodeReply(r), { exitCode: 3, stdout: '{"code":7}\n\n' });
  assert.throws(() => decodeReply(Buffer.from('CNR-CNI/1 0\n{}')), FrameError);
});
