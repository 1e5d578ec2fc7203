// The docs' flag table, generated from a flag table: a markdown table
// between `<!-- flags:start -->` and `<!-- flags:end -->` in any markdown
// file (`npm run docs:flags` writes it; a test fails when it is stale).
import { flagLabel, type Flag } from './flag.js';

export const FLAGS_START = '<!-- flags:start -->';
export const FLAGS_END = '<!-- flags:end -->';

const code = (text: string | number): string => `\`${text}\``;
// A `|` would end the cell, even inside a code span; `<token>` would be read as HTML.
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/</g, '&lt;');

function flagColumn(flag: Flag): string {
  if (flag.positional) return code(`[${flag.name}]`);
  const value = flag.kind === 'boolean' || flag.kind === 'choice' ? undefined : flag.value;
  return code(value === undefined ? flagLabel(flag) : `${flagLabel(flag)} ${value}`);
}

const BINARY = [
  ['Ti', 1024 ** 4],
  ['Gi', 1024 ** 3],
  ['Mi', 1024 ** 2],
  ['Ki', 1024],
] as const;

/** The default as one would type it, with its unit: `4Mi` (4194304 bytes), `2s` (2000 ms). */
function defaultColumn(flag: Flag): string {
  if (flag.shownDefault !== undefined) {
    return /^--[a-z-]+$/.test(flag.shownDefault) ? code(flag.shownDefault) : flag.shownDefault;
  }
  const d = flag.default;
  if (flag.kind === 'boolean') return 'off';
  if (flag.kind === 'list') return 'none';
  if (d === undefined) return 'off';
  if (typeof d !== 'number') return code(String(d));
  if (flag.kind === 'size') {
    const unit = d === 0 ? undefined : BINARY.find(([, bytes]) => d % bytes === 0);
    return unit ? `${code(`${d / unit[1]}${unit[0]}`)} (${d} bytes)` : `${code(d)} bytes`;
  }
  if (flag.kind === 'duration')
    return d !== 0 && d % 1000 === 0 ? `${code(`${d / 1000}s`)} (${d} ms)` : `${code(d)} ms`;
  return code(d);
}

function meaningColumn(flag: Flag): string {
  const choices = flag.choices ? `; one of ${flag.choices.map(code).join(', ')}` : '';
  return cell(flag.describe + choices);
}

/** The markdown table: flag, default (with unit), meaning; one row per flag, in table order. */
export function flagsTable(flags: readonly Flag[]): string {
  const rows = flags.map((f) => `| ${flagColumn(f)} | ${defaultColumn(f)} | ${meaningColumn(f)} |`);
  return ['| flag | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The whole region, markers included, as the generator writes it. */
export function flagsRegion(flags: readonly Flag[]): string {
  return [
    FLAGS_START,
    '<!-- Generated from src/options/serve-flags.ts by `npm run docs:flags`: edit the table there, not here. -->',
    '',
    flagsTable(flags),
    '',
    FLAGS_END,
  ].join('\n');
}

/** `markdown` with its flags region replaced; throws when the markers are missing, repeated or out of order. */
export function withFlagsRegion(markdown: string, flags: readonly Flag[]): string {
  const start = markdown.indexOf(FLAGS_START);
  const end = markdown.indexOf(FLAGS_END);
  if (
    start < 0 ||
    end < start ||
    markdown.indexOf(FLAGS_START, start + 1) >= 0 ||
    markdown.indexOf(FLAGS_END, end + 1) >= 0
  ) {
    throw new Error(`expected one ${FLAGS_START} followed by one ${FLAGS_END}`);
  }
  return markdown.slice(0, start) + flagsRegion(flags) + markdown.slice(end + FLAGS_END.length);
}
