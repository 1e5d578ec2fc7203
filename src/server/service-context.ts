import type { sendUnaryData } from '@grpc/grpc-js';
import type { Logger } from '../log.js';
import type { HandlerTable } from './handler-table.js';
import { toCallError } from './status.js';

/** What the handle-service implementations share. */
export interface ServiceContext {
  handlers: HandlerTable;
  log: Logger;
  now: () => Date;
}

/**
 * Runs one call's work and answers exactly once: the result, or the status
 * that says what went wrong (also logged). Never lets a rejection escape.
 */
export function answer<T>(
  ctx: ServiceContext,
  method: string,
  callback: sendUnaryData<T>,
  work: () => Promise<T>,
): void {
  work().then(
    (result) => callback(null, result),
    (err: unknown) => {
      const callError = toCallError(err);
      ctx.log.warn({ method, code: callError.code, err: callError.details }, `${method} failed`);
      callback(callError);
    },
  );
}
