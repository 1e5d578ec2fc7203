import type { FormatName } from '../core/params/params.js';
import type { AdapterRecord } from '../record/types.js';
import { formatJson } from './json.js';
import { encodeText, formatText } from './text.js';

/** Turns the records of one call into the bytes a sink appends. */
export type Formatter = (records: readonly AdapterRecord[]) => string;

export const formatters: Record<FormatName, Formatter> = {
  text: formatText,
  json: formatJson,
};

/** Turns the records of one call into the bytes a sink appends (the formatter's text, UTF-8). */
export type Encoder = (records: readonly AdapterRecord[]) => Buffer;

/**
 * The bytes of `format`'s text: its own encoder when the format has one (the
 * text format writes a check's block without an intermediate string), else
 * Buffer.from of the text.
 */
export function encoderOf(format: Formatter): Encoder {
  if (format === formatText) return encodeText;
  return (records) => Buffer.from(format(records));
}
