// A flag table -> yargs declarations, and yargs' argv -> the options object
// with every problem collected, so one run names every bad flag.
import type { Argv, Options, PositionalOptions } from 'yargs';
import type { Flag, TypedDefault } from './flag.js';

/** Every problem with the flags, one line each, each naming its flag. */
export class FlagProblems extends Error {
  override name = 'FlagProblems';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

// The options object a table describes, at the type level: each flag's value
// at its key, dotted keys nested, all of them merged into one object type.
type AtKey<P extends string, V> = P extends `${infer Head}.${infer Rest}`
  ? { [K in Head]: AtKey<Rest, V> }
  : { [K in P]: V };
type Intersect<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;
type Merged<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]: Merged<T[K]> } : T;
type Placed<E> = E extends Flag<infer K, infer V> ? AtKey<K, V> : never;
export type OptionsOf<F extends readonly Flag[]> = Merged<Intersect<Placed<F[number]>>>;

function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
  node[parts.at(-1)!] = value;
}

/**
 * Reads every flag of `flags` from yargs' argv. A flag whose value cannot be
 * read adds its problem (or problems, for a repeated flag) and takes its
 * default, so the object stays whole for the checks that combine flags.
 * `defaultOf` gives a flag's default where it depends on another flag's
 * value (the memory budget's shares).
 */
export function readFlags(
  flags: readonly Flag[],
  argv: Readonly<Record<string, unknown>>,
  defaultOf: (flag: Flag) => TypedDefault = (flag) => flag.default,
): { values: Record<string, unknown>; problems: string[] } {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const flag of flags) {
    let value: unknown;
    try {
      value = flag.read(argv[flag.name] ?? defaultOf(flag));
    } catch (err) {
      problems.push(...(err as Error).message.split('\n'));
      value = flag.read(defaultOf(flag));
    }
    setKey(values, flag.key, value);
  }
  return { values, problems };
}

/** --help's text: the description, then the unit a bare number is in and the choices. */
export function helpText(flag: Flag): string {
  switch (flag.kind) {
    case 'size':
      return `${flag.describe} (bytes; 10M, 16Mi)`;
    case 'duration':
      return `${flag.describe} (ms; 5s, 2m)`;
    case 'choice':
      // yargs' own wording: the choices are checked here, not by yargs, so that a
      // bad choice is reported together with every other bad value.
      return `${flag.describe} [choices: ${flag.choices!.map((c) => JSON.stringify(c)).join(', ')}]`;
    case 'count':
    case 'port':
    case 'string':
    case 'path':
    case 'boolean':
    case 'list':
      return flag.describe;
  }
}

function yargsOptions(flag: Flag): Options {
  const shown = flag.shownDefault === undefined ? {} : { defaultDescription: flag.shownDefault };
  if (flag.kind === 'boolean') return { type: 'boolean', default: flag.default, describe: helpText(flag), ...shown };
  // One value per occurrence, so `--allowed-client-san X 8000` leaves the port alone.
  if (flag.kind === 'list') return { type: 'string', array: true, nargs: 1, default: [], describe: helpText(flag) };
  return {
    // Strings, so that units (10Mi, 5s) get through yargs and a refusal can
    // echo exactly what was typed; the table's readers make the numbers.
    type: 'string',
    // A share of the memory budget is filled in after --memory-limit is read.
    ...(flag.default === undefined || flag.share !== undefined ? {} : { default: flag.default }),
    // A flag given without its value is refused, not read as "" or its default.
    requiresArg: true,
    describe: helpText(flag),
    ...shown,
  };
}

/** Declares the table's flags (and its positional) on a command's yargs. */
export function declareFlags<T>(y: Argv<T>, flags: readonly Flag[]): Argv<T> {
  let out = y;
  for (const flag of flags) {
    if (flag.positional) {
      const options: PositionalOptions = { type: 'string', default: flag.default, describe: helpText(flag) };
      out = out.positional(flag.name, options);
    } else {
      out = out.option(flag.name, yargsOptions(flag));
    }
  }
  return out;
}
