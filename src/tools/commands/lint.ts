// `mygrpcadapter lint <folder-or-file>...`: check operator config before
// Mixer sees it. Exit code 1 when there is at least one error.
import type { CommandModule } from 'yargs';

interface LintArgs {
  paths: string[];
  json: boolean;
  sink: string[];
  'data-dir': string;
}

export async function lint(args: LintArgs): Promise<void> {
  // Loaded on use, like every command's implementation: `serve` keeps only
  // what serving needs in memory (see cli.ts).
  const [{ countErrors, formatFinding }, { lintPaths }] = await Promise.all([
    import('../../opconfig/lint/findings.js'),
    import('../../opconfig/lint/lint.js'),
  ]);
  const { findings, checked } = await lintPaths(args.paths, { pluginSinks: args.sink, dataDir: args['data-dir'] });
  if (checked === 0 && findings.length === 0) {
    // An empty or mistyped folder must not look like clean config.
    const message = `nothing to check: no handler, instance, rule, adapter, template or attributemanifest in ${args.paths.join(' ')}`;
    if (args.json)
      process.stdout.write(`${JSON.stringify({ errors: 1, warnings: 0, checked, findings, message }, null, 2)}\n`);
    else process.stderr.write(`mygrpcadapter lint: ${message}\n`);
    process.exitCode = 1;
    return;
  }
  const errors = countErrors(findings);
  const warnings = findings.length - errors;
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ errors, warnings, checked, findings }, null, 2)}\n`);
  } else {
    for (const f of findings) process.stdout.write(`${formatFinding(f)}\n`);
    process.stdout.write(`${checked} resource(s) checked: ${errors} error(s), ${warnings} warning(s)\n`);
  }
  if (errors > 0) process.exitCode = 1;
}

export const lintCommand: CommandModule<object, LintArgs> = {
  command: 'lint <paths..>',
  describe: 'check handler, instance, rule, adapter and template YAML the way Mixer reads it',
  builder: (y) =>
    y
      .positional('paths', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'folders (searched recursively for *.yaml, *.yml) or files',
      })
      .option('json', { type: 'boolean', default: false, describe: 'print findings as JSON' })
      .option('sink', {
        type: 'string',
        array: true,
        nargs: 1,
        default: [] as string[],
        describe:
          'a sink plug-in NAME the adapter loads with --sink-module NAME=MODULE (accepted in sink:); repeatable',
      })
      // Same default as the server's --data-dir, so an adapter started here with no flag agrees.
      .option('data-dir', {
        type: 'string',
        default: '.',
        requiresArg: true,
        describe: "the adapter's --data-dir: warn about handler file_path values it would refuse",
      }),
  handler: lint,
};
