// file_path comes from Params, i.e. from whoever can write a handler config:
// untrusted. It may only name a file inside the data dir, judged by where
// the OS would really write (symbolic links followed), not by the spelling.
import fs from 'node:fs';
import path from 'node:path';
import { quoted } from '../common/echo.js';
import { InvalidInputError } from '../common/errors.js';

// Linux's PATH_MAX less the terminating NUL: longer paths fail with ENAMETOOLONG.
const PATH_MAX_BYTES = 4095;
// Linux gives up after 40 links (ELOOP); so do we.
const MAX_LINK_HOPS = 40;

/**
 * The real path that `filePath` names inside `dataDir`, ready to be opened
 * (and created). Throws InvalidInputError when it lies outside the data dir:
 * a `..` escape, an absolute path elsewhere, or a symbolic link (existing or
 * dangling) that leads out.
 */
export function confineToDataDir(filePath: string, dataDir: string): string {
  const lexical = path.resolve(dataDir, filePath);
  const realDir = realLocation(path.resolve(dataDir));
  const tooLong = (p: string): void => {
    if (Buffer.byteLength(p) <= PATH_MAX_BYTES) return;
    throw new InvalidInputError(`file_path: longer than ${PATH_MAX_BYTES} bytes once resolved in the data dir`);
  };
  tooLong(lexical); // checked first: the kernel would answer ENAMETOOLONG to every look-up below
  const real = realLocation(lexical);
  tooLong(real);
  if (isInside(realDir, real)) return real;
  const why = !isInside(path.resolve(dataDir), lexical)
    ? path.isAbsolute(filePath)
      ? 'is an absolute path outside'
      : 'climbs out (..) of'
    : `follows a symbolic link to ${real}, outside`;
  // Names the flag: the fix is often on the adapter's side (a --data-dir that holds the volume).
  throw new InvalidInputError(
    `file_path ${quoted(filePath)} ${why} the data dir ${dataDir}; records may only go inside it ` +
      `(set it with the adapter's --data-dir DIR)`,
  );
}

/** Whether `target` is `dir` or below it, by spelling alone (both absolute and resolved). */
export function isInside(dir: string, target: string): boolean {
  const rel = path.relative(dir, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * Where opening `target` with O_CREAT would land: the real path of its
 * deepest existing ancestor plus the rest. A dangling link on the way is
 * followed by hand, because realpath refuses it while open would create its
 * target.
 */
function realLocation(target: string, hops = 0): string {
  const tail: string[] = [];
  let existing = target;
  for (;;) {
    try {
      return path.join(fs.realpathSync(existing), ...tail);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
        throw new InvalidInputError(`file_path: a symbolic link loop at ${existing}`);
      }
      if ((err as NodeJS.ErrnoException).code === 'ENAMETOOLONG') {
        throw new InvalidInputError(
          `file_path: too long once resolved in the data dir (${existing.length} characters)`,
        );
      }
      if (!isMissing(err)) throw err;
    }
    if (lstatOrUndefined(existing)?.isSymbolicLink()) {
      if (hops >= MAX_LINK_HOPS) throw new InvalidInputError(`file_path: too many symbolic links at ${existing}`);
      const linkDir = fs.realpathSync(path.dirname(existing));
      const next = path.resolve(linkDir, fs.readlinkSync(existing));
      return realLocation(path.join(next, ...tail), hops + 1);
    }
    const parent = path.dirname(existing);
    if (parent === existing) return path.join(existing, ...tail);
    tail.unshift(path.basename(existing));
    existing = parent;
  }
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
