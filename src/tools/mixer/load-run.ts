// --repeat/--concurrency/--rate: runs one unit of work many times, keeps the
// latencies, and draws a progress bar on a TTY when the run is long.

export interface LoadOptions {
  repeat: number;
  concurrency: number;
  /** Starts per second over all workers; 0 = as fast as possible. */
  rate: number;
}

export interface LoadSummary {
  calls: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** How many runs ended in each outcome label. */
  outcomes: Record<string, number>;
}

/** The value at quantile q (0..1) of ascending `sorted`, nearest-rank. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? 0;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Progress {
  update(done: number): void;
  end(): void;
}

function progressBar(total: number, stream: NodeJS.WriteStream, startedAt: number): Progress {
  let drawn = false;
  const width = 30;
  const draw = (done: number): void => {
    // Only long runs get a bar; short ones would just flicker.
    if (!stream.isTTY || performance.now() - startedAt < 1000) return;
    const filled = Math.round((done / total) * width);
    stream.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}`);
    drawn = true;
  };
  let last = 0;
  return {
    update(done) {
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      draw(done);
    },
    end() {
      if (drawn) stream.write('\n');
    },
  };
}

/**
 * Runs `work` options.repeat times on options.concurrency workers. `work`
 * resolves with an outcome label and whether it counts as an error.
 */
export async function runLoad(
  options: LoadOptions,
  work: () => Promise<{ label: string; error: boolean }>,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<LoadSummary> {
  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  let done = 0;
  const started = performance.now();
  const progress = progressBar(options.repeat, stderr, started);
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= options.repeat) return;
      if (options.rate > 0) {
        const due = started + (i * 1000) / options.rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
      const t0 = performance.now();
      const r = await work();
      latencies.push(performance.now() - t0);
      outcomes[r.label] = (outcomes[r.label] ?? 0) + 1;
      if (r.error) errors++;
      progress.update(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, options.repeat)) }, worker));
  progress.end();
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (n: number): number => Math.round(n * 1000) / 1000;
  return {
    calls: latencies.length,
    errors,
    seconds: round(seconds),
    rps: round(seconds > 0 ? latencies.length / seconds : 0),
    p50Ms: round(percentile(latencies, 0.5)),
    p99Ms: round(percentile(latencies, 0.99)),
    maxMs: round(latencies[latencies.length - 1] ?? 0),
    outcomes,
  };
}

export function formatSummary(s: LoadSummary): string {
  const outcomes = Object.entries(s.outcomes)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return (
    `${s.calls} calls in ${s.seconds}s (${s.rps} per second), ${s.errors} errors\n` +
    `latency ms: p50 ${s.p50Ms}, p99 ${s.p99Ms}, max ${s.maxMs}\n` +
    `outcomes: ${outcomes}\n`
  );
}
