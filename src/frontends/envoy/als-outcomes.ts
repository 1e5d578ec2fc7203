// The access-log front-end's counted outcomes: fixed lists, so the metric
// label values are bounded whatever Envoy (or anyone) sends.

/** Why an access-log entry received was not written. */
export const ALS_NOT_WRITTEN_CAUSES = [
  /** No rule of the operator config selected it (Mixer reported nothing for it either). */
  'no_rule',
  /** A rule's match or one of its instances could not be evaluated on the entry's attributes. */
  'instance_error',
  /** Its message would take more than --max-decode-bytes to decode and report. */
  'too_large',
  /** Its message arrived while the messages waiting for their turn were at their bound. */
  'overloaded',
  /** Its message was not a valid StreamAccessLogsMessage (counted when the walk could count them). */
  'malformed',
  /** The sink's buffer stayed full (--sink-wait). */
  'sink_full',
  /** The sink did not take the records within --sink-write-timeout. */
  'sink_timeout',
  /** The sink failed (ENOSPC, a plug-in's error, ...), or its handler could not be used. */
  'sink_error',
  /** Anything else (a fault of the adapter's own). */
  'internal',
] as const;
export type AlsNotWrittenCause = (typeof ALS_NOT_WRITTEN_CAUSES)[number];

/** How an access-log stream ended. */
export const ALS_STREAM_ENDS = [
  /** The client ended it; answered OK once its last message was written. */
  'client_ended',
  /** The adapter shut down: read to the end of what was sent, answered OK. */
  'drained',
  /** A message over --max-decode-bytes: RESOURCE_EXHAUSTED. */
  'too_large',
  /** The messages waiting for their turn were at their bound: RESOURCE_EXHAUSTED. */
  'overloaded',
  /** A message that is not a StreamAccessLogsMessage: INVALID_ARGUMENT. */
  'malformed',
  /** Reset by the client, or cut by a stream bound (logged by the guard), before an answer. */
  'cancelled',
  /** A fault of the adapter's own: INTERNAL. */
  'internal',
] as const;
export type AlsStreamEnd = (typeof ALS_STREAM_ENDS)[number];
