// The one reader of protobuf wire bytes. The fast request decoders
// (fast-decode.ts and the front-ends' request readers), the decode-cost walk
// (request-cost.ts) and the strict check (wire-check.ts) all read through it:
// wire types, tags, varints, lengths, bounds and the UTF-8 check live here
// and nowhere else.
//
// Every read stays inside `limit`: the end of the bytes, or of the innermost
// message for the readers that enter() messages (the cost walk and the
// strict check; the fast decoders compare message ends themselves, see
// fast-decode.ts). A read the bytes do not allow throws MALFORMED, one
// shared Error (no stack captured per failure: the fast decoders fail this
// way on purpose for shapes they leave to the fallback); problem() then says
// what it was, for the strict check's messages.
//
// Two reads follow protobufjs instead of the wire format (varint32,
// skipVarintAnyLength, skipCut, enterCut): the cost walk must read bent
// bytes exactly as protobufjs, the fallback decoder, reads them, so that it
// never counts less than protobufjs then builds.
import { isUtf8 } from 'node:buffer';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** Thrown by a read the bytes do not allow; the reader's problem() says which. */
export const MALFORMED = new Error('wire: the bytes stop being protobuf here');

/**
 * Thrown by string() for bytes that are not valid UTF-8, which decoding would
 * turn into U+FFFD: the caller finds the field (wire-check.ts) and decides.
 */
export const INVALID_UTF8 = new Error('wire decoder: a string is not valid UTF-8');

// What a MALFORMED was, kept as numbers so that failing costs nothing until
// someone asks (problem()).
const NO_PROBLEM = 0;
const VARINT_TRUNCATED = 1;
const VARINT_TOO_LONG = 2;
const BYTES_MISSING = 3;
const WIRE_TYPE_UNKNOWN = 4;

// Batches repeat the same short strings (instance names, dimension keys,
// service names) hundreds of times. Short ASCII strings are looked up in a
// small direct-mapped table by a hash of their bytes and compared byte for
// byte, so a repeat costs no native call and no new string (metric100_file
// 794 -> 711 us/call when it came in). Bounded: one string per slot, a new
// one replaces the old.
const INTERN_MAX_BYTES = 64;
const INTERN_SLOTS = 4096;
const interned: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS);

function shortString(buf: Buffer, start: number, end: number): string {
  if (start === end) return '';
  let h = 0x811c9dc5; // FNV-1a
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b >= 0x80) return utf8(buf, start, end);
    h = Math.imul(h ^ b, 0x01000193);
  }
  const slot = (h >>> 0) & (INTERN_SLOTS - 1);
  const cached = interned[slot];
  if (cached !== undefined && cached.length === end - start) {
    let same = true;
    for (let i = 0; i < cached.length; i++) {
      if (cached.charCodeAt(i) !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cached;
  }
  const s = buf.toString('latin1', start, end); // ASCII: latin1 is the same text, decoded faster
  interned[slot] = s;
  return s;
}

function utf8(buf: Buffer, start: number, end: number): string {
  if (!isUtf8(buf.subarray(start, end))) throw INVALID_UTF8;
  return buf.toString('utf8', start, end);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class WireReader {
  /** The bytes read; rebound only by reset(). */
  buf: Buffer;
  pos = 0;
  /** End of the innermost message being read: no read goes past it. */
  limit: number;
  /** Field number and wire type of the last tag read (fields, not a tuple: no garbage per tag). */
  field = 0;
  wire = 0;

  private problemKind = NO_PROBLEM;
  private problemAt = 0;
  private bytesNeeded = 0;
  private bytesLeft = 0;

  /**
   * `varintBytes`: the longest varint varint() reads, 10 as the wire format
   * allows, or fewer for a reader that leaves longer encodings of tags and
   * lengths to another decoder (MALFORMED past it).
   */
  constructor(
    bytes: Uint8Array,
    private readonly varintBytes = 10,
  ) {
    this.buf = asBuffer(bytes);
    this.limit = bytes.length;
  }

  /** Reads `bytes` from the start, as a new reader would (the fast decoders reuse one per thread). */
  reset(bytes: Uint8Array): this {
    this.buf = asBuffer(bytes);
    this.pos = 0;
    this.limit = bytes.length;
    this.field = 0;
    this.wire = 0;
    this.problemKind = NO_PROBLEM;
    this.problemAt = 0;
    this.bytesNeeded = 0;
    this.bytesLeft = 0;
    return this;
  }

  private fail(kind: number, at: number, needed = 0): never {
    this.problemKind = kind;
    this.problemAt = at;
    this.bytesNeeded = needed;
    this.bytesLeft = this.limit - at;
    throw MALFORMED;
  }

  /** What the last MALFORMED was, with its offset (the strict check's message). */
  problem(): string {
    switch (this.problemKind) {
      case VARINT_TRUNCATED:
        return `varint runs past the end at offset ${this.problemAt}`;
      case VARINT_TOO_LONG:
        return `varint longer than ${this.varintBytes} bytes at offset ${this.problemAt}`;
      case BYTES_MISSING:
        return `${this.bytesNeeded} bytes needed at offset ${this.problemAt}, ${this.bytesLeft} left`;
      case WIRE_TYPE_UNKNOWN:
        return `wire type ${this.wire} cannot be passed over at offset ${this.problemAt}`;
      default:
        return 'no problem recorded';
    }
  }

  /** A varint of up to `varintBytes` bytes as a number: exact below 2^53, which every length and tag that fits is. */
  varint(): number {
    // Most tags and lengths take one or two bytes: those cases stay small enough to inline.
    const buf = this.buf;
    const pos = this.pos;
    if (pos + 1 < this.limit) {
      const b0 = buf[pos]!;
      if (b0 < 0x80) {
        this.pos = pos + 1;
        return b0;
      }
      const b1 = buf[pos + 1]!;
      if (b1 < 0x80) {
        this.pos = pos + 2;
        return (b0 & 0x7f) + b1 * 128;
      }
    }
    return this.longVarint();
  }

  private longVarint(): number {
    const buf = this.buf;
    const limit = this.limit;
    let pos = this.pos;
    const most = this.varintBytes;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < most; i++) {
      if (pos >= limit) this.fail(VARINT_TRUNCATED, pos);
      const b = buf[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
      scale *= 128;
    }
    return this.fail(VARINT_TOO_LONG, pos);
  }

  /** Any varint (up to 10 bytes) as its low 64 bits, unsigned. */
  varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.limit) this.fail(VARINT_TRUNCATED, this.pos);
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    return this.fail(VARINT_TOO_LONG, this.pos);
  }

  /** Passes over a varint of up to 10 bytes. */
  skipVarint(): void {
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.limit) this.fail(VARINT_TRUNCATED, this.pos);
      if (this.buf[this.pos++]! < 0x80) return;
    }
    this.fail(VARINT_TOO_LONG, this.pos);
  }

  /** Reads a tag into `field` and `wire`. */
  tag(): void {
    const t = this.varint();
    this.field = Math.floor(t / 8);
    this.wire = t % 8;
  }

  /** Passes over `n` bytes. */
  skip(n: number): void {
    if (n > this.limit - this.pos) this.fail(BYTES_MISSING, this.pos, n);
    this.pos += n;
  }

  /** Reads a length and returns the end of the bytes it delimits (inside the innermost message). */
  span(): number {
    const len = this.varint();
    if (len > this.limit - this.pos) this.fail(BYTES_MISSING, this.pos, len);
    return this.pos + len;
  }

  /**
   * Reads a length and makes the bytes it delimits the innermost message.
   * Returns the enclosing limit, for leave() once they are read to their end.
   */
  enter(): number {
    const end = this.span();
    const outer = this.limit;
    this.limit = end;
    return outer;
  }

  leave(outer: number): void {
    this.limit = outer;
  }

  /** Passes over the field whose tag was just read, by its wire type; groups and invalid types are MALFORMED. */
  skipField(): void {
    switch (this.wire) {
      case WIRE_VARINT:
        this.skipVarint();
        return;
      case WIRE_FIXED64:
        this.skip(8);
        return;
      case WIRE_LEN:
        this.pos = this.span();
        return;
      case WIRE_FIXED32:
        this.skip(4);
        return;
      default:
        this.fail(WIRE_TYPE_UNKNOWN, this.pos);
    }
  }

  /** Whether bytes [start, end) are valid UTF-8. */
  isUtf8(start: number, end: number): boolean {
    return isUtf8(this.buf.subarray(start, end));
  }

  /** A length-delimited string; INVALID_UTF8 when it is not UTF-8 (never U+FFFD in its place). */
  string(): string {
    const end = this.span();
    const start = this.pos;
    this.pos = end;
    return end - start <= INTERN_MAX_BYTES ? shortString(this.buf, start, end) : utf8(this.buf, start, end);
  }

  /** Length-delimited bytes: a view of the request's buffer, not a copy. */
  bytes(): Buffer {
    const end = this.span();
    const b = this.buf.subarray(this.pos, end);
    this.pos = end;
    return b;
  }

  /** int64 as proto-loader prints it with longs: String (signed decimal). */
  int64(): string {
    // Up to 7 bytes (< 2^49) the number is exact and String() is cheap; longer
    // ones (negative values take 10) go through BigInt.
    const buf = this.buf;
    const limit = this.limit;
    let pos = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 7 && pos < limit; i++) {
      const b = buf[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = pos;
        return String(result);
      }
      scale *= 128;
    }
    return BigInt.asIntN(64, this.varint64()).toString();
  }

  /** int32: the low 32 bits, signed (negative values arrive as 10-byte varints). */
  int32(): number {
    return Number(BigInt.asIntN(32, this.varint64()));
  }

  bool(): boolean {
    return BigInt.asUintN(32, this.varint64()) !== 0n;
  }

  double(): number {
    if (this.limit - this.pos < 8) this.fail(BYTES_MISSING, this.pos, 8);
    const d = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return d;
  }

  // Reads as protobufjs reads, for the cost walk (see the file's header).

  /** protobufjs's uint32: five bytes make 32 bits; a longer varint's next five bytes are passed over unread. */
  varint32(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.limit) this.fail(VARINT_TRUNCATED, this.pos);
      const b = this.buf[this.pos++]!;
      result += (i === 4 ? b & 0x0f : b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    this.skip(5);
    return result;
  }

  /** A tag read as protobufjs reads it (varint32). */
  tag32(): void {
    const t = this.varint32();
    this.field = Math.floor(t / 8);
    this.wire = t % 8;
  }

  /** An unknown varint as protobufjs passes over it: any length. */
  skipVarintAnyLength(): void {
    for (;;) {
      if (this.pos >= this.limit) this.fail(VARINT_TRUNCATED, this.pos);
      if (this.buf[this.pos++]! < 0x80) return;
    }
  }

  /** A length-delimited field as protobufjs reads a string: cut short at the end of its message. */
  skipCut(): void {
    const len = this.varint32();
    this.pos = Math.min(this.pos + len, this.limit);
  }

  /** enter() for a message protobufjs reads whatever its wire type: a varint32 length, cut short at the end of the enclosing one. */
  enterCut(): number {
    const outer = this.limit;
    const len = this.varint32();
    this.limit = Math.min(this.pos + len, outer);
    return outer;
  }
}
