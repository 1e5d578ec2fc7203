// yargs only: argv -> the command to run. Each command lives in commands/.
import yargs from 'yargs';
import { serveCommand } from './commands/serve.js';

export async function runCli(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('mygrpcadapter')
    .command(serveCommand)
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .parseAsync();
}
