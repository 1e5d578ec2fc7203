// The walkthrough's out.txt block for metric calls, and a block in the same
// style for authorization decisions. Lines: two-space indent, two TABs before
// Value/Dimensions, no newline after an instance's closing brace.
import type {
  AdapterRecord,
  AuthorizationRecord,
  ConfigView,
  Decision,
  MetricRecord,
  ValueMap,
} from '../record/types.js';
import { goValue, goValueMap, putGoValueMap } from './go-print.js';

/** `&Params{FilePath:out.txt,}`: FilePath always (as the sample prints it), other fields when set. */
export function goParams(c: ConfigView): string {
  let s = `&Params{FilePath:${c.filePath},`;
  if (c.authKey !== '') s += `AuthKey:${c.authKey},`;
  if (c.format !== '') s += `Format:${c.format},`;
  if (c.validDuration !== '0s') s += `ValidDuration:${c.validDuration},`;
  if (c.validUseCount !== 0) s += `ValidUseCount:${c.validUseCount},`;
  if (c.denyValidDuration !== '0s') s += `DenyValidDuration:${c.denyValidDuration},`;
  if (c.denyValidUseCount !== 0) s += `DenyValidUseCount:${c.denyValidUseCount},`;
  return s + '}';
}

function metricBlock(records: readonly MetricRecord[]): string {
  const first = records[0];
  if (!first) return '';
  let s = `HandleMetric invoked with:\n  Adapter config: ${goParams(first.config)}\n  Instances: `;
  for (const r of records) {
    s +=
      `'${r.instance}':\n  {\n` +
      `\t\tValue = ${goValue(r.value, r.valueKind)}\n` +
      `\t\tDimensions = ${goValueMap(r.dimensions.values, r.dimensions.kinds)}\n  }`;
  }
  return s + '\n';
}

// The lines of a block that depend only on the handler's config or on the
// decision are made once per config view and per decision (both objects live
// as long as their handler; decisions are shared, see core/authorize.ts).
const authorizationHeads = new WeakMap<ConfigView, string>();
const resultLines = new WeakMap<Decision, string>();

function authorizationHead(c: ConfigView): string {
  let head = authorizationHeads.get(c);
  if (head === undefined) {
    head = `HandleAuthorization invoked with:\n  Adapter config: ${goParams(c)}\n  Instance: '`;
    authorizationHeads.set(c, head);
  }
  return head;
}

function resultLine(d: Decision): string {
  let line = resultLines.get(d);
  if (line === undefined) {
    // Key id and audit outcome only when there are some: the walkthrough's line stays as it was.
    const key = d.keyId ? `, key: ${d.keyId}` : '';
    const audit = d.wouldBe ? `, audit: would be ${d.wouldBe}` : '';
    const http = d.http ? `, http: ${d.http.code}` : '';
    line =
      `  Result: ${d.code}${d.message ? ` (${d.message})` : ''}${d.reason ? `, reason: ${d.reason}` : ''}${key}${audit}${http}, ` +
      `valid duration: ${d.validDuration}, valid use count: ${d.validUseCount}\n`;
    resultLines.set(d, line);
  }
  return line;
}

/** Where a block's text goes, piece by piece: a string (formatText) or bytes (encodeText). */
interface TextOut {
  put(piece: string): void;
}

class StringOut implements TextOut {
  text = '';
  put(piece: string): void {
    this.text += piece;
  }
}

function putProps(m: ValueMap, out: TextOut): void {
  putGoValueMap(m.values, m.kinds, out);
}

/** An authorization record's block, the same pieces whichever way they go. */
function putAuthorizationBlock(r: AuthorizationRecord, out: TextOut): void {
  out.put(authorizationHead(r.config));
  out.put(r.instance);
  out.put("':\n  {\n\t\tSubject = ");
  const s = r.subject;
  if (s) {
    out.put('&SubjectMsg{User:');
    out.put(s.user);
    out.put(',Groups:');
    out.put(s.groups);
    out.put(',Properties:');
    putProps(s.properties, out);
    out.put(',}');
  } else {
    out.put('<nil>');
  }
  out.put('\n\t\tAction = ');
  const a = r.action;
  if (a) {
    out.put('&ActionMsg{Namespace:');
    out.put(a.namespace);
    out.put(',Service:');
    out.put(a.service);
    out.put(',Method:');
    out.put(a.method);
    out.put(',Path:');
    out.put(a.path);
    out.put(',Properties:');
    putProps(a.properties, out);
    out.put(',}');
  } else {
    out.put('<nil>');
  }
  out.put('\n  }\n');
  out.put(resultLine(r.decision));
}

function authorizationBlock(r: AuthorizationRecord): string {
  const out = new StringOut();
  putAuthorizationBlock(r, out);
  return out.text;
}

/**
 * Bytes written piece by piece into one scratch buffer, then copied out at
 * their length: a check's block costs one Buffer, not the concatenated
 * strings and their flat copy that Buffer.from(formatText(...)) makes
 * (~0.6 KB of heap per check). One per thread; encodeText is synchronous.
 */
class ByteOut implements TextOut {
  private static readonly KEEP_BYTES = 64 * 1024;
  private buf = Buffer.allocUnsafeSlow(4096);
  private pos = 0;

  put(piece: string): void {
    // A UTF-16 code unit is at most 3 UTF-8 bytes (a surrogate pair: 4 for 2).
    if (this.buf.length - this.pos < piece.length * 3) this.grow(piece.length * 3);
    this.pos += this.buf.write(piece, this.pos);
  }

  private grow(needed: number): void {
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + needed));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /** The bytes put since the last take(), as a Buffer of their own. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    // A huge record does not keep its scratch space for ever.
    if (this.buf.length > ByteOut.KEEP_BYTES) this.buf = Buffer.allocUnsafeSlow(4096);
    return out;
  }
}

const bytesOut = new ByteOut();

/**
 * formatText's bytes (UTF-8). Authorization records are written straight into
 * bytes; calls with metric records go through formatText.
 */
export function encodeText(records: readonly AdapterRecord[]): Buffer {
  for (const r of records) if (r.template === 'metric') return Buffer.from(formatText(records));
  for (const r of records) putAuthorizationBlock(r as AuthorizationRecord, bytesOut);
  return bytesOut.take();
}

/** Formats the records of one call: one block for all metric records, one per authorization record. */
export function formatText(records: readonly AdapterRecord[]): string {
  const metric: MetricRecord[] = [];
  let out = '';
  for (const r of records) {
    if (r.template === 'metric') metric.push(r);
    else out += authorizationBlock(r);
  }
  return metricBlock(metric) + out;
}
