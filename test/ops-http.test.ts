// The ops HTTP port over real HTTP on loopback: /readyz follows the gRPC
// health state (503 while draining, while gRPC calls are still answered),
// /healthz stays 200 until the end, and it all works with metrics off.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestAdapter, type TestAdapter } from './helpers/adapter.js';
import { startCli, type CliProcess } from './helpers/cli.js';
import { paramsAny } from './helpers/clients.js';
import { healthCheck } from './helpers/ops-clients.js';

interface Answer {
  status: number;
  body: string;
}

/** One request on a fresh connection, as the kubelet probes. */
function get(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const check = {
  instance: { name: 'icheck.instance.istio-system', subject: { properties: {} } },
  adapter_config: paramsAny({ auth_key: 'k' }),
  dedup_id: '1',
};

let t: TestAdapter | undefined;
let proc: CliProcess | undefined;

afterEach(async () => {
  await t?.stop();
  t = undefined;
  if (proc && proc.child.exitCode === null) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
  proc = undefined;
});

describe('ops HTTP port', () => {
  it('answers /healthz and /readyz with metrics off, and nothing else', async () => {
    t = await startTestAdapter({ opsPort: 0, opsHost: '127.0.0.1' });
    const port = t.adapter.opsPort!;
    expect(t.adapter.metrics).toBeUndefined();
    expect(await get(port, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(port, '/readyz')).toEqual({ status: 200, body: 'SERVING\n' });
    expect(await get(port, '/readyz?verbose=1')).toMatchObject({ status: 200 });
    expect((await get(port, '/readyz', 'HEAD')).status).toBe(200);
    expect((await get(port, '/metrics')).status).toBe(404);
    expect((await get(port, '/')).status).toBe(404);
    expect((await get(port, '/readyz', 'POST')).status).toBe(405);
    expect(await healthCheck(`127.0.0.1:${t.adapter.port}`, '')).toBe('SERVING');
  });

  it('while draining: /readyz 503 and gRPC health NOT_SERVING, yet calls are still answered', async () => {
    t = await startTestAdapter({ opsPort: 0, opsHost: '127.0.0.1', drainDelayMs: 1500 });
    const port = t.adapter.opsPort!;
    const grpcAddress = `127.0.0.1:${t.adapter.port}`;
    expect((await get(port, '/readyz')).status).toBe(200);

    const stopped = t.adapter.stop();
    const during = await until(
      () => get(port, '/readyz'),
      (a) => a.status === 503,
    );
    expect(during).toEqual({ status: 503, body: 'NOT_SERVING\n' });
    expect(await healthCheck(grpcAddress, '')).toBe('NOT_SERVING');
    expect(await healthCheck(grpcAddress, 'authorization.HandleAuthorizationService')).toBe('NOT_SERVING');
    // Still accepting: the pod leaves the endpoints before it stops taking calls.
    const answer = await t.clients.authorization(check);
    expect(answer.status?.code).toBe(7); // PERMISSION_DENIED: no token presented
    expect(await get(port, '/healthz')).toEqual({ status: 200, body: 'ok\n' });

    await stopped;
    await expect(get(port, '/readyz')).rejects.toThrow(/ECONNREFUSED/);
  }, 20_000);

  it('shares one listener with --metrics-port when they name the same port', async () => {
    t = await startTestAdapter({ opsPort: 0, opsHost: '127.0.0.1', metricsPort: 0, metricsHost: '127.0.0.1' });
    expect(t.adapter.metricsPort).toBe(t.adapter.opsPort);
    const metrics = await get(t.adapter.opsPort!, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('mygrpcadapter_calls_total');
    expect((await get(t.adapter.opsPort!, '/readyz')).status).toBe(200);
  });

  it('the CLI flag, drained by SIGTERM as the kubelet does', async () => {
    proc = await startCli(['0', '--host', '127.0.0.1', '--ops-port', '0', '--drain-delay', '2000']);
    const p = proc;
    const port = Number(/"port":(\d+),"msg":"serving \/healthz and \/readyz"/.exec(p.stderr())![1]);
    expect(await get(port, '/readyz')).toEqual({ status: 200, body: 'SERVING\n' });
    p.child.kill('SIGTERM');
    expect(
      await until(
        () => get(port, '/readyz'),
        (a) => a.status === 503,
      ),
    ).toEqual({ status: 503, body: 'NOT_SERVING\n' });
    expect(await healthCheck(p.address, '')).toBe('NOT_SERVING');
    expect(await p.exited).toBe(0);
  }, 20_000);
});
