// Operator config a serving adapter reads from files (--operator-config):
// loaded and linted at start (errors refuse the start, naming file and line),
// then re-read every interval; a change that lints clean replaces the config
// in one step, a bad one keeps the last good config, logged once and counted.
// Files are read once per look and parsed from those same bytes, so a
// half-written edit is one consistent (bad) snapshot, never a mix.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PARAMS_TYPE_URL } from '../wire/load.js';
import { decodeParams } from '../core/params/params.js';
import { confineToDataDir } from '../sinks/path-guard.js';
import { buildConfig, ConfigError, type MixerConfig } from './config.js';
import { parseResources, position, yamlFiles, type LoadResult } from './load.js';
import { countErrors, formatFinding, type Finding } from './lint/findings.js';
import { lintLoaded } from './lint/lint.js';

export interface LiveConfigOptions {
  paths: readonly string[];
  /** Sink plug-in names and the data dir, as lint checks them. */
  pluginSinks: readonly string[];
  dataDir: string;
  /** The sink types this adapter has (built-in, enabled by flags, plug-ins): a handler's Params are checked against them. */
  sinkTypes: readonly string[];
  intervalMs: number;
  events: LiveConfigEvents;
}

export interface LiveConfigEvents {
  /** A new config is in use (also at start). */
  loaded(summary: ConfigSummary): void;
  /** A changed config was refused; the last good one stays. `problems`: one line each. */
  refused(problems: string[]): void;
  /** Lint warnings of a config that was taken. */
  warned(findings: string[]): void;
}

export interface ConfigSummary {
  files: number;
  rules: number;
  handlers: number;
}

/** A config that cannot be used: every problem, one per line, with file and line. */
export class OperatorConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`--operator-config has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
  }
}

interface Snapshot {
  digest: string;
  /** Each file's text, in yamlFiles' order: parsed only when the digest changed. */
  texts: { file: string; text: string }[];
}

/** One read of every file; cheap enough for every look (no YAML parsed). */
async function readSnapshot(paths: readonly string[]): Promise<Snapshot> {
  const hash = createHash('sha256');
  const texts: Snapshot['texts'] = [];
  for (const file of await yamlFiles(paths)) {
    const text = await readFile(file, 'utf8');
    hash.update(`${file}\u0000${text.length}\u0000${text}`);
    texts.push({ file, text });
  }
  return { digest: hash.digest('hex'), texts };
}

function parse(snapshot: Snapshot): LoadResult {
  const loaded: LoadResult = { resources: [], problems: [] };
  for (const { file, text } of snapshot.texts) {
    const parsed = parseResources(file, text);
    loaded.resources.push(...parsed.resources);
    loaded.problems.push(...parsed.problems);
  }
  return loaded;
}

interface Built {
  config: MixerConfig;
  warnings: Finding[];
  summary: ConfigSummary;
}

function build(snapshot: Snapshot, options: LiveConfigOptions): Built {
  const loaded = parse(snapshot);
  const findings = lintLoaded(loaded, { pluginSinks: options.pluginSinks, dataDir: options.dataDir });
  if (countErrors(findings) > 0) {
    throw new OperatorConfigError(findings.filter((f) => f.severity === 'error').map(formatFinding));
  }
  if (!loaded.resources.some((r) => r.kind === 'rule')) {
    throw new OperatorConfigError([`no rule in ${options.paths.join(' ')}: nothing would reach a handler`]);
  }
  let config: MixerConfig;
  try {
    config = buildConfig(loaded.resources);
  } catch (err) {
    if (err instanceof ConfigError) throw new OperatorConfigError(err.problems);
    throw err;
  }
  // This process serves its own handlers only: another adapter's would need
  // a call to that adapter, which is Mixer's job, not ours.
  const where = new Map(loaded.resources.map((r) => [`${r.name}.${r.kind}.${r.namespace}`, position(r)]));
  const handlers = new Map(config.rules.flatMap((rule) => rule.actions.map((a) => [a.handler.fullName, a.handler])));
  const problems: string[] = [];
  for (const [name, handler] of handlers) {
    const at = `${where.get(name) ?? name}: handler ${name}`;
    if (handler.adapterConfig?.type_url !== PARAMS_TYPE_URL) {
      problems.push(
        `${at}: its adapter is not this one (Params ${PARAMS_TYPE_URL}); the Envoy front-ends run only this adapter's handlers`,
      );
      continue;
    }
    // What a call would refuse (a sink this adapter was not started with, a
    // file_path outside --data-dir) is refused here, before Envoy sends one.
    try {
      const params = decodeParams(handler.adapterConfig, options.sinkTypes);
      if (params.sink === 'file') confineToDataDir(params.filePath, options.dataDir);
    } catch (err) {
      problems.push(`${at}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new OperatorConfigError(problems);
  return {
    config,
    warnings: findings,
    summary: { files: snapshot.texts.length, rules: config.rules.length, handlers: handlers.size },
  };
}

export class LiveOperatorConfig {
  private timer: NodeJS.Timeout | undefined;
  private lastDigest: string;
  /** Digest of the last refused snapshot: the same bad edit is reported once. */
  private refusedDigest = '';
  private looking = false;

  private constructor(
    private built: Built,
    digest: string,
    private readonly options: LiveConfigOptions,
  ) {
    this.lastDigest = digest;
  }

  /** Loads and lints; throws OperatorConfigError (or a read error) when the config cannot be used. */
  static async load(options: LiveConfigOptions): Promise<LiveOperatorConfig> {
    const snapshot = await readSnapshot(options.paths);
    const built = build(snapshot, options);
    const live = new LiveOperatorConfig(built, snapshot.digest, options);
    if (built.warnings.length > 0) options.events.warned(built.warnings.map(formatFinding));
    options.events.loaded(built.summary);
    return live;
  }

  /** The config in use: read it once per request and use that object throughout. */
  get current(): MixerConfig {
    return this.built.config;
  }

  get summary(): ConfigSummary {
    return this.built.summary;
  }

  /** Starts looking for changes every intervalMs. */
  watch(): void {
    this.timer ??= setInterval(() => void this.reload(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look at the files (also what the timer runs); resolves once it is taken or refused. */
  async reload(): Promise<void> {
    if (this.looking) return;
    this.looking = true;
    try {
      let snapshot: Snapshot;
      try {
        snapshot = await readSnapshot(this.options.paths);
      } catch (err) {
        this.refuse(`read-error:${(err as Error).message}`, [`--operator-config: ${(err as Error).message}`]);
        return;
      }
      // The same bytes as the config in use, or as the last refused one: nothing to parse.
      if (snapshot.digest === this.lastDigest || snapshot.digest === this.refusedDigest) return;
      try {
        this.built = build(snapshot, this.options);
      } catch (err) {
        const problems = err instanceof OperatorConfigError ? err.problems : [(err as Error).message];
        this.refuse(snapshot.digest, problems);
        return;
      }
      this.lastDigest = snapshot.digest;
      this.refusedDigest = '';
      if (this.built.warnings.length > 0) this.options.events.warned(this.built.warnings.map(formatFinding));
      this.options.events.loaded(this.built.summary);
    } finally {
      this.looking = false;
    }
  }

  private refuse(digest: string, problems: string[]): void {
    if (digest === this.refusedDigest) return;
    this.refusedDigest = digest;
    this.options.events.refused(problems);
  }
}
