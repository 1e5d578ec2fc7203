#!/usr/bin/env node
import { runCli } from './cli.js';

runCli(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`mygrpcadapter: ${(err as Error).message ?? String(err)}\n`);
  process.exitCode = 1;
});
