#!/usr/bin/env bash
# kubectl 1.20 with its built-in kustomize v2.0.3 (what kubectl 1.14-1.20
# embed), from Debian bookworm's kubernetes-client package, unpacked into a
# private folder: the package conflicts with a kubectl installed elsewhere.
# apt-get download takes it when apt knows a 1.20 one (after one apt-get
# update, as root, when the package lists lack it); otherwise (Ubuntu, or not
# root without package lists) bookworm's .deb comes straight from
# deb.debian.org and must match its SHA-256.
# Prints the binary's path on stdout and one "peers: ..." line on stderr; does
# nothing more when it is already there.
#   KUBECTL_1_20=$(bash scripts/kubectl-1.20.sh)
# test/setup/peers.ts runs it before the tests and hands them $KUBECTL_1_20.
set -euo pipefail
DIR=${KUBECTL_1_20_DIR:-${TMPDIR:-/tmp}/mygrpcadapter-kubectl-1.20}
BIN=$DIR/usr/bin/kubectl
LABEL='kubectl 1.20 (kustomize v2.0.3)'
DEB=http://deb.debian.org/debian/pool/main/k/kubernetes/kubernetes-client_1.20.5+really1.20.2-1.1+deb12u1_amd64.deb
DEB_SHA256=087c42dc26c847740043cdaa8b16db666be5591a1da957f822922aa1b677494e

apt_version() { apt-cache show --no-all-versions kubernetes-client 2>/dev/null | sed -n 's/^Version: //p' | head -n1; }

if [ -x "$BIN" ]; then
  echo "peers: $LABEL: $BIN" >&2
else
  echo "peers: $LABEL: unpacking Debian bookworm's kubernetes-client into $DIR" >&2
  parent=$(dirname "$DIR")
  mkdir -p "$parent"
  work=$(mktemp -d "$parent/.kubectl-1.20-XXXXXX") # beside $DIR: the last step is a rename
  chmod 755 "$work" # apt-get download runs as _apt
  trap 'rm -rf "$work"' EXIT
  # Others may run apt at the same time: every apt call here holds /tmp/apt.lock.
  if [[ $(apt_version) != 1.20.* && $(id -u) = 0 ]]; then
    flock /tmp/apt.lock apt-get update -qq >&2 || true
  fi
  if [[ $(apt_version) == 1.20.* ]]; then
    (cd "$work" && flock /tmp/apt.lock apt-get download kubernetes-client >&2)
  else
    node --input-type=module - "$DEB" "$DEB_SHA256" "$work/kubernetes-client.deb" <<'JS'
const [url, sha256, out] = process.argv.slice(2);
const res = await fetch(url);
if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
const body = Buffer.from(await res.arrayBuffer());
const got = (await import('node:crypto')).createHash('sha256').update(body).digest('hex');
if (got !== sha256) throw new Error(`${url}: SHA-256 ${got}, expected ${sha256}`);
(await import('node:fs')).writeFileSync(out, body);
JS
  fi
  dpkg-deb -x "$work"/kubernetes-client*.deb "$work/root"
  # Another run may have unpacked it meanwhile: then keep that one.
  mv -T "$work/root" "$DIR" 2>/dev/null || [ -x "$BIN" ]
fi
"$BIN" version --client >/dev/null
echo "$BIN"
