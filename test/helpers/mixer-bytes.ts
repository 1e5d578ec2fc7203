// Handle requests as raw protobuf bytes, normalised for comparing two Mixers:
// dedup_id removed and map entries sorted, every other byte (length-prefix
// widths included) kept as sent.

interface RawField {
  field: number;
  /** The field's bytes as sent: tag, length prefix and payload. */
  bytes: Buffer;
  /** The payload of a length-delimited field. */
  payload?: Buffer;
  /** Tag and length prefix of a length-delimited field. */
  head?: Buffer;
}

function readVarint(buf: Buffer, at: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (let i = at; i < buf.length; i++) {
    const b = buf[i] as number;
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [v, i + 1];
    shift += 7n;
  }
  throw new Error('truncated varint');
}

function fields(buf: Buffer): RawField[] {
  const out: RawField[] = [];
  let at = 0;
  while (at < buf.length) {
    const start = at;
    const [key, afterKey] = readVarint(buf, at);
    const wire = Number(key & 7n);
    const field = Number(key >> 3n);
    if (wire === 0) at = readVarint(buf, afterKey)[1];
    else if (wire === 1) at = afterKey + 8;
    else if (wire === 5) at = afterKey + 4;
    else if (wire === 2) {
      const [len, afterLen] = readVarint(buf, afterKey);
      at = afterLen + Number(len);
      out.push({
        field,
        bytes: buf.subarray(start, at),
        head: buf.subarray(start, afterLen),
        payload: buf.subarray(afterLen, at),
      });
      continue;
    } else throw new Error(`wire type ${wire}`);
    out.push({ field, bytes: buf.subarray(start, at) });
  }
  return out;
}

/** Which length-delimited fields hold messages to descend into, and which are map entries. */
interface Layout {
  messages?: Record<number, Layout>;
  maps?: number[];
  drop?: number[];
}

const METRIC_INSTANCE: Layout = { maps: [2, 4] };
const AUTHORIZATION_INSTANCE: Layout = { messages: { 1: { maps: [3] }, 2: { maps: [5] } } };

const LAYOUTS: Record<string, Layout> = {
  '/metric.HandleMetricService/HandleMetric': { messages: { 1: METRIC_INSTANCE }, drop: [3] },
  '/authorization.HandleAuthorizationService/HandleAuthorization': {
    messages: { 1: AUTHORIZATION_INSTANCE },
    drop: [3],
  },
};

function normalise(buf: Buffer, layout: Layout): string {
  const parts = fields(buf)
    .filter((f) => !layout.drop?.includes(f.field))
    .map((f) => {
      const inner = layout.messages?.[f.field];
      return {
        field: f.field,
        hex:
          inner && f.payload && f.head ? f.head.toString('hex') + normalise(f.payload, inner) : f.bytes.toString('hex'),
      };
    });
  // Map entries of one field are sent together (in Go map order): sort each run.
  const out: string[] = [];
  for (let i = 0; i < parts.length;) {
    let j = i;
    const part = parts[i] as { field: number; hex: string };
    while (j < parts.length && parts[j]?.field === part.field) j++;
    const run = parts.slice(i, j).map((p) => p.hex);
    out.push(...(layout.maps?.includes(part.field) ? run.sort() : run));
    i = j;
  }
  return out.join(' ');
}

/** The request's bytes as hex, dedup_id left out and map entries in sorted order. */
export function normalisedRequest(method: string, bytes: Buffer): string {
  const layout = LAYOUTS[method];
  if (!layout) throw new Error(`no layout for ${method}`);
  return normalise(bytes, layout);
}

/** The dedup_id (field 3) of a handle request. */
export function dedupIdOf(bytes: Buffer): string | undefined {
  return fields(bytes)
    .find((f) => f.field === 3)
    ?.payload?.toString('utf8');
}
