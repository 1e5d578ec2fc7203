// Sends recorded calls again (the exact request bytes) and compares each
// answer with the recorded one: same status code, and for OK calls the same
// decoded response. A call whose answer depended on a secret masked when it
// was recorded is not sent: it could not give its answer again, so it is
// reported as such, not as a difference.
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { ClientPool } from '../mixer/client.js';
import { dial, PLAINTEXT, type DialSettings } from '../../transport/dial.js';
import { decodeView, knownMethod, statusName, type RecordedCall } from '../../recording/calls.js';
import { unreproducible } from '../../recording/mask.js';

export interface ReplayResult {
  line: number;
  method: string;
  /**
   * same: matches; different: does not; unchecked: the file has no answer to
   * compare with; unreproducible: not sent, its answer depended on a secret
   * masked when it was recorded (detail says which).
   */
  verdict: 'same' | 'different' | 'unchecked' | 'unreproducible';
  detail: string;
}

export interface ReplaySummary {
  total: number;
  same: number;
  different: number;
  unchecked: number;
  unreproducible: number;
  results: ReplayResult[];
}

/** Parses a JSON-lines recording; throws naming the first bad line. */
export function parseRecording(text: string, file: string): { line: number; call: RecordedCall }[] {
  const out: { line: number; call: RecordedCall }[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let call: RecordedCall;
    try {
      call = JSON.parse(raw) as RecordedCall;
    } catch (err) {
      throw new Error(`${file}:${i + 1}: not JSON: ${(err as Error).message}`);
    }
    if (typeof call.method !== 'string' || !knownMethod(call.method)) {
      throw new Error(`${file}:${i + 1}: method ${JSON.stringify(call.method)} is not a handle method of this adapter`);
    }
    if (typeof call.request !== 'string') throw new Error(`${file}:${i + 1}: request (base64) missing`);
    if (call.masked !== undefined && !(Array.isArray(call.masked) && call.masked.every((m) => typeof m === 'string'))) {
      throw new Error(`${file}:${i + 1}: masked must be a list of strings`);
    }
    out.push({ line: i + 1, call });
  });
  return out;
}

function compare(
  call: RecordedCall,
  code: number,
  details: string,
  response: Buffer | undefined,
): [ReplayResult['verdict'], string] {
  const got = `${statusName(code)}${details ? ` (${details})` : ''}`;
  if (!call.status) return ['unchecked', got];
  if (call.status.code !== code) return ['different', `expected ${call.status.name}, got ${got}`];
  if (code !== 0 || call.response === undefined) return ['same', got];
  const expected = decodeView(call.method, 'response', Buffer.from(call.response, 'base64'));
  const actual = decodeView(call.method, 'response', response ?? Buffer.alloc(0));
  if (isDeepStrictEqual(expected, actual)) return ['same', got];
  return ['different', `expected response ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

export async function replayFile(
  file: string,
  address: string,
  timeoutMs: number,
  how: DialSettings = PLAINTEXT,
): Promise<ReplaySummary> {
  const calls = parseRecording(await readFile(file, 'utf8'), file);
  const pool = new ClientPool(await dial(how));
  const results: ReplayResult[] = [];
  try {
    // One after another, in recorded order, so sinks see the same sequence.
    for (const { line, call } of calls) {
      const why = call.secrets === 'masked' ? unreproducible(call.method, call.masked ?? []) : undefined;
      if (why !== undefined) {
        results.push({ line, method: call.method, verdict: 'unreproducible', detail: `not replayed: ${why}` });
        continue;
      }
      const r = await pool.call(address, call.method, Buffer.from(call.request, 'base64'), timeoutMs);
      const [verdict, detail] = compare(call, r.code, r.details, r.response);
      results.push({ line, method: call.method, verdict, detail });
    }
  } finally {
    pool.close();
  }
  const count = (v: ReplayResult['verdict']): number => results.filter((r) => r.verdict === v).length;
  return {
    total: results.length,
    same: count('same'),
    different: count('different'),
    unchecked: count('unchecked'),
    unreproducible: count('unreproducible'),
    results,
  };
}
