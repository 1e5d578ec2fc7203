// Appends formatted records to a file opened once (O_APPEND, never
// truncated). Optional: fsync policy, size-based rotation, reopen on SIGHUP.
import { constants as fsConstants, fstat, writev, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { encoderOf, type Encoder, type Formatter } from '../format/index.js';
import type { AdapterRecord } from '../record/types.js';
import { UNBOUNDED, type BufferLimits, type WriterEvents } from './batching-writer.js';
import { RotatedFiles } from './rotated-files.js';
import { NOT_REGULAR_FILE, SinkError } from './sink.js';
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

/** A write that failed after `written` of its bytes reached the file. */
class PartialWriteError extends Error {
  constructor(
    readonly failure: unknown,
    readonly written: number,
  ) {
    super((failure as Error | undefined)?.message ?? String(failure));
  }
}

/** Appends `chunks` whole; `skip` bytes of them already went out (a short write of the fast path). */
async function writeAll(handle: FileHandle, chunks: Buffer[], skip = 0): Promise<void> {
  let rest = skip > 0 ? dropWritten(chunks, skip) : chunks;
  let written = skip;
  while (rest.length > 0) {
    let bytesWritten: number;
    try {
      ({ bytesWritten } = await handle.writev(rest));
    } catch (err) {
      throw new PartialWriteError(err, written);
    }
    written += bytesWritten;
    rest = dropWritten(rest, bytesWritten);
  }
}

/** A short write leaves a tail: what of `chunks` is left after the first `skip` bytes. */
function dropWritten(chunks: Buffer[], skip: number): Buffer[] {
  const next: Buffer[] = [];
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length;
    } else {
      next.push(skip > 0 ? c.subarray(skip) : c);
      skip = 0;
    }
  }
  return next;
}

function totalLength(chunks: Buffer[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

// O_NONBLOCK: opening a FIFO without a reader fails at once (ENXIO) instead of
// parking one of libuv's four threads in open() for good; on a regular file
// the flag changes nothing. O_NOFOLLOW: path-guard already resolved every
// link, so a link here was swapped in since.
const APPEND_FLAGS =
  fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW;

/** What a file that is not a regular one is, for the refusal message. */
function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

interface OpenFile {
  handle: FileHandle;
  size: number;
  /** Identity of the file opened, "dev:ino". */
  identity: string;
}

const identityOf = (st: Stats): string => `${st.dev}:${st.ino}`;

/**
 * Opens `filePath` for appending, creating it. Only a regular file is kept:
 * writes to a FIFO, socket or device can block for ever or go nowhere. The
 * type is judged on the opened descriptor, so nothing can be swapped in
 * between the check and the writes.
 */
async function openForAppend(filePath: string): Promise<OpenFile> {
  let handle: FileHandle;
  try {
    handle = await open(filePath, APPEND_FLAGS, 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENXIO: a FIFO nobody reads, or a socket. ELOOP: the last component is a link.
    if (code === 'ENXIO') throw notRegular(filePath, await lstat(filePath).then(kindOf, () => 'not a regular file'));
    if (code === 'ELOOP') throw notRegular(filePath, 'a symbolic link');
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(filePath, kindOf(st));
    return { handle, size: st.size, identity: identityOf(st) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

function notRegular(filePath: string, kind: string): SinkError {
  return new SinkError(`${filePath} is ${kind}; a file sink writes only regular files`, NOT_REGULAR_FILE);
}

export class FileSink extends WriterSink {
  private dirty = false;
  /** Serialises group writes, rotation and reopen on the one file handle: the last one started, settled or not. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Operations started through serial() whose settling has not been seen yet. */
  private serialOps = 0;
  private readonly serialSettled = (): void => {
    this.serialOps--;
  };
  private readonly syncTimer: NodeJS.Timeout | undefined;
  /** Where a failed group's bytes begin when cutting them off failed too: the next group cuts first. */
  private tornAt: number | undefined;
  private readonly rotated: RotatedFiles;
  private readonly encodeRecords: Encoder;

  private constructor(
    /** undefined once the file was found deleted and could not be created again; the next group retries. */
    private handle: FileHandle | undefined,
    private size: number,
    /** "dev:ino" of the file `handle` writes. */
    private identity: string,
    private readonly filePath: string,
    format: Formatter,
    private readonly options: FileSinkOptions,
  ) {
    super(
      `file sink ${filePath}`,
      (chunks) => this.serial(FileSink.groupWrite, chunks),
      options.buffer,
      options.events,
    );
    this.encodeRecords = encoderOf(format);
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
      const { handle, size, identity } = await openForAppend(filePath);
      return new FileSink(handle, size, identity, filePath, format, options);
    } catch (err) {
      throw SinkError.from(`cannot open ${filePath} for appending`, err);
    }
  }

  readonly acceptsEncoded = true;

  protected encode(records: readonly AdapterRecord[]): Buffer {
    return this.encodeRecords(records);
  }

  private static readonly groupWrite = (sink: FileSink, chunks: Buffer[]): Promise<void> => sink.writeGroup(chunks);

  /**
   * Runs `work(arg)` after every operation started before it has settled; at
   * once when none is outstanding (the usual group write: no promise hop and
   * no closure per group). `work` reports failures by rejecting, never by
   * throwing (an async function, or writeGroup).
   */
  private serial<A, T>(work: (sink: FileSink, arg: A) => Promise<T>, arg: A): Promise<T> {
    const next = this.serialOps === 0 ? work(this, arg) : this.chain.then(() => work(this, arg));
    this.serialOps++;
    // Settles either way (never rejects), so the next operation waits for this one whatever it did.
    this.chain = next.then(this.serialSettled, this.serialSettled);
    return next;
  }

  /**
   * Appends one group; resolves only when all of it is in a file that the
   * path still names. On failure none of it stays: a partial write is cut
   * off, so the next record starts on a line of its own.
   *
   * The usual group (file open, nothing to cut or rotate, no fsync per
   * group) goes out with one writev and one fstat on the descriptor through
   * fs's callbacks: the FileHandle promise calls and async steps of the
   * general path cost ~6 KB of heap per group, most of a small call's own
   * allocation. Anything else (an error, a short write, a file deleted
   * from outside) continues on the general path, which does the same.
   * Writing to the descriptor is safe: every use of the handle that could
   * close it runs in serial() too.
   */
  private writeGroup(chunks: Buffer[]): Promise<void> {
    const handle = this.handle;
    const bytes = totalLength(chunks);
    if (
      handle === undefined ||
      this.tornAt !== undefined ||
      this.rotationDue(bytes) ||
      this.options.fsync === 'batch'
    ) {
      return this.writeGroupSlowly(chunks, bytes);
    }
    return new Promise<void>((resolve, reject) => {
      writev(handle.fd, chunks, (err, written) => {
        if (err) return reject(err); // nothing written: nothing to cut off
        if (written < bytes) {
          this.finishShortWrite(handle, chunks, bytes, written).then(resolve, reject);
          return;
        }
        this.size += bytes;
        this.dirty = true;
        fstat(handle.fd, (statErr, st) => {
          if (statErr) reject(statErr);
          else if (st.nlink === 0) this.rewriteDeleted(handle, chunks, bytes, st).then(resolve, reject);
          else resolve();
        });
      });
    });
  }

  private rotationDue(bytes: number): boolean {
    return this.options.rotateBytes > 0 && this.size > 0 && this.size + bytes > this.options.rotateBytes;
  }

  /** The rest of a group the fast path's writev took only part of. */
  private async finishShortWrite(handle: FileHandle, chunks: Buffer[], bytes: number, written: number): Promise<void> {
    await this.appendGroup(handle, chunks, bytes, written);
    const st = await handle.stat();
    if (st.nlink === 0) await this.rewriteDeleted(handle, chunks, bytes, st);
  }

  private async writeGroupSlowly(chunks: Buffer[], bytes: number): Promise<void> {
    let handle = await this.currentHandle();
    if (this.tornAt !== undefined) {
      await handle.truncate(this.tornAt);
      this.size = this.tornAt;
      this.tornAt = undefined;
    }
    if (this.rotationDue(bytes)) handle = await this.rotate(handle);
    await this.appendGroup(handle, chunks, bytes);
    const written = await handle.stat();
    if (written.nlink === 0) await this.rewriteDeleted(handle, chunks, bytes, written);
  }

  /**
   * Deleted from outside: what went into this file, nobody can find. Write
   * the group again into a new file at the path (or fail). The old handle
   * stays open until the new file is: a freed inode number could otherwise
   * come back for the new file and look like the old one.
   */
  private async rewriteDeleted(handle: FileHandle, chunks: Buffer[], bytes: number, written: Stats): Promise<void> {
    this.handle = undefined;
    try {
      const fresh = await this.currentHandle();
      // A file system that reports no links for a file the path still names
      // would otherwise get every group twice.
      if (this.identity !== identityOf(written)) await this.appendGroup(fresh, chunks, bytes);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /** `skip`: bytes of the group already written (the fast path's short write). */
  private async appendGroup(handle: FileHandle, chunks: Buffer[], bytes: number, skip = 0): Promise<void> {
    try {
      await writeAll(handle, chunks, skip);
    } catch (err) {
      if (!(err instanceof PartialWriteError)) throw err;
      if (err.written > 0) await this.cutOff(handle, err.written);
      throw err.failure;
    }
    this.size += bytes;
    if (this.options.fsync === 'batch') {
      try {
        await handle.datasync();
      } catch (err) {
        await this.cutOff(handle, bytes);
        throw err;
      }
    } else {
      this.dirty = true;
    }
  }

  /** Removes the last `written` bytes (a failed group's) from the end of the file. */
  private async cutOff(handle: FileHandle, written: number): Promise<void> {
    let end: number | undefined;
    try {
      end = (await handle.stat()).size - written;
      await handle.truncate(end);
      this.size = end;
    } catch {
      // Truncating frees space, so it rarely fails; if it does, the next group
      // cuts before it writes (and fails if it still cannot).
      this.tornAt = end ?? Math.max(0, this.size - written);
    }
  }

  /** The open handle, or a new file at the path when the last one was found deleted. */
  private async currentHandle(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    const { handle, size, identity } = await openForAppend(this.filePath);
    this.handle = handle;
    this.size = size;
    this.identity = identity;
    this.tornAt = undefined;
    return handle;
  }

  /** Moves the file to its next number (rotated-files.ts) and opens a new one; the old handle is closed only once the new one is open. */
  private async rotate(old: FileHandle): Promise<FileHandle> {
    // A missing current file (deleted from outside) is nothing to keep, only a new file to open.
    await this.rotated.moveCurrent();
    const reopened = await openForAppend(this.filePath);
    this.handle = reopened.handle;
    this.size = reopened.size;
    this.identity = reopened.identity;
    await old.close().catch(() => undefined);
    return reopened.handle;
  }

  private async syncIfDirty(): Promise<void> {
    if (!this.dirty || this.isClosed || !this.handle) return;
    this.dirty = false;
    await this.handle.datasync().catch(() => (this.dirty = true));
  }

  /** Switches to a fresh handle on the same path (logrotate moved the old file away). */
  override reopen(): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return this.serial(async () => {
      const { handle, size, identity } = await openForAppend(this.filePath);
      const old = this.handle;
      this.handle = handle;
      this.size = size;
      this.identity = identity;
      this.tornAt = undefined;
      await old?.close();
    }, undefined);
  }

  protected closeDestination(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    return this.serial(async () => {
      const handle = this.handle;
      if (!handle) return;
      if (this.options.fsync !== 'never') await handle.datasync().catch(() => undefined);
      await handle.close();
    }, undefined);
  }
}
