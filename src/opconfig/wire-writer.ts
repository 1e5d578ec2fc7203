// Protobuf bytes laid out the way Mixer 1.6's dynamic encoder writes them
// (contract §1.5, observed with realmixer): sub-messages built from an
// instance block and map entries carry a length of at least two bytes
// (`0A 80 00` for an empty `subject`), everything else minimal varints.
// A protobuf library always writes minimal lengths, hence this writer.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;

/** Base-128 varint of an unsigned 64-bit value (negatives: their two's complement, 10 bytes). */
export function varint(value: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** A length written in at least two bytes: below 128, `(0x80 | n) 00`. */
export function paddedLength(n: number): number[] {
  return n < 0x80 ? [0x80 | n, 0x00] : varint(n);
}

export function tag(field: number, wireType: number): number[] {
  return varint((BigInt(field) << 3n) | BigInt(wireType));
}

/** Appends protobuf fields to one growing buffer. */
export class WireWriter {
  private readonly chunks: Uint8Array[] = [];

  raw(bytes: Uint8Array | readonly number[]): this {
    this.chunks.push(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
    return this;
  }

  varintField(field: number, value: bigint | number): this {
    return this.raw([...tag(field, WIRE_VARINT), ...varint(value)]);
  }

  doubleField(field: number, value: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    return this.raw(tag(field, WIRE_FIXED64)).raw(b);
  }

  /** A length-delimited field with a minimal length. */
  bytesField(field: number, bytes: Uint8Array): this {
    return this.raw([...tag(field, WIRE_LEN), ...varint(bytes.length)]).raw(bytes);
  }

  stringField(field: number, text: string): this {
    return this.bytesField(field, Buffer.from(text, 'utf8'));
  }

  /** A sub-message with Mixer's two-byte minimum length prefix. */
  paddedField(field: number, bytes: Uint8Array): this {
    return this.raw([...tag(field, WIRE_LEN), ...paddedLength(bytes.length)]).raw(bytes);
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
