#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2054 # literal code below; tmpfs options use commas
# Smoke test of the runtime images with the sandbox's settings (read-only
# root, tmpfs /sandbox with exec, noexec /tmp, uid/gid 1000, no network):
# each runtime's interpreter runs a hello world from a file in /sandbox.
#
# Usage: images/check.sh [RUNTIME...]   (default: python node bun deno bash)
# Prints one line per runtime; exits non-zero when any fails.
set -euo pipefail

readonly RUN=(docker run --rm -i --read-only --network none --user 1000:1000 -w /sandbox
	--tmpfs /sandbox:rw,exec,size=64m,uid=1000,gid=1000 --tmpfs /tmp:rw,noexec,nosuid,size=64m
	--security-opt no-new-privileges --cap-drop ALL)

# runtime|file|source|command (the command runs with bash -c inside the image)
readonly CASES=(
	'python|main.py|import sys; print("hello python", sys.version.split()[0])|python3 main.py'
	'node|main.mjs|import os from "node:os"; console.log("hello node", process.version, os.homedir())|node main.mjs'
	'bun|main.ts|const who: string = "bun"; console.log(`hello ${who}`, Bun.version)|bun run main.ts'
	'deno|main.ts|const who: string = "deno"; console.log(`hello ${who}`, Deno.version.deno)|deno run -A main.ts && deno run -A main.ts >/dev/null'
	'bash|main.sh|echo "hello bash $BASH_VERSION"; if touch /x 2>/dev/null; then echo "root is writable"; fi|bash main.sh'
)

wanted=("$@")
failed=()
for c in "${CASES[@]}"; do
	IFS='|' read -r rt file src cmd <<<"$c"
	if ((${#wanted[@]})) && [[ " ${wanted[*]} " != *" $rt "* ]]; then
		continue
	fi
	start=$(date +%s%N)
	if out="$(printf '%s\n' "$src" | "${RUN[@]}" "isol8:$rt" bash -c "cat >$file && $cmd" 2>&1)" &&
		[[ "$out" == "hello $rt"* && "$out" != *"root is writable"* ]]; then
		printf 'check: %-6s ok   %4d ms  %s\n' "$rt" $((($(date +%s%N) - start) / 1000000)) "${out%%$'\n'*}"
	else
		printf 'check: %-6s FAIL %s\n' "$rt" "$out" >&2
		failed+=("$rt")
	fi
done
if ((${#failed[@]})); then
	printf 'check: failed: %s\n' "${failed[*]}" >&2
	exit 1
fi
