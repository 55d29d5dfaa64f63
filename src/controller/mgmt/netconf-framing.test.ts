import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FramingError, NetconfFramer } from './netconf-framing.js';

test('end-of-message framing across arbitrary splits; one message at a time until the hello is done', () => {
  const f = new NetconfFramer();
  const wire = Buffer.from('<hello/>]]>]]><rpc message-id="1"/>]]>]]><rpc message-id="2"/>]]>]]>');
  const split = wire.indexOf('<rpc');
  const got: string[] = [];
  for (const b of wire.subarray(0, split + 3)) got.push(...f.feed(Buffer.from([b])));
  assert.deepEqual(got, ['<hello/>']);
  f.helloDone(false);
  got.length = 0;
  for (const b of wire.subarray(split + 3)) got.push(...f.feed(Buffer.from([b])));
  assert.deepEqual(got, ['<rpc message-id="1"/>', '<rpc message-id="2"/>']);
  const g = new NetconfFramer();
  assert.deepEqual(g.feed(wire), ['<hello/>'], 'the rest waits for the framing decision');
  g.helloDone(false);
  assert.deepEqual(g.drain(), ['<rpc message-id="1"/>', '<rpc message-id="2"/>']);
  assert.equal(f.encode('<x/>').toString(), '<x/>]]>]]>');
});

test('chunked framing after the hello: several chunks, byte by byte, multi-byte characters split', () => {
  const f = new NetconfFramer();
  assert.deepEqual(f.feed(Buffer.from('<hello/>]]>]]>\n#4\n<rpc\n#')), ['<hello/>']);
  f.helloDone(true);
  const rest = Buffer.concat([Buffer.from('5\n>ü/>\n##\n'), f.encode('<rpc>é</rpc>')]);
  const got: string[] = [...f.drain()];
  for (const b of rest) got.push(...f.feed(Buffer.from([b])));
  assert.deepEqual(got, ['<rpc>ü/>', '<rpc>é</rpc>']);
  assert.equal(f.encode('<a/>').toString(), '\n#4\n<a/>\n##\n');
});

test('framing errors are fatal: bad header, zero or huge chunk sizes, end marker with no chunk', () => {
  for (const bad of ['x#4\nabcd', '\n#0\n', '\n#04\nabcd', '\n#99999999999\n', '\n##\n', '\n#a\n']) {
    const f = new NetconfFramer();
    f.helloDone(true);
    assert.throws(() => f.feed(Buffer.from(bad)), FramingError, JSON.stringify(bad));
  }
});
