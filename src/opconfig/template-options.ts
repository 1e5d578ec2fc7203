// Reads a serialized FileDescriptorSet at the wire level. Decoding through a
// descriptor library would drop unknown extensions; here the template file
// options are read straight from the bytes of each FileOptions, which is what
// Mixer sees.
import protobuf from 'protobufjs';

/** FileOptions extension numbers (istio.mixer.adapter.model.v1beta1). */
export const TEMPLATE_VARIETY_FIELD = 72295727;
export const TEMPLATE_NAME_FIELD = 72295888;

export interface WireFile {
  name: string;
  package: string;
  /** Import paths, as written in the file. */
  dependencies: string[];
  /** The raw FileOptions bytes (empty when the file has none). */
  options: Uint8Array;
}

export interface TemplateOptions {
  /** Present only when the option is in the bytes, even with value 0 (CHECK). */
  variety?: number;
  templateName?: string;
}

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** Calls `onField` for every top-level field of a message; LEN fields get their bytes. */
function forEachField(
  bytes: Uint8Array,
  onField: (field: number, reader: protobuf.Reader, wireType: number) => boolean,
): void {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (!onField(field, reader, wireType)) reader.skipType(wireType);
  }
}

/** The files of a FileDescriptorSet (field 1): name (1), package (2), dependency (3), options (8). */
export function readFiles(set: Uint8Array): WireFile[] {
  const files: WireFile[] = [];
  forEachField(set, (field, reader, wireType) => {
    if (field !== 1 || wireType !== WIRE_LEN) return false;
    const file: WireFile = { name: '', package: '', dependencies: [], options: new Uint8Array() };
    forEachField(reader.bytes(), (f, r, wt) => {
      if (wt !== WIRE_LEN) return false;
      if (f === 1) file.name = r.string();
      else if (f === 2) file.package = r.string();
      else if (f === 3) file.dependencies.push(r.string());
      else if (f === 8) file.options = r.bytes();
      else return false;
      return true;
    });
    files.push(file);
    return true;
  });
  return files;
}

/** The template_variety / template_name options found in raw FileOptions bytes. */
export function readTemplateOptions(options: Uint8Array): TemplateOptions {
  const out: TemplateOptions = {};
  forEachField(options, (field, reader, wireType) => {
    if (field === TEMPLATE_VARIETY_FIELD && wireType === WIRE_VARINT) out.variety = reader.int32();
    else if (field === TEMPLATE_NAME_FIELD && wireType === WIRE_LEN) out.templateName = reader.string();
    else return false;
    return true;
  });
  return out;
}

export interface TemplateFile extends WireFile, Required<TemplateOptions> {}

/**
 * Mixer's rule: exactly one file of a template descriptor set carries
 * template_variety, and that file must also carry template_name.
 */
export function findTemplateFile(set: Uint8Array): TemplateFile {
  const marked = readFiles(set)
    .map((f) => ({ ...f, ...readTemplateOptions(f.options) }))
    .filter((f) => f.variety !== undefined);
  if (marked.length !== 1) {
    throw new Error(`expected exactly one file with the template_variety option, found ${marked.length}`);
  }
  const [file] = marked as [WireFile & TemplateOptions];
  const { variety, templateName } = file;
  if (variety === undefined || templateName === undefined || !/^[a-zA-Z]+$/.test(templateName)) {
    throw new Error(`${file.name}: template_name option missing or not matching ^[a-zA-Z]+$`);
  }
  return { ...file, variety, templateName };
}

/** Import paths that no file of the set provides (Mixer needs the set self-contained). */
export function missingImports(files: readonly WireFile[]): string[] {
  const present = new Set(files.map((f) => f.name));
  return [...new Set(files.flatMap((f) => f.dependencies))].filter((d) => !present.has(d)).sort();
}
