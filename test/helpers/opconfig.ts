// Builds operator-config folders for the stand-in tests from the fixtures in
// test/fixtures/opconfig/, filling in what is only known at run time.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import descriptorExt from 'protobufjs/ext/descriptor/index.js';
import { CONFIG_PROTO, PROTO_DIR } from '../../src/wire/load.js';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

interface ToDescriptor {
  toDescriptor(edition: string): protobuf.Message;
}

/**
 * base64 FileDescriptorSet of a .proto source. protobufjs' toDescriptor loses
 * file names, imports and custom options: fine for a Params of scalars.
 */
export function descriptorSetBase64(protoSource: string): string {
  const root = protobuf.parse(protoSource, { keepCase: true }).root;
  const set = (root as unknown as ToDescriptor).toDescriptor('proto3');
  return Buffer.from(descriptorExt.FileDescriptorSet.encode(set).finish()).toString('base64');
}

/** The descriptor set of the adapter's own config.proto. */
export async function adapterConfigBase64(): Promise<string> {
  return descriptorSetBase64(await readFile(path.join(PROTO_DIR, CONFIG_PROTO), 'utf8'));
}

/** A new folder below `parent` (the system temp folder by default); whoever asks removes it. */
export async function tempDir(prefix = 'mixer-test-', parent = tmpdir()): Promise<string> {
  return mkdtemp(path.join(parent, prefix));
}

/**
 * A config folder: attributes.yaml, adapter.yaml (config filled) and
 * `<flow>/operator.yaml` with __ADDRESS__ and __FILE_PATH__ replaced.
 */
export async function writeOpConfig(
  flow: 'metric' | 'authorization',
  fill: { address: string; filePath: string },
  out: string,
): Promise<string> {
  const src = path.join(FIXTURES, 'opconfig');
  await writeFile(path.join(out, 'attributes.yaml'), await readFile(path.join(src, 'attributes.yaml')));
  const adapter = await readFile(path.join(src, 'adapter.yaml'), 'utf8');
  await writeFile(path.join(out, 'adapter.yaml'), adapter.replaceAll('__CONFIG__', await adapterConfigBase64()));
  const operator = await readFile(path.join(src, flow, 'operator.yaml'), 'utf8');
  await writeFile(
    path.join(out, 'operator.yaml'),
    operator.replaceAll('__ADDRESS__', fill.address).replaceAll('__FILE_PATH__', fill.filePath),
  );
  return out;
}
