// `mygrpcadapter [port]`: run the adapter until SIGINT/SIGTERM.
import { rmSync, writeFileSync } from 'node:fs';
import yargs, { type Argv, type CommandModule } from 'yargs';
import { createLogger } from '../log.js';
import { startAdapter, type AdapterOptions, type RunningAdapter } from '../main.js';
import { flagFileError } from '../lifecycle/start-error.js';
import { fitHeap, type HeapState } from '../lifecycle/heap.js';
import { adapterVersion } from '../observe/version.js';
import { declareFlags } from '../options/read-flags.js';
import { readServeOptions, SERVE_FLAGS } from '../options/serve-flags.js';

/** yargs' argv of the serve command: whatever the table declared, read by the table again. */
type ServeArgs = Record<string, unknown>;

/** The serve command's flags, from the one table (options/serve-flags.ts). */
export function serveOptions<T>(y: Argv<T>): Argv<T> {
  return declareFlags(y, SERVE_FLAGS);
}

/** yargs' argv -> the adapter's options; throws FlagProblems naming every bad flag at once. */
export function toAdapterOptions(args: ServeArgs): AdapterOptions {
  return readServeOptions(args);
}

/** The adapter options that `mygrpcadapter [port] <argv>` would run with (for tests and tools). */
export async function adapterOptionsFromArgv(argv: string[]): Promise<AdapterOptions> {
  const args = await serveOptions(yargs(argv).command('$0 [port]', ''))
    .strict()
    .exitProcess(false)
    .fail((msg: string | undefined, err: Error | undefined) => {
      throw err ?? new Error(msg ?? 'invalid arguments');
    })
    .parseAsync();
  return toAdapterOptions(args);
}

/**
 * SIGTERM/SIGINT: orderly stop, exit 0. Past the deadline: a log line, then
 * SIGKILL to itself (status 137), because process.exit() waits for libuv's
 * worker threads and a file operation stuck in the kernel (a hung NFS mount, a
 * pipe nobody reads) would keep the process alive forever.
 * SIGHUP: reopen file sinks.
 */
function handleSignals(adapter: RunningAdapter, deadlineMs: number): void {
  const onStop = (signal: NodeJS.Signals): void => {
    adapter.log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      adapter.log.error({ deadlineMs }, 'shutdown deadline passed; killing the process without finishing');
      process.kill(process.pid, 'SIGKILL');
    }, deadlineMs);
    adapter.stop().then(
      () => {
        clearTimeout(deadline);
        adapter.log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        adapter.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // Crashes end as one JSON line too, then exit 1 as Node would.
  const crash = (what: string) => (err: unknown) => {
    adapter.log.fatal({ err }, what);
    process.exit(1);
  };
  process.once('uncaughtException', crash('uncaught exception'));
  process.once('unhandledRejection', crash('unhandled promise rejection'));
  process.once('SIGINT', onStop);
  process.once('SIGTERM', onStop);
  process.on('SIGHUP', () => {
    adapter.reopenSinks().catch((err: unknown) => adapter.log.error({ err }, 'reopening sinks failed'));
  });
}

/**
 * A failed start ends as ONE plain line on stderr (bin.ts writes it:
 * `mygrpcadapter: cannot listen on ...: EADDRINUSE: address already in use
 * (choose another port or --host)`), exit status 1. The stack is for
 * developers: only --log-level debug or trace adds the JSON `start-up
 * failed` line with it, before the plain one.
 */
function startFailure(err: unknown, options: AdapterOptions): Error {
  const log = createLogger(options.logLevel);
  if (log.isLevelEnabled('debug')) log.fatal({ err }, 'start-up failed');
  // startAdapter stopped whatever it had started; should anything still
  // hold the event loop, the process exits anyway. Unref'd: a clean exit
  // does not wait.
  setTimeout(() => process.exit(1), 2_000).unref();
  return err instanceof Error ? err : new Error(String(err));
}

export async function serve(args: ServeArgs): Promise<void> {
  const options = toAdapterOptions(args);
  // Before anything opens: this may start the process again with a sized heap.
  const heap = fitHeap(options.memory);
  let adapter: RunningAdapter;
  try {
    adapter = await startAdapter(options);
  } catch (err) {
    throw startFailure(err, options);
  }
  // Handlers go in before the pid file and the start line: whoever waits for either may signal at once.
  handleSignals(adapter, options.shutdownTimeoutMs);
  const pidFile = options.pidFile;
  if (pidFile !== undefined) {
    // The process that handles SIGHUP: npm, in front of `npm start`, forwards
    // only SIGINT and SIGTERM (a SIGHUP kills npm).
    try {
      writeFileSync(pidFile, `${process.pid}\n`);
    } catch (err) {
      await adapter.stop();
      throw startFailure(flagFileError('--pid-file', pidFile, err, 'point --pid-file at a writable file'), options);
    }
    process.once('exit', () => rmSync(pidFile, { force: true }));
  }
  logStartLine(adapter, options, heap);
}

/**
 * The start line: the address really bound (the walkthrough prints
 * `listening on "<addr>"`; tools and tests wait for this line and read its
 * `address`), the version, and the effective configuration. Written whatever
 * --log-level says, because starting tools depend on it.
 */
function logStartLine(adapter: RunningAdapter, options: AdapterOptions, heap: HeapState): void {
  const level = adapter.log.level;
  adapter.log.level = 'info';
  adapter.log.info(
    // The options hold paths and sizes, never a secret (token and key files
    // are named, not read); the logger's redaction paths apply regardless.
    { address: adapter.address, version: adapterVersion(), config: options, heap },
    `listening on ${adapter.address}`,
  );
  adapter.log.level = level;
  if (heap.sizing === 'unsized') {
    adapter.log.warn(
      { heap },
      `the V8 heap is sized for the machine, not the memory limit: start node with --max-old-space-size=${heap.budgetMb} ` +
        '(Node.js 22.15 or later does this itself)',
    );
  }
}

export const serveCommand: CommandModule<object, ServeArgs> = {
  command: '$0 [port]',
  describe: 'serve HandleMetric and HandleAuthorization (Mixer dials this)',
  builder: (y) => serveOptions(y),
  handler: serve,
};
