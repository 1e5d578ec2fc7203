// Rate-limited logging for causes that can repeat once per call or per
// signal (failed calls, denies, refusals, sink reopens on SIGHUP): a peer that
// sends 10 000 bad calls a second, or a SIGHUP storm, must not turn stderr
// into the bottleneck, yet none of them may go unmentioned.
//
// The first occurrence of a cause is logged at once and opens an interval for
// that cause; later occurrences in the interval are only counted, and when it
// ends one line says how many there were (`count`). A cause with no repeats
// leaves one line only. close() writes the pending counts at once.
import type { Logger } from 'pino';

export type RepeatLevel = 'error' | 'warn' | 'info';

export interface RepeatLog {
  /** Log `cause` (the message, and the key repeats are counted by) unless it already was in this interval. */
  note(level: RepeatLevel, cause: string, fields?: Record<string, unknown>): void;
  /** Write every pending count now and stop the timers; later notes are logged one by one. */
  close(): void;
}

export interface RepeatLogOptions {
  /** How long after a cause's first line its repeats are summed into one; default 10 s. */
  intervalMs?: number;
  /** Distinct causes tracked at once; further causes share one entry. Default 256. */
  maxCauses?: number;
}

export const DEFAULT_REPEAT_INTERVAL_MS = 10_000;
const DEFAULT_MAX_CAUSES = 256;
/** The shared entry for causes past maxCauses, so a cause built from input cannot grow the map. */
export const OTHER_CAUSES = 'other repeated log causes (too many distinct ones to count apart)';

interface Pending {
  level: RepeatLevel;
  /** Occurrences after the first one in this interval, not yet logged. */
  repeats: number;
  /** Fields of the latest repeat: the summary line carries them. */
  fields: Record<string, unknown> | undefined;
  timer: NodeJS.Timeout;
}

export function createRepeatLog(logger: Logger, opts: RepeatLogOptions = {}): RepeatLog {
  const intervalMs = opts.intervalMs ?? DEFAULT_REPEAT_INTERVAL_MS;
  const maxCauses = opts.maxCauses ?? DEFAULT_MAX_CAUSES;
  const pending = new Map<string, Pending>();
  let closed = false;

  const summarise = (cause: string, entry: Pending): void => {
    pending.delete(cause);
    clearTimeout(entry.timer);
    if (entry.repeats > 0) {
      logger[entry.level]({ ...entry.fields, count: entry.repeats, intervalMs }, `${cause} (repeated)`);
    }
  };

  const note = (level: RepeatLevel, cause: string, fields?: Record<string, unknown>): void => {
    if (closed) {
      logger[level](fields ?? {}, cause);
      return;
    }
    const entry = pending.get(cause);
    if (entry) {
      entry.repeats++;
      entry.fields = fields;
      return;
    }
    if (pending.size >= maxCauses && cause !== OTHER_CAUSES) {
      note(level, OTHER_CAUSES, { ...fields, cause });
      return;
    }
    logger[level](fields ?? {}, cause);
    const timer = setTimeout(() => {
      const ended = pending.get(cause);
      if (ended) summarise(cause, ended);
    }, intervalMs);
    // Pending counts must not keep a stopping process alive; close() writes them.
    timer.unref();
    pending.set(cause, { level, repeats: 0, fields, timer });
  };

  return {
    note,
    close() {
      closed = true;
      for (const [cause, entry] of [...pending]) summarise(cause, entry);
    },
  };
}
