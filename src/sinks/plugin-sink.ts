// A plug-in's sink behind the same bounded group-commit writer as the file
// and stdout sinks, so backpressure (--sink-buffer-bytes, --sink-wait)
// applies to it unchanged, and so does the call deadline (--sink-write-timeout,
// server/sink-call.ts). Each group is handed to the plug-in as one
// write(records); a write that does not settle within that same timeout
// fails its group (WRITE_DEADLINE), so one stuck plug-in call cannot wedge the
// writer for the calls after it.
import { estimatedRecordBytes } from '../record/size.js';
import type { AdapterRecord } from '../record/types.js';
import type { BufferLimits, WriterEvents } from './batching-writer.js';
import type { RecordSink } from './sink.js';
import { SinkError, WRITE_DEADLINE } from './sink.js';
import { WriterSink } from './writer-sink.js';

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** Runs one plug-in method and holds it to the contract: a promise that settles in time. */
export async function callPlugin(what: string, method: string, timeoutMs: number, run: () => unknown): Promise<void> {
  let result: unknown;
  try {
    result = run();
  } catch (err) {
    throw SinkError.from(`${what}: ${method}() threw`, err);
  }
  if (!isThenable(result)) {
    throw new SinkError(`${what}: ${method}() returned ${typeof result}, the contract asks for a promise`, 'EPLUGIN');
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SinkError(
            `${what}: ${method}() did not settle within ${timeoutMs} ms (--sink-write-timeout)`,
            WRITE_DEADLINE,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([Promise.resolve(result), deadline]);
  } catch (err) {
    throw SinkError.from(`${what}: ${method}() failed`, err);
  } finally {
    clearTimeout(timer);
  }
}

export class PluginSink extends WriterSink<readonly AdapterRecord[]> {
  constructor(
    private readonly pluginName: string,
    private readonly plugin: RecordSink,
    private readonly timeoutMs: number,
    buffer: BufferLimits,
    events?: WriterEvents,
  ) {
    super(
      pluginName,
      (chunks) => {
        // Each chunk is one call's records. They were built for this call and
        // go to this sink only (a handler has one sink; --record keeps the
        // request bytes), so the plug-in gets them without a copy.
        const records = chunks.length === 1 ? [...chunks[0]!] : chunks.flat();
        return callPlugin(pluginName, 'write', timeoutMs, () => plugin.write(records));
      },
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
    if (typeof this.plugin.flush === 'function') {
      await callPlugin(this.pluginName, 'flush', this.timeoutMs, () => this.plugin.flush!());
    }
  }

  protected closeDestination(): Promise<void> {
    return callPlugin(this.pluginName, 'close', this.timeoutMs, () => this.plugin.close());
  }
}
