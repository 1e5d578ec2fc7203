// The reference request deserializer the fast wire readers fall back to:
// protobufjs decode then toObject with proto-loader's options (the objects
// proto-loader builds), except that a map entry whose message value is
// missing gets the empty message. That is valid proto3 (a missing field is
// its default; Go decodes it so), but protobufjs stores null for it and its
// toObject then throws a TypeError, which reached callers as the status text.
import protobuf from 'protobufjs';
import loaderOptions from './loader-options.json' with { type: 'json' };

const TO_OBJECT: protobuf.IConversionOptions = {
  ...loaderOptions,
  longs: loaderOptions.longs === 'String' ? String : Number,
  enums: String,
};

function fillMissingMapValues(type: protobuf.Type, message: Record<string, unknown>): void {
  for (const field of type.fieldsArray) {
    const sub = field.resolvedType;
    const value = message[field.name];
    if (!(sub instanceof protobuf.Type) || value === null || value === undefined) continue;
    if (field.map) {
      const entries = value as Record<string, Record<string, unknown> | null>;
      for (const key of Object.keys(entries)) {
        const entry = entries[key];
        if (entry === null || entry === undefined) entries[key] = sub.create() as unknown as Record<string, unknown>;
        else fillMissingMapValues(sub, entry);
      }
    } else if (field.repeated) {
      for (const item of value as Record<string, unknown>[]) fillMissingMapValues(sub, item);
    } else {
      fillMissingMapValues(sub, value as Record<string, unknown>);
    }
  }
}

/** Deserializer for messages of `type` (a type of a keepCase root). */
export function referenceDeserializer<T>(type: protobuf.Type): (buf: Buffer) => T {
  return (buf) => {
    const message = type.decode(buf) as unknown as Record<string, unknown>;
    fillMissingMapValues(type, message);
    return type.toObject(message as unknown as protobuf.Message, TO_OBJECT) as T;
  };
}
