// Structured logs on stderr (stdout belongs to the stdout sink): one JSON
// object a line, `time` in ISO 8601 (UTC), `level` as its name, so a log
// pipeline needs no pino-specific mapping. Secrets are redacted by path
// wherever they might be attached to a log object.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'authKey',
  'auth_key',
  '*.authKey',
  '*.auth_key',
  '*.*.authKey',
  '*.*.auth_key',
  'token',
  '*.token',
  'headers.authorization',
  // Call metadata carries the token header; private keys never belong in a log.
  'authorization',
  '*.authorization',
  'metadata',
  '*.metadata',
  'privateKey',
  '*.privateKey',
];

export function createLogger(level: LevelWithSilent, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      name: 'mygrpcadapter',
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
