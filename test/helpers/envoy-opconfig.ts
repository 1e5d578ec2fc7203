// operatorconfig/ as a test's own copy: the sample's file_path pointed into
// the test's folder, everything else unchanged.
import { copyFile, readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './cli.js';
import { prepareMessage } from '../../src/frontends/envoy/als-report.js';
import type { MixerConfig } from '../../src/opconfig/config.js';
import { LiveOperatorConfig } from '../../src/opconfig/live.js';

export const SAMPLE_FILE_PATH = '/volume/out.txt';

/** Copies operatorconfig/ to `dir/operatorconfig` with the sample handler writing `dir/out.txt`; returns the folder. */
export async function sampleOperatorConfig(dir: string): Promise<{ folder: string; out: string }> {
  const folder = path.join(dir, 'operatorconfig');
  await mkdir(folder, { recursive: true });
  const out = path.join(dir, 'out.txt');
  for (const name of await readdir(path.join(ROOT, 'operatorconfig'))) {
    const from = path.join(ROOT, 'operatorconfig', name);
    if (name === 'sample_operator_config.yaml') {
      await writeFile(path.join(folder, name), (await readFile(from, 'utf8')).replaceAll(SAMPLE_FILE_PATH, out));
    } else if (name !== 'prometheus_sample.yaml') await copyFile(from, path.join(folder, name));
  }
  return { folder, out };
}

/** The operator config in `folder` as the adapter reads it (for tests that estimate what it will make). */
export async function loadOperatorConfig(folder: string, dataDir: string, sinks: string[] = []): Promise<MixerConfig> {
  const live = await LiveOperatorConfig.load({
    paths: [folder],
    pluginSinks: sinks,
    dataDir,
    sinkTypes: ['file', 'stdout', ...sinks],
    intervalMs: 60_000,
    events: { loaded: () => undefined, refused: () => undefined, warned: () => undefined },
  });
  live.stop();
  return live.current;
}

/** What the access-log front-end estimates a message to take while written, and holds while it waits, under `config`. */
export function estimateOf(config: MixerConfig, message: Buffer): { estimate: number; held: number } {
  const { estimate, held } = prepareMessage(
    { operatorConfig: () => config, nextDedupId: () => '1' },
    message,
    Infinity,
  );
  return { estimate, held };
}
