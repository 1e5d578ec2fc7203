// A plug-in's sink behind the same bounded group-commit writer as the file
// and stdout sinks, so backpressure (--sink-buffer-bytes, --sink-wait)
// applies to it unchanged, and so does the call deadline (--sink-write-timeout,
// core/sink-call.ts). Each group is handed to the plug-in as one
// write(records). The plug-in runs in its worker (plugin/host.ts): every
// method of `plugin` settles within --sink-write-timeout, so one stuck
// plug-in call cannot wedge the writer for the calls after it.
import { estimatedRecordBytes } from '../record/size.js';
import type { AdapterRecord } from '../record/types.js';
import type { BufferLimits, WriterEvents } from './batching-writer.js';
import type { RecordSink } from './sink.js';
import { WriterSink } from './writer-sink.js';

export class PluginSink extends WriterSink<readonly AdapterRecord[]> {
  constructor(
    pluginName: string,
    /** The sink in the plug-in's worker; records are cloned on the way there. */
    private readonly plugin: RecordSink,
    buffer: BufferLimits,
    events?: WriterEvents,
  ) {
    super(
      pluginName,
      // Each chunk is one call's records; the plug-in gets a structured clone of them.
      (chunks) => plugin.write(chunks.length === 1 ? chunks[0]! : chunks.flat()),
      buffer,
      events,
      estimatedRecordBytes,
    );
  }

  readonly acceptsEncoded = false;

  protected encode(records: readonly AdapterRecord[]): readonly AdapterRecord[] {
    return records;
  }

  override async flush(): Promise<void> {
    await super.flush();
    await this.plugin.flush?.();
  }

  protected closeDestination(): Promise<void> {
    return this.plugin.close();
  }
}
