// Where a file sink's rotated files go: path.1, path.2, ... in the order they
// were rotated (the highest number is the newest). A rotation renames only
// the current file, to the next number, and deletes the oldest beyond
// `keep`: its cost does not grow with --rotate-keep (shifting path.1 .. path.N
// up by one renamed N files on every rotation; with keep 1000 that cut
// throughput by four fifths), and a rotated file keeps its name.
import { lstat, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

export class RotatedFiles {
  /** Numbers of the rotated files present, oldest first; read from the folder at the first rotation. */
  private numbers: number[] | undefined;

  constructor(
    private readonly filePath: string,
    private readonly keep: number,
  ) {}

  /** Moves the current file to the next number, then deletes the oldest beyond `keep`. A missing current file is nothing to keep. */
  async moveCurrent(): Promise<void> {
    let numbers = (this.numbers ??= await this.scan());
    let next = (numbers.at(-1) ?? 0) + 1;
    if (await exists(this.numbered(next))) {
      // Someone else numbered files here meanwhile; never rename over one.
      numbers = this.numbers = await this.scan();
      next = (numbers.at(-1) ?? 0) + 1;
    }
    try {
      await rename(this.filePath, this.numbered(next));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    numbers.push(next);
    while (numbers.length > this.keep) {
      await unlink(this.numbered(numbers[0]!)).catch(ignoreMissing);
      numbers.shift();
    }
  }

  private numbered(n: number): string {
    return `${this.filePath}.${n}`;
  }

  private async scan(): Promise<number[]> {
    const base = `${path.basename(this.filePath)}.`;
    const names = await readdir(path.dirname(this.filePath));
    return names
      .filter((name) => name.startsWith(base) && /^[1-9]\d{0,15}$/.test(name.slice(base.length)))
      .map((name) => Number(name.slice(base.length)))
      .sort((a, b) => a - b);
  }
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}
