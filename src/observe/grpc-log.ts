// grpc-js logs through console.error by default (`E No address added ...`),
// which would put plain lines among the JSON ones. It has one process-wide
// logger: route it into ours, at the verbosity our level lets through.
import { format } from 'node:util';
import { logVerbosity, setLogger, setLogVerbosity } from '@grpc/grpc-js';
import type { Logger } from '../log.js';

/** grpc-js trace lines: `<ISO time> | v<version> <pid> | <tracer> | <text>`. */
const TRACE_LINE = /^\S+ \| v\S+ \d+ \| ([^|]+?) \| ([\s\S]*)$/;

export function routeGrpcLogs(log: Logger): void {
  const grpcLog = log.child({ component: 'grpc-js' });
  const to =
    (level: 'error' | 'info' | 'debug') =>
    (message?: unknown, ...rest: unknown[]): void => {
      const text = format(message, ...rest);
      const trace = TRACE_LINE.exec(text);
      if (trace) grpcLog[level]({ tracer: trace[1] }, trace[2]);
      else grpcLog[level](text);
    };
  setLogger({ error: to('error'), info: to('info'), debug: to('debug') });
  const level = log.levelVal;
  setLogVerbosity(
    level <= log.levels.values.debug!
      ? logVerbosity.DEBUG
      : level <= log.levels.values.info!
        ? logVerbosity.INFO
        : level <= log.levels.values.fatal!
          ? logVerbosity.ERROR
          : logVerbosity.NONE,
  );
}
