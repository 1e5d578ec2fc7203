// Key sets an authorization handler names in Params (`key_set`): folders
// under --keys-dir, each a mounted Kubernetes Secret with one file per key
// (the file name is the key's id). A file holds the key, or its digest as
// `sha256:<64 hex>` so that neither the Secret nor the Params hold the key.
// Only digests are kept. The folder is re-read every interval, so a Secret
// update (the kubelet swaps `..data`) takes effect without a restart; a bad
// file (unreadable, empty, ends in a newline, too large) is refused with one
// log line naming it, never its content, and the rest of its set keeps
// working. Lookups go by the presented token's SHA-256 digest: their time
// depends on the digest, never on the key's content or length.
import { readdir, readFile } from 'node:fs/promises';
import { entryIs } from '../common/mounted-entries.js';
import path from 'node:path';
import { digestSecret, type SecretDigest } from './secret-digest.js';

/** A key file larger than this is refused: keys are tokens, not documents. */
export const MAX_KEY_FILE_BYTES = 4096;
/** Most keys kept across all sets; files past it are refused (memory stays bounded). */
export const MAX_KEYS = 100_000;

const DIGEST_FORM = /^sha256:([0-9a-f]{64})$/;

export interface KeySet {
  /** Digest of each key -> its id. */
  readonly ids: ReadonlyMap<SecretDigest, string>;
}

export interface KeySetsEvents {
  /** A key file refused; `why` never quotes its content. */
  refused(file: string, why: string): void;
  /** The sets changed: names and key counts. */
  loaded(sets: Record<string, number>): void;
}

/** The digest of the key a key file holds, or why it holds none. */
export function keyDigest(bytes: Buffer): { digest: SecretDigest } | { problem: string } {
  if (bytes.length === 0) return { problem: 'the file is empty' };
  if (bytes.length > MAX_KEY_FILE_BYTES) return { problem: `the file is larger than ${MAX_KEY_FILE_BYTES} bytes` };
  const text = bytes.toString('latin1');
  if (/[\r\n]$/.test(text)) {
    return {
      problem:
        'the file ends with a newline, which no header can carry: write it without one (printf \'%s\' "$KEY" > file, or kubectl create secret --from-literal)',
    };
  }
  const given = DIGEST_FORM.exec(text);
  return { digest: given ? (given[1] as SecretDigest) : digestSecret(bytes) };
}

const hidden = (name: string): boolean => name.startsWith('.');

/** Regular files (or links to them) of a folder, by name; a Secret's `..data` and dot files are not keys. */
async function keyFiles(folder: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(folder, { withFileTypes: true })) {
    if (hidden(e.name)) continue;
    if (await entryIs(e, path.join(folder, e.name), 'file')) out.push(e.name);
  }
  return out.sort();
}

async function subfolders(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (hidden(e.name)) continue;
    if (await entryIs(e, path.join(dir, e.name), 'directory')) out.push(e.name);
  }
  return out.sort();
}

export class KeySets {
  private sets = new Map<string, KeySet>();
  private timer: NodeJS.Timeout | undefined;
  /** file -> the reason last logged, so a file that stays bad is logged once. */
  private refusals = new Map<string, string>();
  private signature = '';
  private reading: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    private readonly events: KeySetsEvents,
  ) {}

  /** Reads --keys-dir now (throws if it cannot be read at all) and every `intervalMs` after. */
  static async open(dir: string, intervalMs: number, events: KeySetsEvents): Promise<KeySets> {
    const keySets = new KeySets(dir, events);
    await keySets.reload();
    keySets.timer = setInterval(() => void keySets.reload().catch(() => undefined), intervalMs);
    keySets.timer.unref();
    return keySets;
  }

  /** The set named `name`; undefined when there is no such folder. */
  get(name: string): KeySet | undefined {
    return this.sets.get(name);
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** One read of every set; the new sets replace the old ones in one step. */
  reload(): Promise<void> {
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async read(): Promise<void> {
    const sets = new Map<string, { ids: Map<SecretDigest, string> }>();
    const refusals = new Map<string, string>();
    let keys = 0;
    for (const name of await subfolders(this.dir)) {
      const folder = path.join(this.dir, name);
      const ids = new Map<SecretDigest, string>();
      sets.set(name, { ids });
      let files: string[];
      try {
        files = await keyFiles(folder);
      } catch (err) {
        refusals.set(folder, `cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
        continue;
      }
      for (const id of files) {
        const file = path.join(folder, id);
        if (keys >= MAX_KEYS) {
          refusals.set(file, `more than ${MAX_KEYS} keys under --keys-dir`);
          continue;
        }
        const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => err.code ?? 'error');
        const key = typeof bytes === 'string' ? { problem: `cannot be read: ${bytes}` } : keyDigest(bytes);
        if ('problem' in key) refusals.set(file, key.problem);
        else {
          ids.set(key.digest, id);
          keys++;
        }
      }
    }
    for (const [file, why] of refusals) {
      if (this.refusals.get(file) !== why) this.events.refused(file, why);
    }
    this.refusals = refusals;
    this.sets = sets;
    const counts = Object.fromEntries([...sets].map(([name, set]) => [name, set.ids.size]));
    // Ids and counts only: which keys changed is not logged.
    const signature = JSON.stringify([...sets].map(([name, set]) => [name, [...set.ids.values()].sort()]));
    if (signature !== this.signature) {
      this.signature = signature;
      this.events.loaded(counts);
    }
  }
}
