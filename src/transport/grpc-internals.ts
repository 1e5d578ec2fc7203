// Every use of grpc-js internals, in one file. grpc-js offers no hook on the
// HTTP/2 servers it creates, and the stream guards (stream-guard.ts) and the
// repeated-header check (security/call-auth.ts) need one. They are reached
// through the server's private `http2Servers` map, which a minor release may
// rename or remove, so package.json pins @grpc/grpc-js to one exact version
// and test/grpc-internals.test.ts checks this file against that version.
// A grpc-js without the map fails the start rather than run unguarded.
// A client-streaming handler that takes one message at a time relies on how
// grpc-js's call stream asks for messages (oneMessageAtATime).
import type * as http2 from 'node:http2';
import type { Readable } from 'node:stream';
import type { Server } from '@grpc/grpc-js';

/** The grpc-js version these internals were checked against (package.json pins it). */
export const GRPC_JS_VERSION = '1.14.7';

export type Http2Listener = http2.Http2Server | http2.Http2SecureServer;

/**
 * The HTTP/2 servers behind a bound grpc-js server (one per bound address).
 * Call after bind; `purpose` says what needs them, for the start-up error.
 */
export function http2ServersOf(server: Server, purpose: string): Http2Listener[] {
  const servers = (server as unknown as { http2Servers?: Map<Http2Listener, unknown> }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) {
    throw new Error(
      `cannot ${purpose}: this @grpc/grpc-js no longer exposes its HTTP/2 servers ` +
        `(checked against ${GRPC_JS_VERSION}, the version package.json pins)`,
    );
  }
  return [...servers.keys()];
}

/**
 * Makes a client-streaming call hand over its messages one at a time: the
 * first at once, each next one only when `next()` is called. grpc-js's call
 * is an object-mode Readable whose `_read` asks grpc-js for one message
 * (`startRead`); Node would ask for 16 ahead of the handler (the high-water
 * mark), each up to --max-message-bytes. Until a message is asked for,
 * grpc-js leaves the HTTP/2 stream paused, so HTTP/2 flow control holds the
 * client. The end of the stream also comes only when asked for, after the
 * last message.
 */
export function oneMessageAtATime(call: Readable): () => void {
  const ask = (call as unknown as { _read?: unknown })._read;
  if (typeof ask !== 'function') {
    throw new Error(
      `cannot read a stream one message at a time: this @grpc/grpc-js call has no _read (checked against ${GRPC_JS_VERSION})`,
    );
  }
  const askGrpc = (ask as (size: number) => void).bind(call);
  /** Node has asked for a message that was not passed on to grpc-js. */
  let asked = false;
  /** The handler wants a message Node has not asked for yet. */
  let wanted = true;
  (call as unknown as { _read: (size: number) => void })._read = (size) => {
    if (wanted) {
      wanted = false;
      askGrpc(size);
    } else asked = true;
  };
  return () => {
    if (asked) {
      asked = false;
      askGrpc(1);
    } else wanted = true;
  };
}
