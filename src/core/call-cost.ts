// The per-call work bound: a request whose decoding would take more memory
// than --max-decode-bytes is refused before anything is decoded, so one call
// can neither exhaust the heap nor hold the event loop for long.
import { estimatedDecodeBytes, maxEstimatedDecodeBytes, type RequestCost } from '../wire/request-cost.js';

/** Answered with RESOURCE_EXHAUSTED; the message names the bound. */
export class CallTooLargeError extends Error {
  override name = 'CallTooLargeError';
}

/** Throws CallTooLargeError when decoding a request of `cost` would exceed `maxDecodeBytes`. */
export function admitCost(cost: RequestCost, maxDecodeBytes: number): void {
  const estimate = estimatedDecodeBytes(cost);
  if (estimate <= maxDecodeBytes) return;
  throw new CallTooLargeError(
    `request not decoded: it holds ${cost.instances} instances and ${cost.mapEntries} map entries in ` +
      `${cost.bytes} bytes, about ${estimate} bytes to decode; the per-call bound is ${maxDecodeBytes} ` +
      `(--max-decode-bytes)`,
  );
}

/**
 * admitCost for a request's bytes, walked by `cost` only when they are many
 * enough to pass the bound: most calls are a few hundred bytes, and the walk
 * would cost them a third of their decoding.
 */
export function admitRequest(bytes: Buffer, cost: (bytes: Buffer) => RequestCost, maxDecodeBytes: number): void {
  if (maxEstimatedDecodeBytes(bytes.length) > maxDecodeBytes) admitCost(cost(bytes), maxDecodeBytes);
}
