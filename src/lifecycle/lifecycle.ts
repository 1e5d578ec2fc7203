// Start-up and shutdown as ONE ordered list of steps. Each step starts after
// the ones before it; when a start fails, the steps already started are
// stopped newest first; stop() stops every started step newest first. With
// one list, what a failed start undoes and what a shutdown stops cannot drift
// apart (they once did: a failed start left the handler cache and the
// Prometheus series alone).
import type { Logger } from '../log.js';

interface Started {
  name: string;
  stop: () => unknown;
}

export class Lifecycle {
  private readonly started: Started[] = [];
  private stopping: Promise<void> | undefined;

  constructor(private readonly log: Pick<Logger, 'debug' | 'error'>) {}

  /** Names of the steps started so far, in start order. */
  get startedSteps(): string[] {
    return this.started.map((s) => s.name);
  }

  /**
   * Runs one step's start and remembers its stop. A start either succeeds or
   * leaves nothing of its own running; when it throws, the steps started
   * before it are stopped, newest first, and its error is rethrown.
   */
  async step<T>(name: string, start: () => T | Promise<T>, stop: (value: T) => unknown = () => undefined): Promise<T> {
    if (this.stopping) throw new Error(`start-up step "${name}" after stop()`);
    let value: T;
    try {
      value = await start();
    } catch (err) {
      this.log.debug({ step: name, err }, 'start-up step failed; stopping the steps before it');
      // The start's own error is the one worth reporting; a stop failing
      // while unwinding is only logged.
      await this.stopAll((step, stopErr) =>
        this.log.debug({ step, err: stopErr }, 'stopping a step after a failed start failed'),
      );
      throw err;
    }
    this.started.push({ name, stop: () => stop(value) });
    this.log.debug({ step: name }, 'step started');
    return value;
  }

  /**
   * Stops every started step, newest first. A step whose stop fails is
   * logged and the rest still stop; the promise then rejects with the first
   * failure. Idempotent: later calls share the first one's promise.
   */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      let first: { err: unknown } | undefined;
      await this.stopAll((step, err) => {
        this.log.error({ step, err }, 'stopping a step failed');
        first ??= { err };
      });
      if (first) throw first.err;
    })());
  }

  private async stopAll(failed: (step: string, err: unknown) => void): Promise<void> {
    for (let s = this.started.pop(); s !== undefined; s = this.started.pop()) {
      try {
        await s.stop();
        this.log.debug({ step: s.name }, 'step stopped');
      } catch (err) {
        failed(s.name, err);
      }
    }
  }
}
