// Which sinks cannot write right now, as health sees it. A sink whose last
// write failed counts as failing until one of its writes succeeds, or until
// FAILING_FOR_MS pass without another failure (a sink nobody writes any more
// must not hold health down for ever). While any sink fails, the metric
// service is NOT_SERVING (its calls fail); the authorization service only in
// strict mode (otherwise checks are answered regardless). The server as a
// whole ("") stays SERVING: restarting the pod or taking it out of the
// endpoints does not free a disk, and checks still need answers.
// Failures are timed on the monotonic clock: a wall-clock step neither ends
// one early nor makes it last.
import { AUTHORIZATION_SERVICE, METRIC_SERVICE } from '../wire/load.js';
import { ALS_HEALTH, EXT_AUTHZ_HEALTH } from '../wire/envoy.js';
import { SinkPool } from '../sinks/registry.js';
import type { SinkSpec } from '../sinks/sink.js';
import type { AdapterHealth } from '../transport/health.js';

export const FAILING_FOR_MS = 60_000;
/** Failing sinks tracked at once; the oldest give way (bounded whatever the configs). */
const MAX_TRACKED = 1024;

export class SinkHealth {
  /** Spec key -> performance.now() of the last failed write. */
  private readonly failing = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly health: AdapterHealth,
    private readonly strictDecisionRecords: boolean,
    private readonly failingForMs = FAILING_FOR_MS,
  ) {}

  /** How many sinks count as failing now. */
  get failingSinks(): number {
    return this.failing.size;
  }

  written(spec: SinkSpec): void {
    if (this.failing.size > 0 && this.failing.delete(SinkPool.key(spec))) this.publish();
  }

  failed(spec: SinkSpec): void {
    const key = SinkPool.key(spec);
    this.failing.delete(key); // re-inserted last: the map stays ordered by last failure
    this.failing.set(key, performance.now());
    if (this.failing.size > MAX_TRACKED) this.failing.delete(this.failing.keys().next().value!);
    this.publish();
    if (!this.timer) {
      this.timer = setInterval(() => this.publish(), Math.max(1, Math.floor(this.failingForMs / 4)));
      this.timer.unref();
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private publish(): void {
    const since = performance.now() - this.failingForMs;
    for (const [key, at] of this.failing) {
      if (at >= since) break; // ordered by last failure
      this.failing.delete(key);
    }
    const anyFailing = this.failing.size > 0;
    // Reports (Mixer's or Envoy's access logs) need their records written;
    // checks only under --strict-decision-records.
    this.health.degrade(METRIC_SERVICE, anyFailing);
    this.health.degrade(ALS_HEALTH, anyFailing);
    this.health.degrade(AUTHORIZATION_SERVICE, anyFailing && this.strictDecisionRecords);
    this.health.degrade(EXT_AUTHZ_HEALTH, anyFailing && this.strictDecisionRecords);
    if (!anyFailing) this.close();
  }
}
