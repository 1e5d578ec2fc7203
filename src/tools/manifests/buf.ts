// Runs the buf compiler to get exact FileDescriptorSets (protobufjs's
// toDescriptor drops options and json names, so it cannot be used here).
// The binary comes from buf's per-platform npm package, which carries it as a
// plain file: no install script and no download are needed, so it works under
// npm's install-scripts policy and offline.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const PLATFORM_PACKAGES: Readonly<Record<string, string>> = {
  'linux x64': '@bufbuild/buf-linux-x64',
  'linux arm64': '@bufbuild/buf-linux-aarch64',
  'linux arm': '@bufbuild/buf-linux-armv7',
  'darwin x64': '@bufbuild/buf-darwin-x64',
  'darwin arm64': '@bufbuild/buf-darwin-arm64',
  'win32 x64': '@bufbuild/buf-win32-x64',
  'win32 arm64': '@bufbuild/buf-win32-arm64',
};

/** Path of the buf executable for this platform. Throws with a hint when the package is missing. */
export function bufBinary(): string {
  const key = `${process.platform} ${process.arch}`;
  const pkg = PLATFORM_PACKAGES[key];
  if (pkg === undefined) throw new Error(`buf: no prebuilt binary package for ${key}`);
  let manifest: string;
  try {
    manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
  } catch {
    throw new Error(
      `buf: package ${pkg} is not installed: the manifests generator is a development tool ` +
        '(@bufbuild/buf is a dev dependency); run it in a checkout after npm ci',
    );
  }
  return path.join(path.dirname(manifest), 'bin', process.platform === 'win32' ? 'buf.exe' : 'buf');
}

/**
 * `buf build` of one file of the workspace at `workspace` (the folder holding
 * buf.yaml) as a FileDescriptorSet with all its imports, without source info
 * so the bytes depend only on the definitions.
 */
export function buildDescriptorSet(workspace: string, protoFile: string): Promise<Buffer> {
  const args = ['build', '.', '--as-file-descriptor-set', '--exclude-source-info', '--path', protoFile, '-o', '-'];
  return new Promise((resolve, reject) => {
    execFile(
      bufBinary(),
      args,
      { cwd: workspace, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`buf build ${protoFile} failed: ${stderr.toString('utf8').trim() || err.message}`));
          return;
        }
        resolve(stdout);
      },
    );
  });
}
