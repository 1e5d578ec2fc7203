// The Envoy front-end as the transport sees it: ext_authz under its v3, v2
// and v2alpha names and the access-log service under its v3 and v2 names
// (one codec each: the messages are the same), and the access-log streams'
// drain for shutdown.
import type { FrontEndService } from '../../transport/server.js';
import { ALS_SERVICES, envoyService, EXT_AUTHZ_SERVICES } from '../../wire/envoy.js';
import { accessLogService } from './als-service.js';
import type { EnvoyContext } from './dispatch.js';
import { extAuthzCheck } from './ext-authz-service.js';

export interface EnvoyServices {
  services: FrontEndService[];
  /** Answers the open access-log streams once what they sent is written (before the server's graceful shutdown). */
  drain: (graceMs: number) => Promise<void>;
}

export function envoyServices(ctx: EnvoyContext): EnvoyServices {
  const check = extAuthzCheck(ctx);
  const logs = accessLogService(ctx);
  return {
    services: [
      ...EXT_AUTHZ_SERVICES.map((name) => ({ definition: envoyService(name), implementation: { Check: check } })),
      ...ALS_SERVICES.map((name) => ({
        definition: envoyService(name),
        implementation: { StreamAccessLogs: logs.StreamAccessLogs },
      })),
    ],
    drain: (graceMs) => logs.drain(graceMs),
  };
}
