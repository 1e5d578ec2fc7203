// Rewrites chosen length-delimited fields of protobuf bytes and copies every
// other byte as it was, so a masked recording keeps the sender's own encoding
// (field order, unknown fields, Mixer's map order) wherever no secret was.
import { WIRE_LEN, WireReader } from '../wire/wire-reader.js';

/** New contents for a length-delimited field, or undefined to keep it as it is. */
export type FieldEdit = (field: number, value: Buffer) => Buffer | undefined;

/**
 * `message` with each length-delimited field `edit` replaces, at every
 * occurrence (repeats of a message field merge, so any of them may hold a
 * secret). Returns `message` itself when nothing was replaced. Throws the
 * reader's MALFORMED for bytes that are not protobuf (groups included).
 */
export function editFields(message: Buffer, edit: FieldEdit): Buffer {
  const r = new WireReader(message);
  const parts: Buffer[] = [];
  let copied = 0;
  while (r.pos < r.limit) {
    r.tag();
    if (r.wire !== WIRE_LEN) {
      r.skipField();
      continue;
    }
    const afterTag = r.pos;
    const end = r.span();
    const replacement = edit(r.field, message.subarray(r.pos, end));
    r.pos = end;
    if (replacement === undefined) continue;
    parts.push(message.subarray(copied, afterTag), varint(replacement.length), replacement);
    copied = end;
  }
  if (parts.length === 0) return message;
  parts.push(message.subarray(copied));
  return Buffer.concat(parts);
}

/** The last value of string or bytes field `field` (the one a decoder keeps), or undefined when absent. */
export function lastBytes(message: Buffer, field: number): Buffer | undefined {
  let found: Buffer | undefined;
  editFields(message, (f, value) => {
    if (f === field) found = value;
    return undefined;
  });
  return found;
}

/** `edit` applied to the message in field `field`; undefined when that message is unchanged (for nesting). */
export function inField(field: number, edit: (message: Buffer) => Buffer): FieldEdit {
  return (f, value) => {
    if (f !== field) return undefined;
    const edited = edit(value);
    return edited === value ? undefined : edited;
  };
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}
