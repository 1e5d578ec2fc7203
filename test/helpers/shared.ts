// ../shared, beside the checkout: material a user of the project never has
// (realmixer's sources, Mixer 1.6.14's own client; Envoy's protos). CI has it.
// Every test that needs it asks here; when it is absent those tests skip with
// one line naming what is missing (and fail under REQUIRE_ALL_PEERS=1): see
// describeWith/itWith in peers.ts.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './cli.js';

const run = promisify(execFile);

export const SHARED = path.resolve(ROOT, '..', 'shared');

/** realmixer's build script: prints the binary's path, builds only when its sources changed. */
export const REALMIXER_BUILD = path.join(SHARED, 'realmixer', 'build.sh');

/** One line saying that `relative` under ../shared (`what`) is not here, or undefined when it is. */
export function sharedLacking(relative: string, what: string): string | undefined {
  const file = path.join(SHARED, relative);
  return existsSync(file) ? undefined : `${what}: ${file} not found (../shared/${relative}, beside the checkout in CI)`;
}

/** Envoy's own .proto files (a reference encoder for the Envoy front-ends' tests). */
export const ENVOY_PROTO_DIR = path.join(SHARED, 'envoy', 'proto');

export function envoyProtosLacking(): string | undefined {
  return sharedLacking(
    'envoy/proto/envoy/service/auth/v3/external_auth.proto',
    "Envoy's own protos (the reference client)",
  );
}

/**
 * Why realmixer cannot run here, or undefined: its sources are not beside the
 * checkout, or test/setup/peers.ts could not build it for want of root
 * ($REALMIXER_LACKING). $REALMIXER, set by that setup, wins.
 */
export function realmixerLacking(): string | undefined {
  if (process.env.REALMIXER) return undefined;
  return (
    sharedLacking('realmixer/build.sh', "realmixer (Mixer 1.6.14's client, built from its sources)") ??
    (process.env.REALMIXER_LACKING || undefined)
  );
}

/** realmixer's binary: $REALMIXER (test/setup/peers.ts builds it first), else what build.sh prints. */
export async function realmixer(): Promise<string> {
  if (process.env.REALMIXER) return process.env.REALMIXER;
  const { stdout } = await run('bash', [REALMIXER_BUILD], { timeout: 280_000 });
  return stdout.trim();
}
