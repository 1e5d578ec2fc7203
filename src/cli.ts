// yargs only: argv -> the command to run. Serving and `health` are always
// registered; the developer tools (tools/commands/) are imported only when
// argv names one of them or asks for help, so a serving adapter does not
// hold the linter, the Mixer stand-in or the manifest generator in memory
// (every MB the heap keeps lets V8 grow it ~4 MB before a full collection).
import yargs from 'yargs';
import { healthCommand } from './commands/health.js';
import { serveCommand } from './commands/serve.js';

// Kept here, not imported from tools/, so deciding costs no tool module.
const TOOL_COMMANDS = new Set(['manifests', 'lint', 'mixer', 'replay']);
const HELP = new Set(['--help', '-h', 'help']);

function wantsTools(argv: string[]): boolean {
  return (argv[0] !== undefined && TOOL_COMMANDS.has(argv[0])) || argv.some((a) => HELP.has(a));
}

export async function runCli(argv: string[]): Promise<void> {
  const tools = wantsTools(argv) ? (await import('./tools/commands/index.js')).toolCommands : [];
  const cli = yargs(argv).scriptName('mygrpcadapter').command(serveCommand).command(healthCommand);
  for (const command of tools) cli.command(command);
  await cli
    .strict()
    // Errors go to bin.ts, which prints one line; usage text only on request,
    // so a failing command does not bury its message under the help.
    .fail((msg: string | undefined, err: Error | undefined) => {
      throw err ?? new Error(`${msg ?? 'invalid arguments'} (see --help)`);
    })
    .help()
    .alias('h', 'help')
    .version()
    .parseAsync();
}
