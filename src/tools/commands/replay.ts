// `mygrpcadapter replay FILE --address A`: resend recorded calls, compare answers.
import type { CommandModule } from 'yargs';
import { dialSettings, withDialOptions, type DialArgs } from '../../commands/dial-options.js';

interface ReplayArgs extends DialArgs {
  file: string;
  address: string;
  timeout: number;
  json: boolean;
}

async function handler(args: ReplayArgs): Promise<void> {
  const { replayFile } = await import('../replay/replay.js');
  const summary = await replayFile(args.file, args.address, args.timeout, dialSettings(args));
  if (args.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  else {
    for (const r of summary.results) {
      if (r.verdict !== 'same') process.stdout.write(`${args.file}:${r.line} ${r.method}: ${r.verdict}: ${r.detail}\n`);
    }
    // The last part only for recordings made with secrets masked (the line stays as it was otherwise).
    const masked = summary.unreproducible > 0 ? `, ${summary.unreproducible} not replayed (secrets masked)` : '';
    process.stdout.write(
      `replayed ${summary.total} calls to ${args.address}: ${summary.same} same, ${summary.different} different, ` +
        `${summary.unchecked} without a recorded answer${masked}\n`,
    );
  }
  process.exitCode = summary.different > 0 ? 1 : 0;
}

export const replayCommand: CommandModule<object, ReplayArgs> = {
  command: 'replay <file>',
  describe:
    'send the calls recorded in a JSON-lines file (serve --record / mixer --record) again and compare the answers',
  builder: (y) =>
    withDialOptions(y)
      .positional('file', { type: 'string', demandOption: true, describe: 'recording (JSON lines)' })
      .option('address', { type: 'string', demandOption: true, describe: 'adapter host:port' })
      .option('timeout', { type: 'number', default: 10_000, describe: 'per-call deadline in milliseconds' })
      .option('json', { type: 'boolean', default: false, describe: 'print the results as JSON' }),
  handler,
};
