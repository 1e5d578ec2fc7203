// For tests that compare a fast decoder with the reference one on many inputs.
import { isDeepStrictEqual } from 'node:util';
import type protobuf from 'protobufjs';
import { checkWire } from '../../src/wire/wire-check.js';
import { INVALID_UTF8 } from '../../src/wire/wire-reader.js';
import { packageDefinition, protoRoot } from '../../src/wire/load.js';
import { referenceDeserializer as lenientReference } from '../../src/wire/reference-decode.js';

interface MethodDef<T> {
  requestDeserialize: (buf: Buffer) => T;
  requestType: { type: { name: string } };
}

/** proto-loader's own request deserializer for a method. */
export function protoLoaderDeserializer<T>(service: string, method: string): (buf: Buffer) => T {
  const def = packageDefinition()[service] as unknown as Record<string, MethodDef<T>>;
  return def[method]!.requestDeserialize;
}

/**
 * The reference the wire decoders must match: proto-loader's objects, but a
 * map entry without its value decodes to the empty value where proto-loader
 * throws a TypeError (see src/protocol/reference-decode.ts).
 */
export function referenceDeserializer<T>(service: string, method: string): (buf: Buffer) => T {
  const def = packageDefinition()[service] as unknown as Record<string, MethodDef<T>>;
  const pkg = service.slice(0, service.lastIndexOf('.'));
  return lenientReference<T>(protoRoot().lookupType(`${pkg}.${def[method]!.requestType.type.name}`));
}

/**
 * A fast decoder (decodeMetricFast, decodeAuthorizationFast) with `slow` for
 * every shape it leaves to the reference, as the server uses it; invalid
 * UTF-8 reaches the caller.
 */
export function fastWithFallback<T>(fast: (buf: Buffer) => T, slow: (buf: Buffer) => T): (buf: Buffer) => T {
  return (buf) => {
    try {
      return fast(buf);
    } catch (err) {
      if (err === INVALID_UTF8) throw err;
      return slow(buf);
    }
  };
}

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a decoder made of `buf`: its result, or that it threw. */
export function outcome<T>(decode: (buf: Buffer) => T, buf: Buffer): { ok: T } | { threw: true } {
  try {
    return { ok: decode(buf) };
  } catch {
    return { threw: true };
  }
}

/**
 * The fast decoder (with fallback) agrees with the reference, except that it
 * stops at a string that is not valid UTF-8 where the reference decodes it
 * leniently: then the strict schema walk (which names the field for the
 * caller) must find the bytes wrong too, so the call is refused either way.
 */
export function sameOrInvalidUtf8<T>(
  fast: (buf: Buffer) => T,
  reference: (buf: Buffer) => T,
  type: protobuf.Type,
  buf: Buffer,
): boolean {
  try {
    fast(buf);
  } catch (err) {
    if (err === INVALID_UTF8) return checkWire(type, buf) !== undefined;
  }
  return isDeepStrictEqual(outcome(fast, buf), outcome(reference, buf));
}
