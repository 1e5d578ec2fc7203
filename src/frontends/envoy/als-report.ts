// One access-log message, from its bytes to its entries' records: its
// decoding bounded before anything is allocated, decoded, each entry made an
// attribute bag and the rules' metric instances built, the whole bounded
// again with Mixer's own estimate of the HandleMetric requests it makes,
// then its turn in the shared budget, the writes, and what became of every
// entry counted, with one log line per cause (repeats summed by the repeat
// log).
import { bounded, ECHO_MAX_BYTES } from '../../common/echo.js';
import { InvalidInputError } from '../../common/errors.js';
import { CallTooLargeError } from '../../core/call-cost.js';
import { toCallError } from '../../core/status.js';
import type { Bag } from '../../opconfig/attributes.js';
import { BufferFullError } from '../../sinks/batching-writer.js';
import { SinkError, WRITE_DEADLINE } from '../../sinks/sink.js';
import { estimatedDecodeBytes, metricRequestCost } from '../../wire/request-cost.js';
import { OverloadedError, type MessageBudget } from './als-budget.js';
import {
  admitMessage,
  decodeLogsMessage,
  MalformedMessageError,
  MessageTooLargeError,
  messageCost,
  type IdentifierObject,
  type LogsMessage,
  type MessageCost,
} from './als-message.js';
import type { AlsNotWrittenCause, AlsStreamEnd } from './als-outcomes.js';
import { buildReport, writeReport, type BuiltReport, type EnvoyContext } from './dispatch.js';
import { httpEntryBag, tcpEntryBag, type HttpEntryObject, type TcpEntryObject } from './log-attributes.js';

/**
 * What a stream paused on a message may still hold besides it: the HTTP/2
 * stream window the client may fill meanwhile (64 KiB, Node's default) and
 * one DATA frame grpc-js has read ahead (16 KiB).
 */
export const PAUSED_STREAM_BYTES = 80 * 1024;

/** The longest dedup id (a uint64 in decimal): estimates do not depend on which one a request got. */
const MAX_DEDUP_ID_BYTES = 20;

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

/** A message decoded and its report built, not yet written. */
export interface PreparedMessage {
  identifier: IdentifierObject | undefined;
  entries: number;
  report: BuiltReport;
  /** Estimated bytes from decoding until written: the decode walk, and Mixer's estimate of each request. */
  estimate: number;
  /** Bytes it holds until its turn: its requests (the decoded message and its bags are gone by then). */
  held: number;
}

export function sourceOf(identifier: IdentifierObject): StreamSource {
  const short = (text: string | undefined) => (text ? bounded(text, ECHO_MAX_BYTES) : undefined);
  return {
    node: short(identifier.node?.id),
    cluster: short(identifier.node?.cluster),
    logName: short(identifier.log_name),
  };
}

function* bagsOf(msg: LogsMessage): Generator<Bag> {
  if (msg.kind === 'http') for (const e of msg.entries as HttpEntryObject[]) yield httpEntryBag(e);
  else for (const e of msg.entries as TcpEntryObject[]) yield tcpEntryBag(e);
}

/**
 * Decodes `bytes` and builds their report, synchronously; throws
 * MessageTooLargeError when decoding, or decoding and reporting, would take
 * more than `bound` bytes (the first before anything is decoded), and
 * MalformedMessageError for bytes that are not a StreamAccessLogsMessage.
 */
export function prepareMessage(
  ctx: Pick<EnvoyContext, 'operatorConfig' | 'nextDedupId'>,
  bytes: Buffer,
  bound: number,
  cost: MessageCost = messageCost(bytes),
): PreparedMessage {
  admitMessage(cost.entries, bytes.length, cost.bytes, bound);
  const msg = decodeLogsMessage(bytes, cost.entries);
  const report = buildReport(ctx, bagsOf(msg));
  // Each request is decoded into records under the same bound (frontends/mixer/request.ts):
  // counted here as it will count it, so that no admitted message is refused there.
  let estimate = cost.bytes;
  let held = 0;
  for (const { request, dedupId } of report.calls) {
    const c = metricRequestCost(request);
    estimate += estimatedDecodeBytes({ ...c, bytes: c.bytes - dedupId.length + MAX_DEDUP_ID_BYTES });
    held += request.length;
  }
  admitMessage(msg.entries.length, bytes.length, estimate, bound);
  return { identifier: msg.identifier, entries: msg.entries.length, report, estimate, held };
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
  // A message with no entries counted says enough in its stream's end line.
  if (cause === 'no_rule' || entries === 0) return;
  ctx.notes.note('warn', `access-log entries not written: ${cause}`, { cause, entries, reason, ...source });
}

/** Writes a prepared message's records and counts what became of each entry; never rejects. */
async function writeEntries(ctx: EnvoyContext, prepared: PreparedMessage, source?: StreamSource): Promise<void> {
  if (prepared.entries === 0) return;
  let results;
  try {
    results = (await writeReport(ctx, prepared.report)).bags;
  } catch (err) {
    notWritten(ctx, 'internal', prepared.entries, toCallError(err).details, source);
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
 * Takes one message of a stream: decodes it and builds its report at once
 * (synchronously: the message's bytes are not held past this call), then
 * resolves with why the stream must end (the message could not be taken),
 * or undefined once its entries are written or counted as not written.
 * Never rejects.
 */
export function takeMessage(
  ctx: EnvoyContext,
  budget: MessageBudget,
  bytes: Buffer,
  stream: { source: StreamSource | undefined },
): Promise<StreamStop | undefined> {
  let cost: MessageCost | undefined;
  let prepared: PreparedMessage;
  try {
    cost = messageCost(bytes);
    // Refused before decoding when the message would have to wait and the waiting room is full.
    budget.refuseIfFull(cost.bytes + PAUSED_STREAM_BYTES, PAUSED_STREAM_BYTES);
    prepared = prepareMessage(ctx, bytes, budget.maxMessage, cost);
  } catch (err) {
    const end =
      err instanceof MessageTooLargeError
        ? 'too_large'
        : err instanceof MalformedMessageError
          ? 'malformed'
          : err instanceof OverloadedError
            ? 'overloaded'
            : undefined;
    if (end === undefined) return Promise.resolve({ end: 'internal', error: err });
    const entries = err instanceof OverloadedError ? (cost?.entries ?? 0) : (err as MessageTooLargeError).entries;
    ctx.metrics.accessLogEntries('received', entries);
    notWritten(ctx, end, entries, (err as Error).message, stream.source);
    return Promise.resolve({ end, error: err });
  }
  ctx.metrics.accessLogEntries('received', prepared.entries);
  // Only the first message carries it; kept for the log lines.
  if (prepared.identifier) stream.source ??= sourceOf(prepared.identifier);
  return writeInTurn(ctx, budget, prepared, stream);
}

/** Waits for the message's turn in the budget, then writes it. Never rejects. */
async function writeInTurn(
  ctx: EnvoyContext,
  budget: MessageBudget,
  prepared: PreparedMessage,
  stream: { source: StreamSource | undefined },
): Promise<StreamStop | undefined> {
  let release: () => void;
  try {
    release = await budget.admit(prepared.estimate + PAUSED_STREAM_BYTES, prepared.held + PAUSED_STREAM_BYTES);
  } catch (err) {
    notWritten(ctx, 'overloaded', prepared.entries, (err as Error).message, stream.source);
    return { end: 'overloaded', error: err };
  }
  try {
    await writeEntries(ctx, prepared, stream.source);
    return undefined;
  } finally {
    release();
  }
}
