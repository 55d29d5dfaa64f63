import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consoleLogger, logger, logLine } from './log.js';

/** Runs `f` with stderr captured; returns what it wrote. */
function captureStderr(f: () => void): string {
  const orig = process.stderr.write;
  let out = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    f();
  } finally {
    process.stderr.write = orig;
  }
  return out;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z /;

test('every log line starts with an ISO 8601 time, each line of a multi-line message too', () => {
  const out = captureStderr(() => {
    logger('vrouter')('agent: listening on 127.0.0.1:50052');
    logLine('error: a\nerror: b');
  });
  const lines = out.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  assert.equal(lines.length, 3);
  for (const l of lines) assert.match(l, ISO, l);
  assert.match(lines[0]!, /Z vrouter: agent: listening on 127\.0\.0\.1:50052$/);
  assert.match(lines[2]!, /Z error: b$/);
});

test('a library logger (grpc-js setLogger) writes the same timestamped lines', () => {
  const out = captureStderr(() => consoleLogger('grpc').error('No address added out of total %d resolved', 1));
  assert.match(out, /^\d{4}-\d{2}-\d{2}T[\d:.]+Z grpc: No address added out of total 1 resolved\n$/);
});
