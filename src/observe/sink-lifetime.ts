// Tells the metrics when a sink closes, so the series of its destination go
// with it (a sink closes when the last handler configuration using it is
// evicted). Wraps the factories rather than the sinks: nothing on the call path.
import type { SinkFactory } from '../sinks/registry.js';
import type { SinkSpec } from '../sinks/sink.js';

export function reportClosing(
  factories: Record<string, SinkFactory>,
  closed: (spec: SinkSpec) => void,
): Record<string, SinkFactory> {
  return Object.fromEntries(
    Object.entries(factories).map(([type, open]): [string, SinkFactory] => [
      type,
      async (spec, env) => {
        let sink;
        try {
          sink = await open(spec, env);
        } catch (err) {
          closed(spec); // a sink that never opened leaves nothing behind either
          throw err;
        }
        const close = sink.close.bind(sink);
        sink.close = async () => {
          try {
            await close();
          } finally {
            closed(spec);
          }
        };
        return sink;
      },
    ]),
  );
}
