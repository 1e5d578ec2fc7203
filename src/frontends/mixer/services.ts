// The Mixer front-end as the transport sees it: the two handle services of
// the walkthrough's templates (metric: Report, authorization: Check).
import { serviceDefinitions } from '../../wire/load.js';
import type { FrontEndService } from '../../transport/server.js';
import { handleAuthorization } from './authorization-service.js';
import { CheckResults } from './check-results.js';
import { handleMetric } from './metric-service.js';
import type { ServiceContext } from './service-context.js';

export function mixerServices(ctx: ServiceContext): FrontEndService[] {
  const defs = serviceDefinitions();
  return [
    { definition: defs.metric, implementation: { HandleMetric: handleMetric(ctx) } },
    {
      definition: defs.authorization,
      implementation: { HandleAuthorization: handleAuthorization(ctx, new CheckResults()) },
    },
  ];
}
