// grpc.health.v1.Health for the whole server ("") and each handle service,
// so probes and load balancers can see a draining adapter before it stops.
import type { Server } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { AUTHORIZATION_SERVICE, METRIC_SERVICE } from '../protocol/load.js';

export const HEALTH_SERVICES = ['', METRIC_SERVICE, AUTHORIZATION_SERVICE] as const;

export class AdapterHealth {
  private readonly impl = new HealthImplementation(
    Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING' as const])),
  );

  private on = false;

  addToServer(server: Server): void {
    this.impl.addToServer(server);
  }

  serving(on: boolean): void {
    this.on = on;
    for (const s of HEALTH_SERVICES) this.impl.setStatus(s, on ? 'SERVING' : 'NOT_SERVING');
  }

  /** What the health service says for every service: the ops /readyz reads this. */
  isServing(): boolean {
    return this.on;
  }
}
