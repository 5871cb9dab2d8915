#!/usr/bin/env bash
# The one entry point for a fresh Debian 12 machine (run as root).
#
# Usage: deploy/setup.sh [quick|test]
#   quick (default)  install what is missing, build, bring up Docker and the
#                    sandbox images, then run a Python hello world through the CLI
#   test             the same set-up, then the whole test suite (ctest, all
#                    labels) and the unit and integration tests again under ASan+UBSan
#                    (build-asan); a dockerd that this run started is stopped
#                    at the end, one that was already running never is
#
# Works unattended (CI=true, no stdin, no tty). One line per step on stdout;
# the commands' own output goes to logs under build/setup/ and is shown when a
# step fails. Exits non-zero naming the step that failed.
#
# Environment: ISOL8_BUILD_DIR and ISOL8_ASAN_BUILD_DIR (default build and
# build-asan), ISOL8_SETUP_STATE (logs and pid files; default build/setup),
# ISOL8_DOCKERD_WAIT (seconds to wait for a started dockerd; default 60),
# JOBS (parallel build jobs; default nproc).
set -euo pipefail
umask 022
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=deploy/lib/dockerd.sh
source "$repo/deploy/lib/dockerd.sh"

readonly PACKAGES=(
	build-essential cmake pkg-config libgrpc-dev protobuf-c-compiler libprotobuf-c-dev
	libprotoc-dev protobuf-compiler libprotobuf-dev libcurl4-openssl-dev libcjson-dev
	libcunit1-dev libmicrohttpd-dev libevent-dev grpc-proto python3-grpcio python3-protobuf python3-jsonschema docker.io
	debootstrap debian-archive-keyring ca-certificates valgrind busybox-static openssl procps
	hyperfine curl wrk python3-yaml
)

mode="${1:-quick}"
case "$mode" in
quick | test) ;;
-h | --help) sed -n '4,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
*) printf 'setup: unknown mode "%s" (use quick or test)\n' "$mode" >&2; exit 2 ;;
esac
[[ $# -le 1 ]] || { printf 'setup: too many arguments\n' >&2; exit 2; }

build_dir="${ISOL8_BUILD_DIR:-$repo/build}"
asan_dir="${ISOL8_ASAN_BUILD_DIR:-$repo/build-asan}"
build_dir="$(realpath -m "$build_dir")"
asan_dir="$(realpath -m "$asan_dir")"
state_dir="${ISOL8_SETUP_STATE:-$build_dir/setup}"
cli="$build_dir/client/cli/isol8"
jobs="${JOBS:-$(nproc)}"
started_dockerd=""
own_daemons_before=""
current_step=""
step_start=0
failed_steps=()

mkdir -p "$state_dir"

# --- output ------------------------------------------------------------------

# A quiet step prints "setup: NAME: WHAT ... ok (N s)" on one line; its
# command output goes to $state_dir/NAME.log.
step_begin() {
	current_step="$1"
	step_start=$SECONDS
	: >"$state_dir/$1.log"
	printf 'setup: %-9s %s ... ' "$1:" "$2"
}
step_ok() { printf 'ok%s (%d s)\n' "${1:+: $1}" $((SECONDS - step_start)); }

# A loud step prints its header line, then its command's output.
step_header() {
	current_step="$1"
	step_start=$SECONDS
	printf 'setup: %-9s %s\n' "$1:" "$2"
}
step_done() { printf 'setup: %-9s ok (%d s)\n' "$current_step:" $((SECONDS - step_start)); }

fail() {
	local log="${2:-}"
	printf 'FAILED\n'
	printf 'setup: step "%s" failed: %s\n' "$current_step" "$1" >&2
	if [[ -n "$log" && -s "$log" ]]; then
		printf 'setup: last lines of %s:\n' "$log" >&2
		tail -n 40 "$log" | sed 's/^/  | /' >&2
	fi
	exit 1
}

# Runs a command with its output in the step's log.
logged() {
	local log="$state_dir/$current_step.log"
	"$@" </dev/null >>"$log" 2>&1
}

# --- clean-up ----------------------------------------------------------------

# isol8 processes run from this checkout's build trees.
own_daemons() {
	local exe pid
	for exe in /proc/[0-9]*/exe; do
		pid="${exe#/proc/}"
		pid="${pid%/exe}"
		case "$(readlink "$exe" 2>/dev/null)" in
		"$build_dir"/* | "$asan_dir"/*) printf '%s\n' "$pid" ;;
		esac
	done
}

# Test mode ends what it started: isol8 daemons started during this run (the
# CLI starts isol8d on demand) and dockerd if this run started it.
on_exit() {
	local rc=$? pid
	trap - EXIT
	if [[ "$mode" == test ]]; then
		for pid in $(own_daemons); do
			[[ $pid -ne $$ ]] || continue
			grep -qx "$pid" <<<"$own_daemons_before" && continue
			kill -TERM "$pid" 2>/dev/null || true
		done
		if [[ -n "$started_dockerd" ]]; then
			sleep 1
			printf 'setup: stopping the dockerd this run started (pid %s)\n' "$started_dockerd"
			dockerd_stop "$started_dockerd"
			rm -f "$state_dir/dockerd.pid"
		fi
	elif [[ -n "$started_dockerd" ]]; then
		printf 'setup: dockerd (pid %s) started by this run keeps running; log %s\n' \
			"$started_dockerd" "$state_dir/dockerd.log"
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- steps -------------------------------------------------------------------

step_packages() {
	local missing=() p status
	step_begin packages "Debian packages"
	for p in "${PACKAGES[@]}"; do
		status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
		[[ "$status" == installed ]] || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		step_ok "all ${#PACKAGES[@]} present"
		return
	fi
	[[ $EUID -eq 0 ]] || fail "missing ${missing[*]}; run as root to install them"
	logged apt-get -o DPkg::Lock::Timeout=300 update ||
		fail "apt-get update" "$state_dir/packages.log"
	logged apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}" ||
		fail "apt-get install ${missing[*]}" "$state_dir/packages.log"
	step_ok "installed ${missing[*]}"
}

step_build() {
	step_begin build "cmake build into ${build_dir#"$repo"/}/ (-j$jobs)"
	logged cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo ||
		fail "cmake configure" "$state_dir/build.log"
	logged cmake --build "$build_dir" -j "$jobs" || fail "cmake --build" "$state_dir/build.log"
	[[ -x "$cli" ]] || fail "the CLI $cli was not built" "$state_dir/build.log"
	step_ok
}

step_docker() {
	local version
	step_begin docker "Docker engine"
	if dockerd_answers; then
		version="$(docker version --format '{{.Server.Version}}' 2>/dev/null)"
		step_ok "already running ($version)"
		return
	fi
	DOCKERD_PID=""
	dockerd_start "$state_dir" 2>>"$state_dir/docker.log" || {
		dockerd_stop "$DOCKERD_PID"
		rm -f "$state_dir/dockerd.pid"
		fail "dockerd did not start" "$state_dir/docker.log"
	}
	started_dockerd="$DOCKERD_PID"
	version="$(docker version --format '{{.Server.Version}}' 2>/dev/null)"
	step_ok "started dockerd $version (pid $started_dockerd, log $state_dir/dockerd.log)"
}

# An isol8d already answering on the CLI's socket from another binary (another
# checkout, or this one's before a rebuild: its exe reads "(deleted)") would
# serve this set-up with that build's images and agent. One the CLI started
# on demand (--idle-exit) is stopped, and the CLI starts this build's; one
# started otherwise is left alone and named.
stop_foreign_daemon() {
	local sock="${ISOL8_SOCKET:-/run/isol8/isol8.sock}" mine="$build_dir/server/daemon/isol8d"
	local cmdline exe pid
	for exe in /proc/[0-9]*/exe; do
		pid="${exe#/proc/}"
		pid="${pid%/exe}"
		cmdline="$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)" || continue
		case "$cmdline" in "isol8d --socket $sock "* | *"/isol8d --socket $sock "*) ;; *) continue ;; esac
		[[ "$(readlink "$exe" 2>/dev/null)" == "$mine" ]] && continue
		case "$cmdline" in
		*" --idle-exit "*)
			printf 'setup: stopping isol8d (pid %s, %s), started on demand from another build\n' \
				"$pid" "$(readlink "$exe" 2>/dev/null)"
			kill -TERM "$pid" 2>/dev/null || true
			for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			;;
		*)
			fail "an isol8d of another build (pid $pid, $(readlink "$exe" 2>/dev/null)) serves $sock; stop it, or set ISOL8_SOCKET to another socket"
			;;
		esac
	done
}

# The CLI asks isol8d to build the base and runtime images; it prints progress.
step_images() {
	step_header images "isol8 setup (builds missing or out-of-date images)"
	stop_foreign_daemon
	"$cli" setup </dev/null 2>&1 | sed -u 's/^/  /' || {
		printf 'setup: %-9s FAILED\n' "images:"
		printf 'setup: step "images" failed: %s setup exited non-zero\n' "$cli" >&2
		exit 1
	}
	step_done
}

step_hello() {
	local out
	step_begin hello "isol8 run -e \"print('hello isol8')\" --runtime python"
	out="$("$cli" run -e "print('hello isol8')" --runtime python </dev/null 2>"$state_dir/hello.log")" ||
		{ printf '%s\n' "$out" >>"$state_dir/hello.log"; fail "isol8 run exited non-zero" "$state_dir/hello.log"; }
	grep -qx 'hello isol8' <<<"$out" ||
		{ printf 'stdout was: %s\n' "$out" >>"$state_dir/hello.log"; fail "unexpected output" "$state_dir/hello.log"; }
	step_ok
	printf '%s\n' "$out"
}

step_tests() {
	step_header tests "ctest --test-dir ${build_dir#"$repo"/} (all labels)"
	if ! ctest --test-dir "$build_dir" --output-on-failure </dev/null; then
		printf 'setup: %-9s FAILED\n' "tests:"
		failed_steps+=(tests)
		return
	fi
	step_done
}

step_asan() {
	step_begin asan-build "sanitizer build into ${asan_dir#"$repo"/}/ (-DISOL8_SANITIZE=ON)"
	logged cmake -S "$repo" -B "$asan_dir" -DCMAKE_BUILD_TYPE=Debug -DISOL8_SANITIZE=ON ||
		fail "cmake configure (sanitizers)" "$state_dir/asan-build.log"
	logged cmake --build "$asan_dir" -j "$jobs" || fail "cmake --build build-asan" "$state_dir/asan-build.log"
	step_ok
	step_header asan "ctest --test-dir ${asan_dir#"$repo"/} -L 'unit|integration'"
	if ! ctest --test-dir "$asan_dir" -L "unit|integration" --output-on-failure </dev/null; then
		printf 'setup: %-9s FAILED\n' "asan:"
		failed_steps+=(asan)
		return
	fi
	step_done
}

main() {
	local start=$SECONDS
	own_daemons_before="$(own_daemons)"
	printf 'setup: isol8 %s set-up in %s\n' "$mode" "$repo"
	step_packages
	step_build
	step_docker
	step_images
	if [[ "$mode" == quick ]]; then
		step_hello
		printf 'setup: done in %d s; try: %s run -e "print(1 + 1)" --runtime python\n' \
			$((SECONDS - start)) "$cli"
		return
	fi
	step_tests
	step_asan
	if ((${#failed_steps[@]})); then
		printf 'setup: FAILED steps: %s (%d s)\n' "${failed_steps[*]}" $((SECONDS - start)) >&2
		exit 1
	fi
	printf 'setup: all tests passed in %d s\n' $((SECONDS - start))
}

main
