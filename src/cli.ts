// yargs only: argv -> the command to run. Each command lives in commands/.
import yargs from 'yargs';
import { healthCommand } from './commands/health.js';
import { lintCommand } from './commands/lint.js';
import { manifestsCommand } from './commands/manifests.js';
import { serveCommand } from './commands/serve.js';

export async function runCli(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('mygrpcadapter')
    .command(serveCommand)
    .command(manifestsCommand)
    .command(lintCommand)
    .command(healthCommand)
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .parseAsync();
}
