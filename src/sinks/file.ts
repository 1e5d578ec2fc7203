// Appends formatted records to a file opened once (O_APPEND, never
// truncated). Optional: fsync policy, size-based rotation, reopen on SIGHUP.
import { open, type FileHandle } from 'node:fs/promises';
import type { Formatter } from '../format/index.js';
import type { AdapterRecord } from '../record/types.js';
import { UNBOUNDED, type BufferLimits, type WriterEvents } from './batching-writer.js';
import { RotatedFiles } from './rotated-files.js';
import { SinkError } from './sink.js';
import { WriterSink } from './writer-sink.js';

/**
 * never: the OS decides when data reaches the disk (fastest; a machine crash
 * can lose the last seconds). batch: fdatasync before a group's calls are
 * answered (survives a machine crash; costs one disk flush per group).
 * interval: fdatasync at most every `fsyncIntervalMs` when there is new data.
 */
export type FsyncPolicy = 'never' | 'batch' | 'interval';

export interface FileSinkOptions {
  buffer: BufferLimits;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** Rotate when the file would grow past this many bytes; 0 = never. */
  rotateBytes: number;
  /** Rotated files kept (path.1, path.2, ...; the highest is the newest); at least 1 (rotation never discards records). */
  rotateKeep: number;
  events?: WriterEvents;
}

export const DEFAULT_FILE_SINK_OPTIONS: FileSinkOptions = {
  buffer: UNBOUNDED,
  fsync: 'never',
  fsyncIntervalMs: 1000,
  rotateBytes: 0,
  rotateKeep: 5,
};

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

async function openForAppend(filePath: string): Promise<{ handle: FileHandle; size: number }> {
  const handle = await open(filePath, 'a', 0o644);
  try {
    return { handle, size: (await handle.stat()).size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

export class FileSink extends WriterSink {
  private dirty = false;
  /** Serialises group writes, rotation and reopen on the one file handle. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly syncTimer: NodeJS.Timeout | undefined;
  private readonly rotated: RotatedFiles;

  private constructor(
    private handle: FileHandle,
    private size: number,
    private readonly filePath: string,
    private readonly format: Formatter,
    private readonly options: FileSinkOptions,
  ) {
    super(
      `file sink ${filePath}`,
      (chunks) => this.serial(() => this.writeGroup(chunks)),
      options.buffer,
      options.events,
    );
    this.rotated = new RotatedFiles(filePath, options.rotateKeep);
    if (options.fsync === 'interval') {
      this.syncTimer = setInterval(() => void this.syncIfDirty(), options.fsyncIntervalMs);
      this.syncTimer.unref();
    }
  }

  /** Opens (creating if needed) `filePath` for appending; rejects with SinkError when it cannot. */
  static async open(
    filePath: string,
    format: Formatter,
    options: FileSinkOptions = DEFAULT_FILE_SINK_OPTIONS,
  ): Promise<FileSink> {
    try {
      const { handle, size } = await openForAppend(filePath);
      return new FileSink(handle, size, filePath, format, options);
    } catch (err) {
      throw SinkError.from(`cannot open ${filePath} for appending`, err);
    }
  }

  readonly acceptsEncoded = true;

  protected encode(records: readonly AdapterRecord[]): Buffer {
    return Buffer.from(this.format(records));
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async writeGroup(chunks: Buffer[]): Promise<void> {
    const bytes = chunks.reduce((n, c) => n + c.length, 0);
    if (this.options.rotateBytes > 0 && this.size > 0 && this.size + bytes > this.options.rotateBytes) {
      await this.rotate();
    }
    await writeAll(this.handle, chunks);
    this.size += bytes;
    if (this.options.fsync === 'batch') await this.handle.datasync();
    else this.dirty = true;
  }

  private async rotate(): Promise<void> {
    await this.handle.close();
    await this.rotated.moveCurrent();
    const reopened = await openForAppend(this.filePath);
    this.handle = reopened.handle;
    this.size = reopened.size;
  }

  private async syncIfDirty(): Promise<void> {
    if (!this.dirty || this.isClosed) return;
    this.dirty = false;
    await this.handle.datasync().catch(() => (this.dirty = true));
  }

  /** Switches to a fresh handle on the same path (logrotate moved the old file away). */
  override reopen(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return this.serial(async () => {
      const { handle, size } = await openForAppend(this.filePath);
      const old = this.handle;
      this.handle = handle;
      this.size = size;
      await old.close();
    });
  }

  protected closeDestination(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    return this.serial(async () => {
      if (this.options.fsync !== 'never') await this.handle.datasync().catch(() => undefined);
      await this.handle.close();
    });
  }
}
