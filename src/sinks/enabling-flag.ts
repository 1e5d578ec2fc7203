// Which serve flag makes a sink type available. A handler may name a sink
// this adapter was started without; its refusal then names the flag that
// fixes it instead of only listing the types this adapter has.

/** The sink type that --prometheus-port adds (main.ts registers it only then). */
export const PROMETHEUS_SINK = 'prometheus';

/** The NAMEs --sink-module NAME=MODULE accepts. */
export const PLUGIN_SINK_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/**
 * `--flag VALUE` that would make `sink` a sink type of the adapter, or
 * undefined when no flag can (a name --sink-module refuses).
 */
export function enablingFlag(sink: string): string | undefined {
  if (sink === PROMETHEUS_SINK) return '--prometheus-port PORT';
  if (PLUGIN_SINK_NAME.test(sink)) return `--sink-module ${sink}=MODULE`;
  return undefined;
}
