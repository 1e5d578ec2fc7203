// `npm run soak [-- --seconds 60 --concurrency 32]`: a bounded load on the
// built adapter (child process, loopback), run as the Deployment runs it
// (helpers/deployment.ts: the image's Node.js, npm start's flags, a 256 MiB
// memory limit), sampling its resident memory once a second. Fails when any
// call errs, memory keeps climbing, or it reaches the Deployment's limit.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connect, paramsAny } from '../helpers/clients.js';
import { DEPLOYMENT_LIMIT, startAsDeployment } from '../helpers/deployment.js';
import { int, str } from '../helpers/values.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '32' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'soak-'));
const proc = await startAsDeployment([
  '0',
  '--host',
  '127.0.0.1',
  '--data-dir',
  dir,
  '--log-level',
  'warn',
  '--rotate-bytes',
  String(64 * 1024 * 1024),
  '--rotate-keep',
  '1',
]);
const pid = proc.child.pid!;
const clients = connect(proc.address);
const metricParams = paramsAny({ file_path: 'soak.txt' });
const authParams = paramsAny({ file_path: 'decisions.jsonl', format: 'json', auth_key: 'k' });
const instances = Array.from({ length: 100 }, (_, i) => ({
  name: 'i1metric.instance.istio-system',
  value: int(i),
  dimensions: { response_code: int(200), destination_service: str('svc.cluster.local') },
}));

let calls = 0;
let errors = 0;
let firstError = '';
const end = Date.now() + seconds * 1000;
const samples: number[] = [];
const sampler = setInterval(() => samples.push(rssMiB(pid)), 1000);

async function worker(n: number): Promise<void> {
  while (Date.now() < end) {
    try {
      if ((calls + n) % 4 === 0) {
        await clients.authorization({
          instance: {
            name: 'icheck.instance.istio-system',
            subject: { properties: { custom_token_header: str(calls % 2 ? 'k' : 'x') } },
          },
          adapter_config: authParams,
        });
      } else {
        await clients.metric({ instances, adapter_config: metricParams });
      }
      calls++;
    } catch (err) {
      errors++;
      firstError ||= (err as Error).message;
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, (_, n) => worker(n)));
clearInterval(sampler);
clients.close();
process.kill(pid, 'SIGTERM');
const code = await proc.exited;
const fileMiB = (await stat(path.join(dir, 'soak.txt'))).size / 1024 / 1024;
await rm(dir, { recursive: true, force: true });

// Compare the mean of the second quarter with the last quarter: a leak keeps climbing.
const q = Math.max(1, Math.floor(samples.length / 4));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const early = mean(samples.slice(q, 2 * q));
const late = mean(samples.slice(-q));
const peak = Math.max(...samples);
const growth = early > 0 ? (late - early) / early : 0;
console.log(`rss MiB per second: ${samples.map((s) => s.toFixed(0)).join(' ')}`);
console.log(
  `soak: ${seconds}s, concurrency ${concurrency}, ${calls} calls (${(calls / seconds).toFixed(0)}/s), ${errors} errors; ` +
    `RSS early ${early.toFixed(1)} MiB, late ${late.toFixed(1)} MiB (${(growth * 100).toFixed(1)}%), peak ${peak.toFixed(1)} MiB; ` +
    `file ${fileMiB.toFixed(0)} MiB; exit ${code}`,
);
if (firstError) console.log(`first error: ${firstError}`);
const ok = errors === 0 && code === 0 && growth < 0.2 && peak < DEPLOYMENT_LIMIT / 1024 / 1024;
process.exit(ok ? 0 : 1);
