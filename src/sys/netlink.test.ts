/**
 * NetlinkSocket.requestAsync (netlink.ts): the send on libuv's thread pool, the answer read
 * here: a GET answered with its reply, a refused request with the kernel's errno and text, as
 * request() does. Only reads and a delete of a name no interface has: nothing is changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IFLA_IFNAME, RTM_DELLINK, RTM_GETLINK, ENODEV } from './constants.js';
import { NetlinkError, NetlinkMessage, NetlinkSocket, netlinkAvailable } from './netlink.js';

const skip = netlinkAvailable() ? false : 'no rtnetlink here (libc not loadable)';

test('requestAsync answers as request does: a GET with its reply, a refusal with errno and text', { skip }, async () => {
  const s = NetlinkSocket.open();
  try {
    const [sync] = s.request(new NetlinkMessage(RTM_GETLINK, 0).ifinfo(0, 1, 0, 0), 'RTM_GETLINK lo');
    const [viaPool] = await s.requestAsync(new NetlinkMessage(RTM_GETLINK, 0).ifinfo(0, 1, 0, 0), 'RTM_GETLINK lo');
    assert.ok(sync && viaPool);
    // ifinfomsg's index (after the 16-byte header): lo is 1 in every namespace
    assert.equal(viaPool.getInt32(16 + 4, true), 1);
    assert.equal(viaPool.byteLength, sync.byteLength);
    const name = `nx${process.pid}`.slice(0, 15);
    await assert.rejects(
      () => s.requestAsync(new NetlinkMessage(RTM_DELLINK, 0).ifinfo(0, 0, 0, 0).attrStr(IFLA_IFNAME, name), `RTM_DELLINK ${name}`),
      (e: unknown) => e instanceof NetlinkError && e.errno === ENODEV && e.message.startsWith(`RTM_DELLINK ${name}: No such device`),
    );
  } finally {
    s.close();
  }
  // several at once, each on a socket of its own (the answer is read with a blocking recv:
  // one request in flight per socket)
  const socks = Array.from({ length: 8 }, () => NetlinkSocket.open());
  try {
    const many = await Promise.all(socks.map((x) => x.requestAsync(new NetlinkMessage(RTM_GETLINK, 0).ifinfo(0, 1, 0, 0), 'RTM_GETLINK lo')));
    for (const [r] of many) assert.equal(r?.getInt32(16 + 4, true), 1);
  } finally {
    for (const x of socks) x.close();
  }
});
