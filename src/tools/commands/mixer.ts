// `mygrpcadapter mixer report|check`: a Mixer stand-in for local work; flags
// follow mixc so commands from the Istio docs can be reused.
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ATTRIBUTE_FLAGS, type AttributeFlag } from '../../opconfig/attributes.js';
import { dialSettings, withDialOptions, type DialArgs } from '../../commands/dial-options.js';

interface MixerArgs extends DialArgs {
  method: 'report' | 'check';
  config: string[] | undefined;
  address: string | undefined;
  'attributes-file': string | undefined;
  json: boolean;
  'fail-on-deny': boolean;
  repeat: number;
  concurrency: number;
  rate: number;
  record: string | undefined;
  'record-secrets': boolean;
  report_batch_size: number;
  envoy: 'v3' | 'v2' | 'v2alpha' | undefined;
  [flag: string]: unknown;
}

const SHORT: Partial<Record<AttributeFlag, string>> = {
  string_attributes: 's',
  int64_attributes: 'i',
  double_attributes: 'd',
  bool_attributes: 'b',
  timestamp_attributes: 't',
};

const DESCRIPTIONS: Record<AttributeFlag, string> = {
  string_attributes: 'STRING attributes: name=value,name2=value2',
  int64_attributes: 'INT64 attributes: name=123,...',
  double_attributes: 'DOUBLE attributes: name=1.5,...',
  bool_attributes: 'BOOL attributes: name=true,...',
  timestamp_attributes: 'TIMESTAMP attributes (RFC 3339): name=2020-01-02T15:04:05Z,...',
  duration_attributes: 'DURATION attributes (Go durations): name=10ms,...',
  bytes_attributes: 'IP_ADDRESS attributes as hex bytes joined by ":": source.ip=ac:11:0:3',
  stringmap_attributes: 'STRING_MAP attributes: name=k1:v1;k2:v2,name2=...',
};

const asList = (v: unknown): string[] => (v === undefined ? [] : [v].flat().map(String));

function positiveInteger(name: string) {
  return (v: number): number => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name}: expected an integer >= 1, got ${v}`);
    return v;
  };
}

function builder(y: Argv): Argv<MixerArgs> {
  let out = y
    .positional('method', { choices: ['report', 'check'] as const, demandOption: true })
    .option('config', {
      type: 'string',
      array: true,
      defaultDescription: "this package's operatorconfig/",
      describe: 'operator config folders or files (handlers, instances, rules, adapter, attributemanifest)',
    })
    .option('address', {
      type: 'string',
      describe:
        "host:port to call instead of each handler's connection.address (with --envoy: the adapter's gRPC port)",
    })
    .option('attributes-file', {
      type: 'string',
      describe: 'JSON: one attribute set {"name": value} or an array of sets; values are read by manifest type',
    })
    .option('json', { type: 'boolean', default: false, describe: 'print results as JSON' })
    .option('fail-on-deny', { type: 'boolean', default: false, describe: 'exit 1 when a check is denied' })
    .option('repeat', {
      alias: 'r',
      type: 'number',
      default: 1,
      coerce: positiveInteger('repeat'),
      describe: 'send the Report/Check this many times and print a summary',
    })
    .option('concurrency', {
      alias: 'c',
      type: 'number',
      default: 1,
      coerce: positiveInteger('concurrency'),
      describe: 'how many runs are in flight at once',
    })
    .option('rate', { type: 'number', default: 0, describe: 'runs started per second (0 = unlimited)' })
    .option('report_batch_size', {
      type: 'number',
      default: 1,
      coerce: positiveInteger('report_batch_size'),
      describe: "report: put the attribute set(s) this many times in one Report, as mixc's flag does",
    })
    .option('attributes', {
      alias: 'a',
      type: 'string',
      coerce: asList,
      describe: 'attributes of any type: name=value,... read as the manifest type (IP_ADDRESS also as 1.2.3.4)',
    })
    .option('record', {
      type: 'string',
      describe: 'append every call sent (and its answer) to this JSON-lines file, auth_key and tokens masked as ***',
    })
    .option('record-secrets', {
      type: 'boolean',
      default: false,
      describe: 'keep auth_key and tokens in the --record file (it then holds live keys)',
    })
    .option('envoy', {
      choices: ['v3', 'v2', 'v2alpha'] as const,
      describe:
        "send as Envoy would, to the adapter's Envoy front-ends at --address: check as an ext_authz Check (v3, v2, v2alpha), report as an access-log stream (v3, v2)",
    });
  for (const flag of Object.keys(ATTRIBUTE_FLAGS) as AttributeFlag[]) {
    const short = SHORT[flag];
    out = out.option(flag, {
      type: 'string',
      describe: DESCRIPTIONS[flag],
      coerce: asList,
      ...(short ? { alias: short } : {}),
    });
  }
  return withDialOptions(out);
}

/**
 * The package folder (operatorconfig/ and examples/local/ are shipped in
 * it), so the default works from any folder. Found when the command runs: a
 * serving adapter does not load the manifest code.
 */
async function packageRoot(): Promise<string> {
  const { projectRoot } = await import('../manifests/project.js');
  return projectRoot();
}

/** The package's own operatorconfig/: the config read without --config. */
export async function defaultConfig(): Promise<string[]> {
  return [path.join(await packageRoot(), 'operatorconfig')];
}

async function handler(args: MixerArgs): Promise<void> {
  if (!Number.isFinite(args.rate) || args.rate < 0) throw new Error(`--rate: expected a number >= 0, got ${args.rate}`);
  const attributes: Partial<Record<AttributeFlag, string[]>> = {};
  for (const flag of Object.keys(ATTRIBUTE_FLAGS) as AttributeFlag[]) attributes[flag] = asList(args[flag]);
  const { runMixer } = await import('../mixer/run.js');
  // Without --config: the package's operatorconfig/, and the hint on failure says how to go local.
  const defaultConfigRoot = args.config === undefined ? await packageRoot() : undefined;
  process.exitCode = await runMixer(
    {
      method: args.method,
      config: args.config ?? (await defaultConfig()),
      defaultConfigRoot,
      address: args.address,
      attributes,
      untypedAttributes: asList(args.attributes),
      attributesFile: args['attributes-file'],
      json: args.json,
      failOnDeny: args['fail-on-deny'],
      record: args.record,
      recordSecrets: args['record-secrets'],
      reportBatchSize: args.report_batch_size,
      dial: dialSettings(args),
      repeat: args.repeat,
      concurrency: args.concurrency,
      rate: args.rate,
      envoy: args.envoy,
    },
    { stdout: process.stdout, stderr: process.stderr },
  );
}

export const mixerCommand: CommandModule<object, MixerArgs> = {
  command: 'mixer <method>',
  describe: 'act as Mixer: evaluate the operator config for some attributes and call the handlers (mixc-style flags)',
  builder,
  handler,
};
