#!/usr/bin/env node
import { runCli } from './cli.js';

// Every failure ends as plain lines on stderr, one per problem, each starting
// with the program's name (several when more than one flag is wrong), and
// exit status 1.
runCli(process.argv.slice(2)).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  for (const line of message.split('\n')) process.stderr.write(`mygrpcadapter: ${line}\n`);
  process.exitCode = 1;
});
