// Appends formatted records to a file opened once (O_APPEND, never truncated).
import { open, type FileHandle } from 'node:fs/promises';
import type { Formatter } from '../format/index.js';
import type { AdapterRecord } from '../record/types.js';
import { BatchingWriter } from './batching-writer.js';
import { SinkClosedError, SinkError, type Sink } from './sink.js';

async function writeAll(handle: FileHandle, chunks: Buffer[]): Promise<void> {
  let rest = chunks;
  while (rest.length > 0) {
    const { bytesWritten } = await handle.writev(rest);
    // A short write leaves a tail: drop what went out and retry the rest.
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const c of rest) {
      if (skip >= c.length) {
        skip -= c.length;
      } else {
        next.push(skip > 0 ? c.subarray(skip) : c);
        skip = 0;
      }
    }
    rest = next;
  }
}

export class FileSink implements Sink {
  private closed = false;
  private readonly writer: BatchingWriter;

  private constructor(
    private readonly handle: FileHandle,
    private readonly filePath: string,
    private readonly format: Formatter,
  ) {
    this.writer = new BatchingWriter((chunks) => writeAll(this.handle, chunks));
  }

  /** Opens (creating if needed) `filePath` for appending; rejects with SinkError when it cannot. */
  static async open(filePath: string, format: Formatter): Promise<FileSink> {
    try {
      return new FileSink(await open(filePath, 'a', 0o644), filePath, format);
    } catch (err) {
      throw SinkError.from(`cannot open ${filePath} for appending`, err);
    }
  }

  async write(records: readonly AdapterRecord[]): Promise<void> {
    if (this.closed) throw new SinkClosedError(`file sink ${this.filePath}`);
    if (records.length === 0) return;
    try {
      await this.writer.write(Buffer.from(this.format(records)));
    } catch (err) {
      throw SinkError.from(`cannot append to ${this.filePath}`, err);
    }
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.flush();
    await this.handle.close();
  }
}
