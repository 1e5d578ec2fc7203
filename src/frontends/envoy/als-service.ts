// envoy.service.accesslog.{v3,v2}.AccessLogService/StreamAccessLogs: each
// entry of each message becomes an attribute bag (as Istio 1.7's bridge into
// Mixer made it), reported through the operator config's rules to the same
// records as a Mixer report; counted and logged per cause. The streams share
// one budget (als-budget.ts); drain() ends them all at shutdown.
import type { handleClientStreamingCall } from '@grpc/grpc-js';
import { MessageBudget } from './als-budget.js';
import { takeMessage, type StreamStop } from './als-report.js';
import { LogStream } from './als-stream.js';
import type { EnvoyContext } from './dispatch.js';
import { toCallError } from '../../core/status.js';

export interface AccessLogService {
  StreamAccessLogs: handleClientStreamingCall<Buffer, Buffer>;
  /**
   * Ends every open stream (and any opened meanwhile) once what its client
   * had sent is written, answering OK; stops reading at half of `graceMs`.
   * Resolves when all are answered, or when `graceMs` has passed.
   */
  drain(graceMs: number): Promise<void>;
}

export function accessLogService(ctx: EnvoyContext): AccessLogService {
  const budget = MessageBudget.of(ctx.maxDecodeBytes);
  const open = new Set<LogStream>();
  let drainBy: number | undefined;
  let allDone: (() => void) | undefined;

  const take = (bytes: Buffer, stream: LogStream) => takeMessage(ctx, budget, bytes, stream);
  const finished = (stream: LogStream, { end, error }: StreamStop): void => {
    open.delete(stream);
    ctx.metrics.accessLogStreamEnded(end);
    if (error !== undefined) {
      const { code, details } = toCallError(error);
      ctx.notes.note('warn', `access-log stream ended: ${end}`, { end, code, details, ...stream.source });
    } else ctx.log.debug({ end, ...stream.source }, 'access-log stream ended');
    if (open.size === 0) allDone?.();
  };

  return {
    StreamAccessLogs: (call, callback) => {
      const stream = new LogStream(call, callback, take, finished);
      open.add(stream);
      if (drainBy !== undefined) stream.drain(drainBy);
    },
    drain: async (graceMs) => {
      drainBy = performance.now() + graceMs / 2;
      for (const stream of open) stream.drain(drainBy);
      if (open.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        allDone = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
    },
  };
}
