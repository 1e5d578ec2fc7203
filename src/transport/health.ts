// grpc.health.v1.Health for the whole server ("") and each handle service
// (and each Envoy service when the Envoy front-ends are on), so probes and
// load balancers can see a draining adapter before it stops.
// A handle service whose records cannot be written is NOT_SERVING on its own
// name while "" stays SERVING (see sink-health.ts).
import type { Server } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { AUTHORIZATION_SERVICE, METRIC_SERVICE } from '../wire/load.js';

export const HEALTH_SERVICES = ['', METRIC_SERVICE, AUTHORIZATION_SERVICE] as const;
export type HandleService = typeof METRIC_SERVICE | typeof AUTHORIZATION_SERVICE;

export class AdapterHealth {
  private readonly services: readonly string[];
  private readonly impl: HealthImplementation;
  private running = false;
  /** Service -> the causes that make it unable to do its job (sinks, key sets). */
  private readonly degraded = new Map<string, Set<string>>();

  /** `frontEndServices`: the names of services beyond Mixer's that this server answers (Envoy's). */
  constructor(frontEndServices: readonly string[] = []) {
    this.services = [...HEALTH_SERVICES, ...frontEndServices];
    this.impl = new HealthImplementation(Object.fromEntries(this.services.map((s) => [s, 'NOT_SERVING' as const])));
  }

  addToServer(server: Server): void {
    this.impl.addToServer(server);
  }

  serving(on: boolean): void {
    this.running = on;
    this.publish();
  }

  /** Marks a handle service as unable to do its job (on) or able again (off), for one cause. */
  degrade(service: string, on: boolean, cause = 'sinks'): void {
    const causes = this.degraded.get(service) ?? new Set<string>();
    if (on === causes.has(cause)) return;
    if (on) causes.add(cause);
    else causes.delete(cause);
    if (causes.size > 0) this.degraded.set(service, causes);
    else this.degraded.delete(service);
    this.publish();
  }

  private publish(): void {
    for (const s of this.services) {
      this.impl.setStatus(s, this.running && !this.degraded.has(s) ? 'SERVING' : 'NOT_SERVING');
    }
  }

  /** The status of "" (the whole server, what the kubelet's gRPC probe asks): the ops /readyz reads this. */
  isServing(): boolean {
    return this.running;
  }
}
