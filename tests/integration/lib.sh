# Shared helpers of the integration tests: a private isol8d on its own socket,
# assertions that count, and a check that the daemon leaves no container.
# Needs: ISOL8 (the CLI), ISOL8D (the daemon) in the environment, a Docker
# engine, and the sandbox images (`isol8 setup`).
set -u

for var in ISOL8 ISOL8D; do
	if [ ! -x "${!var:-}" ]; then
		echo "$var must name the built binary (ctest sets it; got \"${!var:-}\")" >&2
		exit 2
	fi
done

PASSED=0
FAILED=0
TEST_DIR=$(mktemp -d /tmp/isol8-it.XXXXXX)
export ISOL8_SOCKET="$TEST_DIR/isol8.sock"
DAEMON_PID=
STARTED_PID=

pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $1"; [ $# -gt 1 ] && printf '  %s\n' "${@:2}"; }

# check NAME CMD...: passes when CMD succeeds.
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

# expect_eq NAME WANT GOT
expect_eq() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "want: $(printf %q "$2")" "got:  $(printf %q "$3")"; fi
}

# expect_contains NAME NEEDLE HAYSTACK
expect_contains() {
	case "$3" in *"$2"*) pass "$1" ;; *) fail "$1" "want to contain: $2" "got: $3" ;; esac
}

# Containers of a daemon serving socket $1 (any state). When docker itself
# fails it prints a line saying so, which no check of "" lets pass.
owned_containers() {
	docker ps -aq --no-trunc --filter "label=isol8.owner=$1" || echo "(docker ps failed: status $?)"
}

# Every container id (any state), sorted; the same failure line on failure.
all_containers() { docker ps -aq --no-trunc | sort || echo "(docker ps failed: status $?)"; }

start_daemon() {
	"$ISOL8D" --socket "$ISOL8_SOCKET" "$@" >"$TEST_DIR/isol8d.log" 2>&1 &
	DAEMON_PID=$!
	STARTED_PID=$DAEMON_PID
	# ready when the socket accepts: a stale socket file may be there before
	# the daemon replaced it (a CLI call then would start a daemon of its own)
	for _ in $(seq 1 100); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		/usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' \
			"$ISOL8_SOCKET" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "isol8d did not start:"; cat "$TEST_DIR/isol8d.log"
	return 1
}

# wait_running NAME COMMAND: passes once a process whose command line is
# exactly COMMAND runs (the sandbox's processes are the host's too), so that
# stopping the daemon now cannot make the waiting CLI start one of its own.
wait_running() {
	local running=
	for _ in $(seq 1 100); do
		pgrep -x -f "$2" >/dev/null && { running=yes; break; }
		sleep 0.1
	done
	check "$1" test -n "$running"
}

# Stops the daemon with SIGTERM; returns its exit status when this shell
# started it, 0 once it is gone when the CLI started it.
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	local status=0
	if [ "$DAEMON_PID" = "$STARTED_PID" ]; then
		# bounded: a daemon that does not stop is a failure that names itself, not a hang
		for _ in $(seq 1 600); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$DAEMON_PID" 2>/dev/null; then
			echo "isol8d (pid $DAEMON_PID) did not exit within 60 s of SIGTERM; its threads:" >&2
			grep -H . /proc/"$DAEMON_PID"/task/*/comm /proc/"$DAEMON_PID"/task/*/wchan 2>/dev/null >&2
			kill -KILL "$DAEMON_PID" 2>/dev/null
		fi
		wait "$DAEMON_PID" || status=$?
	else
		for _ in $(seq 1 300); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$DAEMON_PID" 2>/dev/null && status=1
	fi
	DAEMON_PID=
	return $status
}

# Ends the test file: stops the daemon, checks it exited 0 and left no
# container, prints the counts and exits non-zero on any failure.
finish() {
	local status=0
	stop_daemon || status=$?
	expect_eq "isol8d exits 0 on SIGTERM" 0 "$status"
	expect_eq "no container of the test daemon remains" "" "$(owned_containers "$ISOL8_SOCKET")"
	if [ "$FAILED" -gt 0 ]; then
		echo "--- isol8d log"; tail -n 40 "$TEST_DIR/isol8d.log"
	fi
	rm -rf "$TEST_DIR"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

on_exit() { [ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null; }
trap on_exit EXIT
