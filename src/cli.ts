// yargs only: argv -> the command to run. Each command lives in commands/
// and imports its implementation when it runs, so a serving adapter does not
// hold the linter, the Mixer stand-in or the manifest generator in memory
// (every MB the heap keeps lets V8 grow it ~4 MB before a full collection).
import yargs from 'yargs';
import { healthCommand } from './commands/health.js';
import { lintCommand } from './commands/lint.js';
import { manifestsCommand } from './commands/manifests.js';
import { mixerCommand } from './commands/mixer.js';
import { replayCommand } from './commands/replay.js';
import { serveCommand } from './commands/serve.js';

export async function runCli(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('mygrpcadapter')
    .command(serveCommand)
    .command(manifestsCommand)
    .command(lintCommand)
    .command(healthCommand)
    .command(mixerCommand)
    .command(replayCommand)
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
