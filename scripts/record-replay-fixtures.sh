#!/usr/bin/env bash
# Regenerates test/fixtures/replay/*.jsonl: starts the adapter with --record,
# drives it with the Mixer stand-in (which records too), and keeps both
# recordings, secrets kept (the test key "abc"), so that every call replays.
# Loopback only. Run after `npm run build`.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
out=test/fixtures/replay
mkdir -p "$out"
rm -f "$out/adapter.jsonl" "$out/standin.jsonl"

node dist/src/bin.js 0 --host 127.0.0.1 --data-dir "$work" --log-level warn \
  --record "$PWD/$out/adapter.jsonl" --record-secrets 2>"$work/adapter.err" &
adapter=$!
trap 'kill "$adapter" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q '"msg":"listening on ' "$work/adapter.err" && break; sleep 0.1; done
# The JSON start line's message is `listening on <address>`.
address=$(sed -n 's/.*"msg":"listening on \([^"]*\)".*/\1/p' "$work/adapter.err")

# The adapter resource's spec.config: this adapter's config.proto as a descriptor set.
config=$(node --input-type=module -e "
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { readFileSync } from 'node:fs';
const root = protobuf.parse(readFileSync('proto/mixer/adapter/mygrpcadapter/config/config.proto', 'utf8'), { keepCase: true }).root;
process.stdout.write(Buffer.from(descriptor.FileDescriptorSet.encode(root.toDescriptor('proto3')).finish()).toString('base64'));
")
for flow in metric authorization; do
  mkdir -p "$work/$flow"
  cp test/fixtures/opconfig/attributes.yaml "$work/$flow/"
  sed "s#__CONFIG__#$config#g" test/fixtures/opconfig/adapter.yaml >"$work/$flow/adapter.yaml"
  # Relative file_path: on replay the adapter resolves it against its own --data-dir.
  sed -e "s#__ADDRESS__#$address#g" -e "s#__FILE_PATH__#replay-$flow.txt#g" \
    "test/fixtures/opconfig/$flow/operator.yaml" >"$work/$flow/operator.yaml"
done

mixer() { node dist/src/bin.js mixer "$@" --record "$out/standin.jsonl" --record-secrets; }
mixer report --config "$work/metric" -s destination.service=svc.cluster.local -i request.size=1235
mixer report --config "$work/metric" -s destination.service=svc.cluster.local
mixer check --config "$work/authorization" --stringmap_attributes request.headers=x-custom-token:abc
mixer check --config "$work/authorization" --stringmap_attributes request.headers=x-custom-token:wrong
mixer check --config "$work/authorization"

kill "$adapter"
wait "$adapter" || true
wc -l "$out"/*.jsonl
