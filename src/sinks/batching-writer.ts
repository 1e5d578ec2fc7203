// Group commit: while one write is in flight, later chunks queue up and go
// out together in the next write. Concurrent calls then cost one syscall per
// group instead of one each, and every caller still learns whether its own
// bytes reached the OS.

interface Pending {
  chunk: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export type WriteChunks = (chunks: Buffer[]) => Promise<void>;

export class BatchingWriter {
  private queue: Pending[] = [];
  private inFlight: Promise<void> | undefined;

  constructor(private readonly writeChunks: WriteChunks) {}

  write(chunk: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ chunk, resolve, reject });
      this.inFlight ??= this.drain();
    });
  }

  /** Resolves once every chunk queued before the call is settled (written or failed). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        await this.writeChunks(group.map((p) => p.chunk));
        for (const p of group) p.resolve();
      } catch (err) {
        for (const p of group) p.reject(err);
      }
    }
    this.inFlight = undefined;
  }
}
