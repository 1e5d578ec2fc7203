// One command-line flag as data: its name, kind, default, help text and the
// options key its value lands on, plus how to read what was typed. The
// builders below (one per kind) carry the value's TypeScript type, so the
// options object's type is inferred from the table instead of restated.
import path from 'node:path';
import { parseChoice, parseCount, parseMs, parseSize } from '../commands/flag-values.js';
import { MiB, REFERENCE_LIMIT_BYTES } from './memory-budget.js';

export type Kind = 'size' | 'duration' | 'count' | 'port' | 'choice' | 'string' | 'path' | 'boolean' | 'list';

/** A default as one would type it; undefined: the flag is off unless given. */
export type TypedDefault = string | number | boolean | readonly string[] | undefined;

export interface Flag<K extends string = string, V = unknown> {
  /** Without dashes: `sink-wait`; a positional's name: `port`. */
  readonly name: string;
  readonly kind: Kind;
  /** Where the value goes in the options object; dots nest (`security.tokenHeader`). */
  readonly key: K;
  readonly describe: string;
  readonly default: TypedDefault;
  /** The default in words, for help and docs, where it depends on the machine or another flag. */
  readonly shownDefault: string | undefined;
  /** What the value is, for the docs' flag column: SIZE, DURATION, FILE, NAME=MODULE... */
  readonly value: string | undefined;
  readonly choices: readonly string[] | undefined;
  readonly positional: boolean;
  /** The default is this share of the memory budget (options/memory-budget.ts) instead of `default`. */
  readonly share: number | undefined;
  /** What was typed (or the default) -> the value; throws an Error naming the flag and quoting the text. */
  readonly read: (typed: unknown) => V;
}

/** How messages name a flag: `--sink-wait`, or a positional's bare name (`port`). */
export function flagLabel(flag: Pick<Flag, 'name' | 'positional'>): string {
  return flag.positional ? flag.name : `--${flag.name}`;
}

/** yargs hands over strings (and numbers for defaults given as numbers). */
const typedText = (typed: unknown): string => String(typed);

interface Common<K extends string> {
  flag: string;
  key: K;
  describe: string;
  shownDefault?: string;
}

function make<K extends string, V>(
  o: Common<K>,
  kind: Kind,
  rest: { default: TypedDefault; value?: string; choices?: readonly string[]; positional?: boolean; share?: number },
  read: (typed: unknown, label: string) => V,
): Flag<K, V> {
  const positional = rest.positional ?? false;
  const label = flagLabel({ name: o.flag, positional });
  return {
    name: o.flag,
    kind,
    key: o.key,
    describe: o.describe,
    default: rest.default,
    shownDefault: o.shownDefault,
    value: rest.value,
    choices: rest.choices,
    positional,
    share: rest.share,
    read: (typed) => read(typed, label),
  };
}

interface SizeBounds {
  min?: number;
  /** 0 is accepted too, below `min` (it means "none"). */
  zero?: boolean;
}

/** A byte size: `1048576`, `10M`, `16Mi`; without a default, undefined unless given. */
export function size<const K extends string>(o: Common<K> & SizeBounds & { default: number }): Flag<K, number>;
export function size<const K extends string>(o: Common<K> & SizeBounds): Flag<K, number | undefined>;
export function size<const K extends string>(
  o: Common<K> & SizeBounds & { default?: number },
): Flag<K, number | undefined> {
  return make(o, 'size', { default: o.default, value: 'SIZE' }, (t, label) => {
    if (t === undefined) return undefined;
    if (o.zero && parseSize(label, t) === 0) return 0;
    return parseSize(label, t, o.min ?? 0);
  });
}

/** A byte size whose default is `share` of the memory budget (--memory-limit). */
export function budgetSize<const K extends string>(
  o: Omit<Common<K>, 'shownDefault'> & { share: number; min?: number },
): Flag<K, number> {
  const { share } = o;
  const atReference = Math.floor(REFERENCE_LIMIT_BYTES * share);
  const fraction = Number.isInteger(1 / share) ? `1/${1 / share}` : `${(share * 100).toFixed(1)} %`;
  const shownDefault = `${fraction} of --memory-limit (${atReference / MiB}Mi at ${REFERENCE_LIMIT_BYTES / MiB}Mi)`;
  return make({ ...o, shownDefault }, 'size', { default: atReference, value: 'SIZE', share }, (t, label) =>
    parseSize(label, t, o.min ?? 0),
  );
}

/** Milliseconds: `5000`, `5s`, `2m`. */
export function duration<const K extends string>(o: Common<K> & { default: number; min?: number }): Flag<K, number> {
  return make(o, 'duration', { default: o.default, value: 'DURATION' }, (t, label) => parseMs(label, t, o.min ?? 0));
}

/** A whole number. */
export function count<const K extends string>(
  o: Common<K> & { default: number; min?: number; max?: number },
): Flag<K, number> {
  return make(o, 'count', { default: o.default, value: 'N' }, (t, label) => parseCount(label, t, o.min, o.max));
}

/** A TCP port, 0 picking a free one; without a default the listener is off unless asked for. */
export function port<const K extends string>(o: Common<K> & { default: number; positional?: boolean }): Flag<K, number>;
export function port<const K extends string>(o: Common<K>): Flag<K, number | undefined>;
export function port<const K extends string>(
  o: Common<K> & { default?: number; positional?: boolean },
): Flag<K, number | undefined> {
  return make(o, 'port', { default: o.default, value: 'PORT', positional: o.positional }, (t, label) =>
    t === undefined ? undefined : parseCount(label, t, 0, 65535),
  );
}

export function choice<const K extends string, const C extends string>(
  o: Common<K> & { choices: readonly C[]; default: NoInfer<C> },
): Flag<K, C> {
  return make(o, 'choice', { default: o.default, choices: o.choices }, (t, label) => parseChoice(label, t, o.choices));
}

/** Free text (a host, a header name); `lowerCase` for names compared without case. */
export function text<const K extends string>(
  o: Common<K> & { default: string; value: string; lowerCase?: boolean },
): Flag<K, string>;
export function text<const K extends string>(o: Common<K> & { value: string }): Flag<K, string | undefined>;
export function text<const K extends string>(
  o: Common<K> & { default?: string; value: string; lowerCase?: boolean },
): Flag<K, string | undefined> {
  return make(o, 'string', { default: o.default, value: o.value }, (t) =>
    t === undefined ? undefined : o.lowerCase ? typedText(t).toLowerCase() : typedText(t),
  );
}

/** A file or folder, resolved against the working directory at start. */
export function file<const K extends string>(o: Common<K> & { default: string; value: string }): Flag<K, string>;
export function file<const K extends string>(o: Common<K> & { value: string }): Flag<K, string | undefined>;
export function file<const K extends string>(
  o: Common<K> & { default?: string; value: string },
): Flag<K, string | undefined> {
  return make(o, 'path', { default: o.default, value: o.value }, (t) =>
    t === undefined ? undefined : path.resolve(typedText(t)),
  );
}

/** On when given, off by default. */
export function toggle<const K extends string>(o: Common<K>): Flag<K, boolean> {
  return make(o, 'boolean', { default: false }, (t) => t === true || t === 'true');
}

/** Repeatable: one value per occurrence, each read by `each` (kept as typed without it). */
export function list<const K extends string>(o: Common<K> & { value: string }): Flag<K, string[]>;
export function list<const K extends string, T>(
  o: Common<K> & { value: string; each: (text: string) => T },
): Flag<K, T[]>;
export function list<const K extends string, T>(
  o: Common<K> & { value: string; each?: (text: string) => T },
): Flag<K, (T | string)[]> {
  return make(o, 'list', { default: [], value: o.value }, (t) => {
    const items = t === undefined ? [] : Array.isArray(t) ? t.map(typedText) : [typedText(t)];
    const each = o.each;
    if (!each) return items;
    // Every bad occurrence is reported, one per line, not just the first.
    const problems: string[] = [];
    const values = items.flatMap((item) => {
      try {
        return [each(item)];
      } catch (err) {
        problems.push((err as Error).message);
        return [];
      }
    });
    if (problems.length > 0) throw new Error(problems.join('\n'));
    return values;
  });
}
