// vitest's globalSetup: before any test, each real peer the tests run is
// installed, fetched or built when missing, with one "peers: ..." line each:
//   Debian's prometheus, promtool, logrotate, h2load  scripts/debian-peers.sh (apt-get, as root)
//   kubectl 1.20 (kustomize v2.0.3)                   scripts/kubectl-1.20.sh      -> $KUBECTL_1_20
//   a current kubectl (kustomize v5)                  scripts/kubectl-current.sh   -> $KUBECTL
//   the Node.js major of the Dockerfile's FROM        scripts/node-release.sh      -> $DOCKERFILE_NODE
//   realmixer, when ../shared holds its sources       ../shared/realmixer/build.sh -> $REALMIXER
// Each is skipped when its variable is set already. A script's other output
// is shown only when it fails. A peer still missing afterwards makes the tests
// that need it skip, or fail under REQUIRE_ALL_PEERS=1 (test/helpers/peers.ts).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { REALMIXER_BUILD } from '../helpers/shared.js';

interface Ran {
  code: number | null;
  stdout: string;
  /** stderr without the "peers: " lines (those were printed as they came). */
  output: string;
}

/** What becomes of the tests whose peer is missing (test/helpers/peers.ts). */
function outcome(): string {
  return process.env.REQUIRE_ALL_PEERS === '1' ? 'fail (REQUIRE_ALL_PEERS=1)' : 'skip';
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Runs `bash script args` from the checkout; its "peers: " lines go straight to the terminal. */
function runScript(script: string, args: string[] = [], env = process.env): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn('bash', [script, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      const lines = (partial + c).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('peers: ')) say(line);
        else output += `${line}\n`;
      }
    });
    child.on('error', (err) => resolve({ code: null, stdout, output: String(err) }));
    child.on('close', (code) => resolve({ code, stdout, output: output + partial }));
  });
}

function failed(label: string, ran: Ran): void {
  const last = ran.output.trim().split('\n').slice(-3).join(' | ');
  say(`peers: ${label}: failed (exit ${ran.code}): ${last}`);
}

/** A peer whose script prints its path: into `env` unless that is set already. */
async function pathPeer(env: string, label: string, script: string, args: string[] = []): Promise<void> {
  if (process.env[env]) {
    say(`peers: ${label}: ${process.env[env]} ($${env})`);
    return;
  }
  const ran = await runScript(script, args);
  const found = ran.stdout.trim().split('\n').at(-1);
  if (ran.code === 0 && found) process.env[env] = found;
  else failed(label, ran); // the tests run the script again and fail with its error
}

/** The Node.js major the Dockerfile's last stage runs (`FROM node:24-...`). */
function dockerfileNodeMajor(): string | undefined {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  return [...text.matchAll(/^FROM\s+node:(\d+)[-.]/gim)].at(-1)?.[1];
}

async function realmixerPeer(goPackagesMissing: boolean): Promise<void> {
  const label = "realmixer (Mixer 1.6.14's client)";
  if (process.env.REALMIXER) {
    say(`peers: ${label}: ${process.env.REALMIXER} ($REALMIXER)`);
    return;
  }
  if (!existsSync(REALMIXER_BUILD)) {
    say(
      `peers: ${label}: ${REALMIXER_BUILD} not found (../shared, beside the checkout in CI); the tests that need it ${outcome()}`,
    );
    return;
  }
  if (goPackagesMissing) {
    // build.sh would ask sudo for them.
    process.env.REALMIXER_LACKING =
      "realmixer: its build needs Debian's Go packages and this is not root (run npm test as root once)";
    say(`peers: ${label}: not built: ${process.env.REALMIXER_LACKING}; the tests that need it ${outcome()}`);
    return;
  }
  say(`peers: ${label}: bash ${REALMIXER_BUILD} (builds only when its sources changed; the first build takes minutes)`);
  // Not root: a build folder of this user's own (root's default one is not writable).
  const uid = process.getuid?.() ?? 0;
  const env =
    uid === 0 || process.env.REALMIXER_BUILD
      ? process.env
      : { ...process.env, REALMIXER_BUILD: path.join(os.tmpdir(), `realmixer-build-${uid}`) };
  const ran = await runScript(REALMIXER_BUILD, [], env);
  const found = ran.stdout.trim().split('\n').at(-1);
  if (ran.code === 0 && found) {
    process.env.REALMIXER = found;
    return;
  }
  failed(label, ran);
  // As root a failed build fails the tests that need it (they run build.sh again and show why); not as root, they skip.
  if (process.getuid?.() !== 0) {
    process.env.REALMIXER_LACKING = `realmixer: its build failed and this is not root (see the "peers: ${label}: failed" line)`;
  }
}

export default async function setup(): Promise<void> {
  // apt first, alone: kubectl-1.20.sh may then find fresh package lists, and
  // realmixer's build finds its Go packages installed (it would run apt-get
  // without the lock the others hold).
  const debian = await runScript('scripts/debian-peers.sh');
  if (debian.code === 1) failed("Debian's packages", debian);
  const stillMissing = debian.code === 0 ? [] : debian.stdout.split('\n').filter(Boolean);
  const tools = new Set(['prometheus', 'logrotate', 'nghttp2-client']);
  const major = dockerfileNodeMajor();
  await Promise.all([
    pathPeer('KUBECTL_1_20', 'kubectl 1.20 (kustomize v2.0.3)', 'scripts/kubectl-1.20.sh'),
    pathPeer('KUBECTL', 'kubectl with kustomize v5', 'scripts/kubectl-current.sh'),
    major ? pathPeer('DOCKERFILE_NODE', `Node.js ${major}`, 'scripts/node-release.sh', [major]) : undefined,
    realmixerPeer(process.getuid?.() !== 0 && stillMissing.some((p) => !tools.has(p))),
  ]);
}
