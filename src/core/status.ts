// Maps what went wrong to the gRPC status Mixer receives. Every path ends in
// a specific code and a message that says what to fix.
import { status, type ServiceError } from '@grpc/grpc-js';
import { bounded } from '../common/echo.js';
import { InvalidInputError } from '../common/errors.js';
import { BufferFullError } from '../sinks/batching-writer.js';
import { DESTINATION_TAKEN, NOT_REGULAR_FILE, SinkError, WRITE_DEADLINE } from '../sinks/sink.js';
import { CallTooLargeError } from './call-cost.js';

// Conditions of the destination that may clear up on their own.
const TRANSIENT = new Set([
  'ENOSPC',
  'EDQUOT',
  'EIO',
  'EAGAIN',
  'EMFILE',
  'ENFILE',
  'ENOENT',
  'EROFS',
  'EPIPE',
  'ECLOSED',
  // A plug-in's network peer that timed out (a write that does not settle is WRITE_DEADLINE).
  'ETIMEDOUT',
  // A plug-in's network peer that is down or went away.
  'ECONNREFUSED',
  'ECONNRESET',
]);

// The destination is there but unusable as configured: fixing it takes an operator.
// ECONFLICT: two handler configurations define one Prometheus metric differently.
const PRECONDITION = new Set([NOT_REGULAR_FILE, DESTINATION_TAKEN, 'ECONFLICT']);

export type CallError = Partial<ServiceError> & { code: status; details: string };

/**
 * The status for `err`. Its message is bounded (DETAILS_MAX_BYTES): it goes
 * into grpc-message and the warn log, and may quote what a caller sent.
 */
export function toCallError(err: unknown): CallError {
  const { code, details } = classify(err);
  return { code, details: bounded(details) };
}

function classify(err: unknown): CallError {
  if (err instanceof InvalidInputError) return { code: status.INVALID_ARGUMENT, details: err.message };
  if (err instanceof CallTooLargeError) return { code: status.RESOURCE_EXHAUSTED, details: err.message };
  if (err instanceof BufferFullError)
    return { code: status.RESOURCE_EXHAUSTED, details: `records not written: ${err.message}` };
  if (err instanceof SinkError && err.code === WRITE_DEADLINE) {
    return { code: status.DEADLINE_EXCEEDED, details: err.message };
  }
  if (err instanceof SinkError && err.code !== undefined && PRECONDITION.has(err.code)) {
    return { code: status.FAILED_PRECONDITION, details: `records not written: ${err.message}` };
  }
  if (err instanceof SinkError) {
    const code = err.code !== undefined && TRANSIENT.has(err.code) ? status.UNAVAILABLE : status.INTERNAL;
    return { code, details: `records not written: ${err.message}` };
  }
  return { code: status.INTERNAL, details: `internal error: ${(err as Error | undefined)?.message ?? String(err)}` };
}
