// `mixer report|check`: config + attribute sets -> dispatch -> mixc-style
// output, once or as a small load run.
import { readFile } from 'node:fs/promises';
import { CallRecorder } from '../../recording/calls.js';
import { bagsFromJson } from './attribute-sets.js';
import { addGuessedAttributes, bagFromFlags, type AttributeFlag, type Bag } from '../../opconfig/attributes.js';
import { ClientPool } from './client.js';
import { dial, PLAINTEXT, type DialSettings } from '../../transport/dial.js';
import { loadMixerConfig } from '../../opconfig/config.js';
import { dedupCounters } from '../../opconfig/rules.js';
import type { TypeOf } from '../../opconfig/expr/index.js';
import { dispatchCheck, dispatchReport, type DispatchContext } from './dispatch.js';
import { formatSummary, runLoad, type LoadOptions } from './load-run.js';
import type { TypedValue } from '../../opconfig/values.js';
import { formatOutcome, isDenied, isError, outcomeJson, outcomeLabel, type Outcome } from './output.js';
import { dialHint } from './hints.js';
import { envoyCheck, envoyReport, LOG_VERSIONS, type EnvoyVersion } from './envoy-dispatch.js';
import { notSentNote, unservedHint } from './envoy-output.js';

export interface MixerRunOptions extends LoadOptions {
  method: 'report' | 'check';
  config: string[];
  address: string | undefined;
  attributes: Partial<Record<AttributeFlag, string[]>>;
  /** -a/--attributes: types guessed from the text, as mixc does. */
  untypedAttributes: string[];
  attributesFile: string | undefined;
  json: boolean;
  failOnDeny: boolean;
  record: string | undefined;
  /** --record-secrets: the recording keeps auth_key and tokens (default: masked). */
  recordSecrets?: boolean;
  /** How to dial the handlers (Mixer's connection.authentication as flags). */
  dial?: DialSettings;
  /** mixc's --report_batch_size: the attribute sets repeated this many times in one Report. */
  reportBatchSize?: number;
  /** The package folder when `config` is its operatorconfig/ because --config was not given. */
  defaultConfigRoot?: string;
  /** Send as Envoy would, on this API version, to the adapter's Envoy front-ends at `address`. */
  envoy?: EnvoyVersion | undefined;
}

/** What the Envoy modes cannot do, as the flags say it. */
function checkEnvoyOptions(options: MixerRunOptions, envoy: EnvoyVersion): string {
  if (options.address === undefined)
    throw new Error(
      "--envoy needs --address host:port, the adapter's gRPC port (Envoy calls the adapter, not the handlers' connection.address)",
    );
  if (options.method === 'report' && !(LOG_VERSIONS as readonly string[]).includes(envoy))
    throw new Error(`--envoy ${envoy}: the access-log service has ${LOG_VERSIONS.join(' and ')} only`);
  if (options.record !== undefined)
    throw new Error('--record keeps Mixer handle calls; with --envoy record on the adapter (its --record)');
  return options.address;
}

export interface MixerIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
}

async function attributeSets(options: MixerRunOptions, typeOf: TypeOf): Promise<Bag[]> {
  const untyped = new Map<string, TypedValue>();
  for (const text of options.untypedAttributes) addGuessedAttributes(untyped, text);
  // Typed flags win over -a for the same name.
  const flags = new Map([...untyped, ...bagFromFlags(options.attributes)]);
  if (!options.attributesFile) return [flags];
  let json: unknown;
  try {
    json = JSON.parse(await readFile(options.attributesFile, 'utf8'));
  } catch (err) {
    throw new Error(`--attributes-file ${options.attributesFile}: ${(err as Error).message}`);
  }
  // Flags apply on top of every set from the file.
  return bagsFromJson(json, typeOf, options.attributesFile).map((bag) => new Map([...bag, ...flags]));
}

/** Runs the command; resolves with the process exit code. */
export async function runMixer(options: MixerRunOptions, io: MixerIo): Promise<number> {
  const envoy = options.envoy && { version: options.envoy, address: checkEnvoyOptions(options, options.envoy) };
  const config = await loadMixerConfig(options.config);
  const sets = await attributeSets(options, config.typeOf);
  const batch = options.method === 'report' ? (options.reportBatchSize ?? 1) : 1;
  const bags = Array.from({ length: batch }, () => sets).flat();
  const recorder = options.record
    ? await CallRecorder.open(options.record, options.recordSecrets ? 'keep' : 'mask')
    : undefined;
  // Dial flags, when given, replace every handler's connection.authentication (as --address its address).
  const flags = options.dial ?? PLAINTEXT;
  const pool = new ClientPool(JSON.stringify(flags) === JSON.stringify(PLAINTEXT) ? undefined : await dial(flags));
  const ctx: DispatchContext = { pool, address: options.address, nextDedupId: dedupCounters(), recorder };
  const once = async (): Promise<Outcome[]> => {
    if (envoy) {
      const to = { pool, ...envoy };
      return options.method === 'report'
        ? [await envoyReport(bags, to)]
        : Promise.all(bags.map((bag) => envoyCheck(bag, to)));
    }
    return options.method === 'report'
      ? [await dispatchReport(config, bags, ctx)]
      : Promise.all(bags.map((bag) => dispatchCheck(config, bag, ctx)));
  };
  const failed = (o: Outcome): boolean => isError(o) || (options.failOnDeny && isDenied(o));
  // After mixc's output, which stays as mixc prints it: what to change when handlers were out of reach.
  const hint = (outcomes: readonly Outcome[]): void => {
    const envoyOutcomes = outcomes.filter((o) => o.kind === 'envoy-check' || o.kind === 'envoy-report');
    for (const line of [notSentNote(envoyOutcomes), unservedHint(envoyOutcomes)])
      if (line !== undefined) io.stderr.write(`${line}\n`);
    const line = dialHint(outcomes, {
      defaultConfigRoot: options.defaultConfigRoot,
      address: options.address,
      cwd: process.cwd(),
    });
    if (line !== undefined) io.stderr.write(`${line}\n`);
  };
  try {
    if (options.repeat <= 1) {
      const outcomes = await once();
      if (options.json) io.stdout.write(JSON.stringify({ results: outcomes.map(outcomeJson) }, null, 2) + '\n');
      else for (const o of outcomes) io.stdout.write(formatOutcome(o));
      hint(outcomes);
      return outcomes.some(failed) ? 1 : 0;
    }
    let first: Outcome[] | undefined;
    const summary = await runLoad(
      options,
      async () => {
        const outcomes = await once();
        first ??= outcomes;
        const shown = outcomes.find(failed) ?? outcomes[0];
        return { label: shown ? outcomeLabel(shown) : 'no result', error: shown !== undefined && failed(shown) };
      },
      io.stderr,
    );
    if (options.json)
      io.stdout.write(JSON.stringify({ summary, first: first?.map(outcomeJson) ?? [] }, null, 2) + '\n');
    else {
      for (const o of first ?? []) io.stdout.write(formatOutcome(o));
      io.stdout.write(formatSummary(summary));
    }
    hint(first ?? []);
    return summary.errors > 0 ? 1 : 0;
  } finally {
    pool.close();
    await recorder?.close();
  }
}
