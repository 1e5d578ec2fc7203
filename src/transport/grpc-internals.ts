// Every use of grpc-js internals, in one file. grpc-js offers no hook on the
// HTTP/2 servers it creates, and the stream guards (stream-guard.ts) and the
// repeated-header check (security/call-auth.ts) need one. They are reached
// through the server's private `http2Servers` map, which a minor release may
// rename or remove, so package.json pins @grpc/grpc-js to one exact version
// and test/grpc-internals.test.ts checks this file against that version.
// A grpc-js without the map fails the start rather than run unguarded.
import type * as http2 from 'node:http2';
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
