// The documentation: README.md is a short front door with an architecture
// diagram and a link to every page of docs/; README, docs/*.md and
// CONTRIBUTING.md link only to files and anchors that exist, and none of them
// points outside the repository or reads as project history (issue numbers).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const README = 'README.md';
const MAX_README_LINES = 200;

/** The documents checked, as paths from the repository root. */
function docFiles(): string[] {
  const docs = existsSync(path.join(ROOT, 'docs'))
    ? readdirSync(path.join(ROOT, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .sort()
        .map((f) => `docs/${f}`)
    : [];
  return [README, 'CONTRIBUTING.md', ...docs];
}

function read(file: string): string {
  return readFileSync(path.join(ROOT, file), 'utf8');
}

/** The text outside fenced code blocks (```/~~~), each fenced line replaced by an empty one. */
function withoutFences(md: string): string {
  let fence: string | undefined;
  return md
    .split('\n')
    .map((line) => {
      const m = /^\s*(`{3,}|~{3,})/.exec(line);
      if (fence === undefined) {
        if (m) {
          fence = m[1]!;
          return '';
        }
        return line;
      }
      if (m && m[1]!.startsWith(fence) && line.trim() === m[1]) fence = undefined;
      return '';
    })
    .join('\n');
}

/** GitHub's anchor for a heading: its text lower-cased, punctuation other than - and _ dropped, spaces as -. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .replace(/`/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Every anchor a document offers: heading slugs (repeats get -1, -2, ...) and explicit id/name attributes. */
function anchors(md: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(md).split('\n')) {
    const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = slug(h[1]!);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      out.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(a[1]!);
  }
  return out;
}

/** The targets of inline links and images, and of reference definitions, outside code. */
function linkTargets(md: string): string[] {
  const text = withoutFences(md).replace(/`[^`\n]*`/g, '');
  const targets: string[] = [];
  for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]!);
  for (const m of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)) targets.push(m[1]!);
  return targets;
}

/** What is wrong with each relative link of `file`: a missing file, or an anchor its target does not have. */
function brokenLinks(file: string, md: string, readDoc: (file: string) => string | undefined): string[] {
  const broken: string[] = [];
  for (const target of linkTargets(md)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
    const hash = target.indexOf('#');
    const filePart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const resolved = filePart === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), filePart));
    if (resolved.startsWith('..') || !existsSync(path.join(ROOT, resolved))) {
      broken.push(`${file}: ${target} (no file ${resolved})`);
      continue;
    }
    if (anchor !== undefined && anchor !== '' && resolved.endsWith('.md')) {
      const targetMd = resolved === file ? md : readDoc(resolved);
      if (targetMd !== undefined && !anchors(targetMd).has(anchor)) {
        broken.push(`${file}: ${target} (no heading or id "${anchor}" in ${resolved})`);
      }
    }
  }
  return broken;
}

/** Text that must not appear in the documentation, each with why. */
const FORBIDDEN: { pattern: RegExp; why: string }[] = [
  { pattern: /\.\.\/shared/, why: 'a path outside the repository' },
  { pattern: /shared\/realmixer/, why: 'a path outside the repository' },
  { pattern: /\bissue\s+#?\d+/i, why: 'an issue reference (project history)' },
  { pattern: /(^|\s)#\d+\b/m, why: 'an issue reference (project history)' },
];

function forbiddenText(file: string, md: string): string[] {
  const found: string[] = [];
  md.split('\n').forEach((line, i) => {
    for (const { pattern, why } of FORBIDDEN) {
      const m = pattern.exec(line);
      if (m) found.push(`${file}:${i + 1}: ${JSON.stringify(m[0].trim())}: ${why}`);
    }
  });
  return found;
}

describe('documentation', () => {
  const files = docFiles();
  const texts = new Map(files.filter((f) => existsSync(path.join(ROOT, f))).map((f) => [f, read(f)]));
  const readDoc = (f: string): string | undefined =>
    texts.get(f) ?? (existsSync(path.join(ROOT, f)) ? read(f) : undefined);

  it('has a README, a CONTRIBUTING.md and pages under docs/', () => {
    expect(texts.has(README)).toBe(true);
    expect(texts.has('CONTRIBUTING.md')).toBe(true);
    expect(files.filter((f) => f.startsWith('docs/')).length).toBeGreaterThan(0);
  });

  it(`README.md has at most ${MAX_README_LINES} lines`, () => {
    const lines = texts.get(README)!.replace(/\n$/, '').split('\n').length;
    expect(lines, `README.md has ${lines} lines`).toBeLessThanOrEqual(MAX_README_LINES);
  });

  it('README.md has a Mermaid diagram', () => {
    expect(texts.get(README)!).toMatch(/^```mermaid\s*$/m);
  });

  it('README.md links every page of docs/', () => {
    const linked = new Set(
      linkTargets(texts.get(README)!)
        .map((t) => t.split('#')[0]!)
        .map((t) => path.posix.normalize(t)),
    );
    const missing = files.filter((f) => f.startsWith('docs/') && !linked.has(f));
    expect(missing, 'docs pages the README does not link').toEqual([]);
  });

  it('names no path outside the repository and no issue numbers', () => {
    const found = [...texts].flatMap(([f, md]) => forbiddenText(f, md));
    expect(found).toEqual([]);
  });

  it('has no broken relative links or anchors', () => {
    const broken = [...texts].flatMap(([f, md]) => brokenLinks(f, md, readDoc));
    expect(broken).toEqual([]);
  });

  it('keeps the generated flag table region of docs/configuration.md between its markers', () => {
    const md = readDoc('docs/configuration.md');
    expect(md, 'docs/configuration.md').toBeDefined();
    const lines = md!.split('\n');
    const start = lines.filter((l) => l === '<!-- flags:start -->').length;
    const end = lines.filter((l) => l === '<!-- flags:end -->').length;
    expect([start, end]).toEqual([1, 1]);
    expect(lines.indexOf('<!-- flags:start -->')).toBeLessThan(lines.indexOf('<!-- flags:end -->'));
  });
});

describe('the checks themselves', () => {
  it('make GitHub anchors', () => {
    expect(slug('Handler params (`adapter.mygrpcadapter.config.Params`)')).toBe(
      'handler-params-adaptermygrpcadapterconfigparams',
    );
    expect(slug("`text`: the walkthrough's `out.txt`")).toBe('text-the-walkthroughs-outtxt');
    expect(slug('`file_path` stays inside `--data-dir`')).toBe('file_path-stays-inside---data-dir');
    expect(slug('Capacity in mesh terms: sizing')).toBe('capacity-in-mesh-terms-sizing');
    expect([...anchors('# A\n## A\n```\n# not a heading\n```\n<a id="x"></a>')]).toEqual(['a', 'a-1', 'x']);
  });

  it('find broken links, missing anchors and forbidden text', () => {
    const md = [
      '[ok](CONTRIBUTING.md) [gone](docs/nope.md) [here](#a) [missing](#b) [web](https://example.com/x#y)',
      '`[in code](nope.md)`',
      '# A',
      'see ../shared/realmixer, issue 15 and #12; istio/istio#6741 is upstream',
    ].join('\n');
    expect(brokenLinks(README, md, () => undefined)).toEqual([
      'README.md: docs/nope.md (no file docs/nope.md)',
      'README.md: #b (no heading or id "b" in README.md)',
    ]);
    expect(forbiddenText(README, md).map((f) => f.split(': ')[1])).toEqual([
      '"../shared"',
      '"shared/realmixer"',
      '"issue 15"',
      '"#12"',
    ]);
  });
});
