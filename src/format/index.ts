import type { FormatName } from '../core/params/params.js';
import type { AdapterRecord } from '../record/types.js';
import { formatJson } from './json.js';
import { formatText } from './text.js';

/** Turns the records of one call into the bytes a sink appends. */
export type Formatter = (records: readonly AdapterRecord[]) => string;

export const formatters: Record<FormatName, Formatter> = {
  text: formatText,
  json: formatJson,
};
