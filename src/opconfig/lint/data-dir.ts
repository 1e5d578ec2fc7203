// A handler's file_path against the data dir the adapter will run with
// (lint --data-dir, the server's --data-dir). The adapter refuses a path
// outside it on every call; lint can only judge the spelling, since symbolic
// links live on the adapter's machine, not here.
import path from 'node:path';
import type { HandlerConfig } from '../../core/params/params.js';
import { isInside } from '../../sinks/path-guard.js';
import type { Report } from './mixer-checks.js';

/** Warns when `config` writes a file that an adapter with `dataDir` (absolute) refuses; `field` is where file_path is. */
export function checkFilePath(config: HandlerConfig, dataDir: string, field: string, report: Report): void {
  if (config.sink !== 'file') return; // the adapter opens file_path only for the file sink
  const given = config.filePath;
  const shown = JSON.stringify(given);
  if (path.isAbsolute(given)) {
    if (isInside(dataDir, path.resolve(given))) return;
    report(
      'warning',
      field,
      `${shown} is outside the data dir ${dataDir}; the adapter answers INVALID_ARGUMENT to every call ` +
        'unless started with a --data-dir that holds it (give lint the same --data-dir DIR)',
    );
  } else if (!isInside(dataDir, path.resolve(dataDir, given))) {
    report(
      'warning',
      field,
      `${shown} climbs out (..) of the data dir ${dataDir}; the adapter answers INVALID_ARGUMENT to every call ` +
        'whatever its --data-dir (give a path that stays inside it)',
    );
  }
}
