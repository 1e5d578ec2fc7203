// The Envoy front-end as the transport sees it: ext_authz under its v3, v2
// and v2alpha names (one codec: the messages are the same).
import type { FrontEndService } from '../../transport/server.js';
import { envoyService, EXT_AUTHZ_SERVICES } from '../../wire/envoy.js';
import type { EnvoyContext } from './dispatch.js';
import { extAuthzCheck } from './ext-authz-service.js';

export function envoyServices(ctx: EnvoyContext): FrontEndService[] {
  const check = extAuthzCheck(ctx);
  return EXT_AUTHZ_SERVICES.map((name) => ({ definition: envoyService(name), implementation: { Check: check } }));
}
