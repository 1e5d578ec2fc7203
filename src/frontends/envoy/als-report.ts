// One access-log message, from its bytes to its entries' records: bounded
// (its estimated cost, then its turn in the shared budget), decoded, each
// entry made an attribute bag and reported through the operator config's
// rules, and what became of every entry counted, with one log line per
// cause (repeats summed by the repeat log).
import { bounded, ECHO_MAX_BYTES } from '../../common/echo.js';
import { InvalidInputError } from '../../common/errors.js';
import { CallTooLargeError } from '../../core/call-cost.js';
import { toCallError } from '../../core/status.js';
import type { MixerConfig } from '../../opconfig/config.js';
import { TEMPLATES } from '../../opconfig/instances.js';
import type { Bag } from '../../opconfig/attributes.js';
import { BufferFullError } from '../../sinks/batching-writer.js';
import { SinkError, WRITE_DEADLINE } from '../../sinks/sink.js';
import type { MessageBudget } from './als-budget.js';
import {
  admitMessage,
  BYTES_PER_ENTRY,
  decodeLogsMessage,
  MessageTooLargeError,
  messageCost,
  type IdentifierObject,
  type LogsMessage,
} from './als-message.js';
import type { AlsNotWrittenCause, AlsStreamEnd } from './als-outcomes.js';
import { reportBags, type EnvoyContext } from './dispatch.js';
import { httpEntryBag, tcpEntryBag, type HttpEntryObject, type TcpEntryObject } from './log-attributes.js';

/**
 * What a stream paused on a message may still hold besides it: the HTTP/2
 * stream window the client may fill meanwhile (64 KiB, Node's default) and
 * one DATA frame grpc-js has read ahead (16 KiB).
 */
export const PAUSED_STREAM_BYTES = 80 * 1024;

/** Who sent a stream, from its first message's identifier (for log lines only; never required). */
export interface StreamSource {
  node?: string;
  cluster?: string;
  logName?: string;
}

/** Why a stream ends after a message, with the error its status comes from. */
export interface StreamStop {
  end: AlsStreamEnd;
  error?: unknown;
}

export function sourceOf(identifier: IdentifierObject): StreamSource {
  const short = (text: string | undefined) => (text ? bounded(text, ECHO_MAX_BYTES) : undefined);
  return {
    node: short(identifier.node?.id),
    cluster: short(identifier.node?.cluster),
    logName: short(identifier.log_name),
  };
}

const perEntryCache = new WeakMap<MixerConfig, number>();

/** BYTES_PER_ENTRY for each metric instance an entry may make under `config` (at least one). */
function perEntryBytes(config: MixerConfig): number {
  let bytes = perEntryCache.get(config);
  if (bytes === undefined) {
    let instances = 0;
    for (const rule of config.rules) {
      for (const action of rule.actions) {
        for (const inst of action.instances) if (TEMPLATES[inst.template] === 'REPORT') instances++;
      }
    }
    bytes = BYTES_PER_ENTRY * Math.max(1, instances);
    perEntryCache.set(config, bytes);
  }
  return bytes;
}

/** The cause a failed write of an entry's records is counted under. */
export function causeOf(err: unknown): AlsNotWrittenCause {
  if (err instanceof BufferFullError) return 'sink_full';
  if (err instanceof SinkError) return err.code === WRITE_DEADLINE ? 'sink_timeout' : 'sink_error';
  if (err instanceof CallTooLargeError) return 'too_large';
  // The handler's Params refused by the handler table.
  if (err instanceof InvalidInputError) return 'sink_error';
  return 'internal';
}

function notWritten(
  ctx: EnvoyContext,
  cause: AlsNotWrittenCause,
  entries: number,
  reason: string,
  source: StreamSource | undefined,
): void {
  ctx.metrics.accessLogEntriesNotWritten(cause, entries);
  // Entries no rule selects are not a failure (Mixer reported nothing for them either): counted only.
  if (cause === 'no_rule') return;
  ctx.notes.note('warn', `access-log entries not written: ${cause}`, { cause, entries, reason, ...source });
}

function* bagsOf(msg: LogsMessage): Generator<Bag> {
  if (msg.kind === 'http') for (const e of msg.entries as HttpEntryObject[]) yield httpEntryBag(e);
  else for (const e of msg.entries as TcpEntryObject[]) yield tcpEntryBag(e);
}

/** Reports a decoded message's entries and counts what became of each; never rejects. */
export async function reportEntries(ctx: EnvoyContext, msg: LogsMessage, source?: StreamSource): Promise<void> {
  const total = msg.entries.length;
  ctx.metrics.accessLogEntries('received', total);
  if (total === 0) return;
  let results;
  try {
    results = (await reportBags(ctx, bagsOf(msg))).bags;
  } catch (err) {
    notWritten(ctx, 'internal', total, toCallError(err).details, source);
    return;
  }
  let written = 0;
  // Per cause: how many entries, and the first reason (one log line per cause and message).
  const failed = new Map<AlsNotWrittenCause, { entries: number; reason: string }>();
  for (const r of results) {
    if (r.outcome === 'written') {
      written++;
      continue;
    }
    const cause = r.outcome === 'unmatched' ? 'no_rule' : r.outcome === 'unbuilt' ? 'instance_error' : causeOf(r.error);
    const seen = failed.get(cause);
    if (seen) seen.entries++;
    else {
      const reason =
        r.outcome === 'unbuilt' ? bounded(r.problem) : r.outcome === 'failed' ? toCallError(r.error).details : '';
      failed.set(cause, { entries: 1, reason });
    }
  }
  if (written > 0) ctx.metrics.accessLogEntries('written', written);
  for (const [cause, { entries, reason }] of failed) notWritten(ctx, cause, entries, reason, source);
}

/**
 * Takes one message of a stream: resolves with why the stream must end
 * (the message could not be taken), or undefined once its entries are
 * written or counted as not written. Never rejects.
 */
export async function takeMessage(
  ctx: EnvoyContext,
  budget: MessageBudget,
  bytes: Buffer,
  stream: { source: StreamSource | undefined },
): Promise<StreamStop | undefined> {
  let cost;
  try {
    cost = messageCost(bytes, perEntryBytes(ctx.operatorConfig()));
    admitMessage(cost, bytes.length, ctx.maxDecodeBytes);
  } catch (err) {
    if (!(err instanceof MessageTooLargeError)) return { end: 'malformed', error: err };
    ctx.metrics.accessLogEntries('received', err.entries);
    notWritten(ctx, 'too_large', err.entries, err.message, stream.source);
    return { end: 'too_large', error: err };
  }
  let release: () => void;
  try {
    release = await budget.admit(cost.bytes + PAUSED_STREAM_BYTES, bytes.length + PAUSED_STREAM_BYTES);
  } catch (err) {
    ctx.metrics.accessLogEntries('received', cost.entries);
    notWritten(ctx, 'overloaded', cost.entries, (err as Error).message, stream.source);
    return { end: 'overloaded', error: err };
  }
  try {
    let msg: LogsMessage;
    try {
      msg = decodeLogsMessage(bytes);
    } catch (err) {
      ctx.metrics.accessLogEntries('received', cost.entries);
      notWritten(ctx, 'malformed', cost.entries, (err as Error).message, stream.source);
      return { end: 'malformed', error: err };
    }
    // Only the first message carries it; kept for the log lines.
    if (msg.identifier) stream.source ??= sourceOf(msg.identifier);
    await reportEntries(ctx, msg, stream.source);
    return undefined;
  } finally {
    release();
  }
}
