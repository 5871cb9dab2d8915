#!/usr/bin/env bash
# Builds the isol8 images with the docker CLI: the base image (when it is the
# debootstrap one and missing) and then each runtime image isol8:<runtime>.
# isol8d does the same through the Docker API (`isol8 setup`); this script is
# for checking the Dockerfiles by hand and for machines without the daemon.
#
# Usage: images/build-all.sh [--force] [RUNTIME...]
#   RUNTIME   any of python node bun deno bash (default: all)
#   --force   rebuild the base and build the runtimes without the layer cache
# Environment: ISOL8_BASE_IMAGE (default isol8:base; any other value is used
# as it is, e.g. debian:bookworm-slim where a registry answers).
set -euo pipefail

readonly ALL_RUNTIMES=(python node bun deno bash)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
base="${ISOL8_BASE_IMAGE:-isol8:base}"
force=0
runtimes=()

for arg in "$@"; do
	case "$arg" in
	--force) force=1 ;;
	-h | --help) sed -n '6,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
	python | node | bun | deno | bash) runtimes+=("$arg") ;;
	*) printf 'build-all: unknown argument %s\n' "$arg" >&2; exit 2 ;;
	esac
done
((${#runtimes[@]})) || runtimes=("${ALL_RUNTIMES[@]}")

log_dir="$(mktemp -d "${TMPDIR:-/tmp}/isol8-build-all.XXXXXX")"
trap 'rm -rf "$log_dir"' EXIT

if [[ "$base" == isol8:base ]]; then
	base_args=()
	((force)) && base_args+=(--force)
	"$here/base/build-base.sh" "${base_args[@]}" "$base" </dev/null
else
	printf 'build-all: using base image %s as it is (no debootstrap)\n' "$base"
fi

failed=()
for rt in "${runtimes[@]}"; do
	build_args=(--build-arg "BASE=$base" -t "isol8:$rt")
	((force)) && build_args+=(--no-cache)
	start=$SECONDS
	if docker build "${build_args[@]}" -f "$here/$rt/Dockerfile" "$here" </dev/null >"$log_dir/$rt.log" 2>&1; then
		size="$(docker image inspect --format '{{.Size}}' "isol8:$rt")"
		printf 'build-all: isol8:%s built in %d s, %d MB\n' "$rt" $((SECONDS - start)) $((size / 1000000))
	else
		printf 'build-all: isol8:%s FAILED after %d s; last lines:\n' "$rt" $((SECONDS - start)) >&2
		tail -n 20 "$log_dir/$rt.log" | sed 's/^/  | /' >&2
		failed+=("$rt")
	fi
done

if ((${#failed[@]})); then
	printf 'build-all: failed: %s\n' "${failed[*]}" >&2
	exit 1
fi
printf 'build-all: done: %s\n' "${runtimes[*]}"
