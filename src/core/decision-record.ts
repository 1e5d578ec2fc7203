// The decision record of a check, and what happens when it cannot be kept.
// By default the check is answered on its decision anyway (availability of
// authorization must not hang on a disk): the loss is counted and logged,
// rate-limited. --strict-decision-records fails the check instead, with the
// sink's status, and Mixer's fail policy decides.
import { status } from '@grpc/grpc-js';
import type { AdapterRecord } from '../record/types.js';
import type { Handler } from './handler-table.js';
import type { CoreContext } from './context.js';
import { writeToSink } from './sink-call.js';
import type { Sink } from '../sinks/sink.js';
import { toCallError } from './status.js';

/**
 * Writes a check's decision record; resolves once it is written or given up
 * on (rejects only under --strict-decision-records). Not async itself: the
 * sink call's one async layer does it all (see writeToSink).
 */
export function keepDecisionRecord(ctx: CoreContext, handler: Handler, record: AdapterRecord): Promise<void> {
  return writeToSink(ctx, handler, writeRecords, [record], recordLost);
}

const writeRecords = (sink: Sink, signal: AbortSignal, records: readonly AdapterRecord[]): Promise<void> =>
  sink.write(records, signal);

function recordLost(ctx: CoreContext, handler: Handler, err: unknown): void {
  if (ctx.sinkCalls.strictDecisionRecords) throw err;
  const { code, details } = toCallError(err);
  const codeName = status[code];
  ctx.metrics.decisionRecordLost(codeName);
  const fields = { handler: handler.id, code: codeName, err: details };
  ctx.notes.note('warn', `decision record not written (${codeName})`, fields);
}
