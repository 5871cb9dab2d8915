#!/usr/bin/env bash
# Hello-world latency per runtime, measured the way a user sees it: the whole
# `isol8 run` CLI call against a running local daemon (each call gets a fresh
# sandbox: create, start, agent exec, remove), with hyperfine.
#
# Usage: tests/bench/latency.sh [BUILD_DIR] [RUNS]   (default build, 20)
# Writes a Markdown table to stdout; hyperfine's JSON goes to $OUT_DIR.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$(realpath "${1:-$repo/build}")"
runs="${2:-20}"
isol8="$build/client/cli/isol8"
OUT_DIR="${OUT_DIR:-$(mktemp -d /tmp/isol8-bench.XXXXXX)}"
mkdir -p "$OUT_DIR"
command -v hyperfine >/dev/null || { echo "latency: hyperfine is missing (apt-get install hyperfine)" >&2; exit 2; }

export ISOL8_SOCKET="$OUT_DIR/isol8.sock"
"$build/server/rpc/isol8d" --socket "$ISOL8_SOCKET" --log-level warn >"$OUT_DIR/isol8d.log" 2>&1 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null' EXIT
for _ in $(seq 1 100); do [ -S "$ISOL8_SOCKET" ] && break; sleep 0.1; done

declare -A code=(
	[python]="print('hello')"
	[node]="console.log('hello')"
	[bun]="console.log('hello')"
	[deno]="console.log('hello')"
	[bash]="echo hello"
)
echo "| Runtime | Min | Median | Max | Mean |"
echo "|---------|-----|--------|-----|------|"
for rt in python node bun deno bash; do
	hyperfine --style none --warmup 2 --runs "$runs" --export-json "$OUT_DIR/$rt.json" \
		"$isol8 run -r $rt -e \"${code[$rt]}\"" >/dev/null
	/usr/bin/python3 - "$OUT_DIR/$rt.json" "$rt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
ms = lambda v: "%.0fms" % (v * 1000)
print("| %s | %s | %s | %s | %s |" % (sys.argv[2], ms(r["min"]), ms(r["median"]), ms(r["max"]), ms(r["mean"])))
PY
done
