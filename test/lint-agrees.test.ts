// The linter and the adapter agree on handler params: the same bad params
// go to `lint` and, through the stand-in (Mixer's encoding of them), to the
// adapter over loopback. Whatever the adapter refuses, the linter reports
// with the adapter's own words; whatever Mixer refuses (the stand-in's
// encoder, checked against realmixer in mixer-params.test.ts) never reaches
// the adapter, and the linter says so.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintPaths } from '../src/opconfig/lint/lint.js';
import type { RunningAdapter } from '../src/main.js';
import { startQuietAdapter } from './helpers/adapter.js';
import { ROOT, runBin } from './helpers/cli.js';
import { tempDir, writeOpConfig } from './helpers/opconfig.js';

let work: string;
let adapter: RunningAdapter;
beforeAll(async () => {
  work = await tempDir('lint-agrees-');
  // With sink "prometheus" enabled, the adapter knows the sink types the linter knows.
  adapter = await startQuietAdapter(work, { prometheusPort: 0 });
});
afterAll(async () => {
  await adapter.stop();
  await rm(work, { recursive: true, force: true });
});

/** A config folder whose handler has `param` (one YAML line) next to file_path. */
async function configWith(name: string, param: string): Promise<string> {
  const dir = path.join(work, name);
  await mkdir(dir);
  await writeOpConfig('metric', { address: adapter.address, filePath: 'out.txt' }, dir);
  const file = path.join(dir, 'operator.yaml');
  const text = await readFile(file, 'utf8');
  await writeFile(file, text.replace("    file_path: 'out.txt'", `    file_path: 'out.txt'\n    ${param}`));
  return dir;
}

async function handlerFindings(dir: string): Promise<{ field: string; message: string; line: number }[]> {
  const templates = ['metric.yaml', 'authorization.yaml'].map((f) => path.join(ROOT, 'operatorconfig', f));
  const { findings } = await lintPaths([dir, ...templates]);
  return findings.filter((f) => f.resource === 'h1.handler.istio-system');
}

describe('lint and adapter agree on params', () => {
  it.each([
    ['format', 'format: yaml'],
    ['sink', 'sink: kafka'],
    ['duration', 'valid_duration: 10x'],
    ['overflow', 'valid_use_count: 3000000000'],
  ])(
    'the adapter refuses %s (%s), and the linter reports it in the same words',
    { timeout: 30_000 },
    async (name, param) => {
      const dir = await configWith(name, param);
      const r = await runBin(['mixer', 'report', '--config', dir, '-i', 'request.size=1']);
      const answer = /rpc error: code = InvalidArgument desc = (.*)$/m.exec(r.stdout);
      expect(answer, r.stdout + r.stderr).not.toBeNull();
      const findings = await handlerFindings(dir);
      expect(findings).toHaveLength(1);
      const [f] = findings;
      expect(f?.line).toBe(15); // the param's own line in operator.yaml
      // "format: expected one of ..." in the adapter's answer; the same text in the finding.
      const detail = f?.message.replace(/; the adapter answers INVALID_ARGUMENT to every call( \(.*\))?$/, '') ?? '';
      const field = f?.field.replace('spec.params.', '') ?? '';
      expect(answer?.[1]).toContain(`${field}: ${detail}`);
    },
  );

  it.each([
    ['unquoted', 'valid_duration: 10', "field 'valid_duration' is of type 'float64' instead of expected type 'string'"],
    ['fraction', 'valid_use_count: 2.5', "field 'valid_use_count' is of type 'float64' instead of expected type 'int'"],
  ])(
    'Mixer refuses %s (%s): no call is made, and the linter says the handler is dropped',
    { timeout: 30_000 },
    async (name, param, mixerText) => {
      const dir = await configWith(name, param);
      const r = await runBin(['mixer', 'report', '--config', dir, '-i', 'request.size=1']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(mixerText);
      const findings = await handlerFindings(dir);
      expect(findings).toHaveLength(1);
      expect(findings[0]?.message).toContain(`${mixerText}; Mixer drops the whole handler`);
    },
  );
});
