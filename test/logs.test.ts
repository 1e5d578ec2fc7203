// The logs a pipeline reads: every stderr line JSON (grpc-js's own lines
// included; a failed start ends with one plain line, and --log-level debug
// logs its stack as JSON before it), ISO 8601 times, level names, a start
// line with the address, version and configuration and no secret, and
// repeated failures summed instead of one line per call.
import net from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS } from '../src/main.js';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { Pki, SERVER_SANS, type KeyPair } from './helpers/certs.js';
import { ROOT, runBin, startCli, type CliProcess } from './helpers/cli.js';
import { paramsAny } from './helpers/clients.js';
import { connectAsMixer } from './helpers/mixer-tls.js';
import { int } from './helpers/values.js';
import { waitFor } from './helpers/wait.js';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

interface LogLine {
  level: string;
  time: string;
  msg: string;
  [field: string]: unknown;
}

/** Every line parsed; fails on a line that is not JSON or lacks an ISO time and a level name. */
function parse(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      let entry: LogLine;
      try {
        entry = JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`not JSON: ${line}`);
      }
      expect(entry.time, line).toMatch(ISO_TIME);
      expect(LEVELS, line).toContain(entry.level);
      return entry;
    });
}

let pki: Pki;
let server: KeyPair;
let proc: CliProcess | undefined;
let t: TestAdapter | undefined;

beforeAll(async () => {
  pki = new Pki(await mkdtemp(path.join(os.tmpdir(), 'logs-')));
  server = await pki.leaf('server', await pki.ca('ca'), { sans: SERVER_SANS, serial: '1001' });
});
afterAll(() => rm(pki.dir, { recursive: true, force: true }));
afterEach(async () => {
  if (proc && proc.child.exitCode === null) process.kill(proc.child.pid!, 'SIGKILL');
  proc = undefined;
  await t?.stop();
  t = undefined;
});

describe('stderr', () => {
  it('start line: address, version and configuration at any --log-level, no secret', async () => {
    const tokenFile = pki.file('token');
    await writeFile(tokenFile, 'top-secret-token-value');
    proc = await startCli([
      '0',
      '--host',
      '127.0.0.1',
      '--log-level',
      'warn',
      '--tls-cert',
      server.cert,
      '--tls-key',
      server.key,
      '--token-file',
      tokenFile,
    ]);
    const lines = parse(proc.stderr());
    const start = lines.find((l) => l.msg === `listening on ${proc!.address}`);
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(start).toMatchObject({
      level: 'info',
      address: proc.address,
      version: pkg.version,
      config: {
        host: '127.0.0.1',
        port: 0,
        logLevel: 'warn',
        security: { tokenFile, tls: { certFile: server.cert, keyFile: server.key } },
      },
    });
    // Only the start line: --log-level warn holds back the info lines.
    expect(lines).toHaveLength(1);
    expect(proc.stderr()).not.toContain('top-secret-token-value');
    expect(proc.stderr()).not.toContain((await readFile(server.key, 'utf8')).split('\n')[1]);
  });

  it("routes grpc-js's own error lines and the start-up failure through pino (--log-level debug)", async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const result = await runBin([String(port), '--host', '127.0.0.1', '--log-level', 'debug']);
      expect(result.code).toBe(1);
      // The last line is the plain one every failed start ends with (startup.test.ts).
      const [plain, ...json] = result.stderr.trimEnd().split('\n').reverse();
      expect(plain).toMatch(/^mygrpcadapter: cannot listen on /);
      const lines = parse(json.reverse().join('\n'));
      expect(lines.find((l) => l.component === 'grpc-js')).toMatchObject({
        level: 'error',
        msg: expect.stringContaining('No address added'),
      });
      expect(lines.at(-1)).toMatchObject({ level: 'fatal', msg: 'start-up failed' });
    } finally {
      busy.close();
    }
  });
});

describe('repeated failures', () => {
  it('120 bad calls: one line at once, one line with the count when the interval ends', async () => {
    t = await startTestAdapter({ metricsPort: 0, metricsHost: '127.0.0.1' });
    const bad = { instances: [], adapter_config: { type_url: 'type.googleapis.com/x.Params', value: Buffer.alloc(0) } };
    for (let i = 0; i < 120; i++) await t.clients.metric(bad).catch(() => undefined);
    const failed = () => parse(t!.logs()).filter((l) => l.msg.startsWith('HandleMetric failed (INVALID_ARGUMENT)'));
    expect(failed()).toHaveLength(1);
    expect(failed()[0]!.level).toBe('warn');
    const adapter = t;
    const logs = () => adapter.logs();
    await t.stop(); // ends the interval
    t = undefined;
    const lines = parse(logs()).filter((l) => l.msg.startsWith('HandleMetric failed (INVALID_ARGUMENT)'));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: 'warn', count: 119 });
  });

  it('refused calls: counted per call in calls_total, logged once with a count', async () => {
    const tokenFile = pki.file('token2');
    await writeFile(tokenFile, 'right');
    t = await startTestAdapter({
      metricsPort: 0,
      metricsHost: '127.0.0.1',
      security: {
        ...DEFAULT_OPTIONS.security,
        tls: { certFile: server.cert, keyFile: server.key, requireClientCert: false },
        tokenFile,
      },
    });
    const intruder = connectAsMixer(t.adapter.port, {
      ca: await pki.read('ca.crt'),
      token: { header: 'authorization', value: 'wrong' },
    });
    try {
      for (let i = 0; i < 50; i++) {
        await intruder
          .metric({ instances: [{ name: 'x', value: int(1) }], adapter_config: paramsAny({}) })
          .catch(() => undefined);
      }
    } finally {
      intruder.close();
    }
    const text = await (await fetch(`http://127.0.0.1:${t.adapter.metricsPort!}/metrics`)).text();
    expect(text).toContain('mygrpcadapter_calls_total{method="HandleMetric",code="UNAUTHENTICATED"} 50');
    const adapter = t;
    const logs = () => adapter.logs();
    await waitFor(() => parse(logs()).some((l) => l.msg.startsWith('call refused')));
    await t.stop();
    t = undefined;
    const refused = parse(logs()).filter((l) => l.msg === 'call refused: token in header authorization does not match');
    expect(refused.map((l) => l.count)).toEqual([undefined]);
    const summary = parse(logs()).filter((l) => l.msg.startsWith('call refused') && l.msg.endsWith('(repeated)'));
    expect(summary.map((l) => l.count)).toEqual([49]);
    expect(logs()).not.toContain('"wrong"');
  });
});
