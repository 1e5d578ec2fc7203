// The message types the linter checks params against, decoded from the
// adapter and template resources themselves (their base64 descriptor sets).
import type protobuf from 'protobufjs';
import { findTemplateFile } from '../template-options.js';
import { findParamsType, rootFromDescriptorSet } from '../descriptor.js';

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Base64 as Mixer's Go decoder takes it (standard alphabet); rejects other text. */
function base64Bytes(text: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Error('not standard padded base64');
  return Buffer.from(text, 'base64');
}

/** Params of an adapter's `spec.config`; `undefined` value when the config is empty (no params). */
export function decodeAdapterConfig(config: unknown): Decoded<protobuf.Type | undefined> {
  if (config === undefined || config === null || config === '') return { ok: true, value: undefined };
  if (typeof config !== 'string') return { ok: false, error: 'spec.config must be a base64 string' };
  try {
    const params = findParamsType(rootFromDescriptorSet(base64Bytes(config).toString('base64')));
    if (params === undefined) return { ok: false, error: 'spec.config has no top-level message named Params' };
    return { ok: true, value: params };
  } catch (err) {
    return { ok: false, error: `spec.config is not a FileDescriptorSet: ${message(err)}` };
  }
}

export interface TemplateSchema {
  /** The wire package (that of the file carrying template_variety). */
  package: string;
  variety: number;
  /** `<package>.InstanceMsg`: what Mixer encodes an instance's params into. */
  instance: protobuf.Type;
}

export function decodeTemplateDescriptor(descriptor: unknown): Decoded<TemplateSchema> {
  if (typeof descriptor !== 'string' || descriptor === '') {
    return { ok: false, error: 'spec.descriptor must be a non-empty base64 string' };
  }
  try {
    const bytes = base64Bytes(descriptor);
    const file = findTemplateFile(bytes);
    const root = rootFromDescriptorSet(bytes.toString('base64'));
    const instance = root.lookupType(`${file.package}.InstanceMsg`);
    return { ok: true, value: { package: file.package, variety: file.variety, instance } };
  } catch (err) {
    return { ok: false, error: `spec.descriptor: ${message(err)}` };
  }
}
