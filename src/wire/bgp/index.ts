/**
 * BGP-4 wire codecs. Pure functions from bytes to values and back; nothing here touches a
 * socket, a clock or the rest of cnr. A session frames its TCP stream with `frameMessage`
 * (header.ts), decodes each body with `decodeMessage` (message.ts) using the negotiated
 * SessionOptions (options.ts), and answers any NotifyError (errors.ts) with the NOTIFICATION
 * it carries. Path attributes live in one descriptor table (attributes.ts); the UPDATE codec
 * (update.ts) applies RFC 7606's outcomes. OPEN and capabilities are in open.ts.
 */
export * from './errors.js';
export * from './options.js';
export * from './header.js';
export * from './open.js';
export * from './attributes.js';
export * from './nlri.js';
export * from './update.js';
export * from './pack-ipv4.js';
export * from './notification.js';
export * from './route-refresh.js';
export * from './message.js';
