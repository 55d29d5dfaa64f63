/**
 * One entry point for a framed message body: dispatch on the header's type to the codec of
 * each message. The session frames bytes with frameMessage (header.ts) and calls this.
 */
import type { NotifyError } from './errors.js';
import { MessageType, type MessageTypeCode } from './header.js';
import { decodeNotification, type Notification } from './notification.js';
import { decodeOpen, type Open } from './open.js';
import type { SessionOptions } from './options.js';
import { decodeRouteRefresh, type RouteRefresh } from './route-refresh.js';
import { decodeUpdate, type DecodedUpdate } from './update.js';

export type Message =
  | { readonly type: 'open'; readonly open: Open }
  | { readonly type: 'update'; readonly decoded: DecodedUpdate }
  | { readonly type: 'notification'; readonly notification: Notification }
  | { readonly type: 'keepalive' }
  | { readonly type: 'route-refresh'; readonly refresh: RouteRefresh };

export function decodeMessage(type: MessageTypeCode, body: Uint8Array, o: SessionOptions): Message | NotifyError {
  switch (type) {
    case MessageType.Open: {
      const r = decodeOpen(body);
      return 'kind' in r ? r : { type: 'open', open: r };
    }
    case MessageType.Update: {
      const r = decodeUpdate(body, o);
      return r.kind === 'error' ? r : { type: 'update', decoded: r };
    }
    case MessageType.Notification: {
      const r = decodeNotification(body);
      return 'kind' in r ? r : { type: 'notification', notification: r };
    }
    case MessageType.Keepalive:
      return { type: 'keepalive' };
    case MessageType.RouteRefresh: {
      const r = decodeRouteRefresh(body);
      return 'kind' in r ? r : { type: 'route-refresh', refresh: r };
    }
  }
}
