// The `spec.config` of a `kind: adapter` resource (base64 FileDescriptorSet)
// turned into a protobufjs Root, and Mixer's rule for finding Params in it.
import protobuf from 'protobufjs';
import descriptorExt from 'protobufjs/ext/descriptor/index.js';

interface DescriptorRootStatic {
  fromDescriptor(set: protobuf.Message | Uint8Array): protobuf.Root;
}

/** Decodes base64 FileDescriptorSet bytes into a resolved Root. Throws on garbage. */
export function rootFromDescriptorSet(base64: string): protobuf.Root {
  const bytes = Buffer.from(base64, 'base64');
  const set = descriptorExt.FileDescriptorSet.decode(bytes);
  const root = (protobuf.Root as unknown as DescriptorRootStatic).fromDescriptor(set);
  root.resolveAll();
  return root;
}

/**
 * Mixer scans every file for a top-level message named `Params`; the last one
 * found wins and its package becomes the config package. Returns undefined
 * when there is none (Mixer then rejects the adapter).
 */
export function findParamsType(root: protobuf.Root): protobuf.Type | undefined {
  let found: protobuf.Type | undefined;
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Type) {
        if (child.name === 'Params') found = child;
      } else if (child instanceof protobuf.Namespace) {
        visit(child);
      }
    }
  };
  visit(root);
  return found;
}

/** `type.googleapis.com/<package>.Params`, the type_url Mixer puts on adapter_config. */
export function paramsTypeUrl(params: protobuf.Type): string {
  return `type.googleapis.com/${params.fullName.replace(/^\./, '')}`;
}
