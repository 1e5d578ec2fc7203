// `mygrpcadapter lint <folder-or-file>...`: check operator config before
// Mixer sees it. Exit code 1 when there is at least one error.
import type { CommandModule } from 'yargs';

interface LintArgs {
  paths: string[];
  json: boolean;
}

export async function lint(args: LintArgs): Promise<void> {
  // Loaded on use, like every command's implementation: `serve` keeps only
  // what serving needs in memory (see cli.ts).
  const [{ countErrors, formatFinding }, { lintPaths }] = await Promise.all([
    import('../lint/findings.js'),
    import('../lint/lint.js'),
  ]);
  const findings = await lintPaths(args.paths);
  const errors = countErrors(findings);
  const warnings = findings.length - errors;
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ errors, warnings, findings }, null, 2)}\n`);
  } else {
    for (const f of findings) process.stdout.write(`${formatFinding(f)}\n`);
    process.stdout.write(`${errors} error(s), ${warnings} warning(s)\n`);
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
      .option('json', { type: 'boolean', default: false, describe: 'print findings as JSON' }),
  handler: lint,
};
