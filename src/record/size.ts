// What records take in a sink's buffer, estimated without serialising them:
// sinks that take records (plug-ins, memory) are bounded by --sink-buffer-bytes
// like the byte sinks, so their records need a size. The estimate follows the
// JSON form (strings by length, a few bytes per number, key and punctuation),
// which is what the bound has always counted for them.
import type { AdapterRecord } from './types.js';

function estimate(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
    case 'bigint':
      return 12;
    case 'boolean':
      return 5;
    case 'object': {
      if (value === null) return 4;
      if (Array.isArray(value)) {
        let n = 2;
        for (const item of value) n += estimate(item) + 1;
        return n;
      }
      let n = 2;
      for (const key in value) n += key.length + 4 + estimate((value as Record<string, unknown>)[key]);
      return n;
    }
    case 'function':
    case 'symbol':
    case 'undefined':
      return 0;
  }
}

export function estimatedRecordBytes(records: readonly AdapterRecord[]): number {
  return estimate(records);
}
