# shellcheck shell=bash disable=SC2034
# Docker engine helpers for deploy/setup.sh (sourced, not run).
#
#   dockerd_answers             true when the engine answers within 10 s
#   dockerd_start STATE_DIR     starts dockerd in the background (log and pid
#                               file in STATE_DIR), waits up to
#                               ISOL8_DOCKERD_WAIT seconds (default 60) for it;
#                               sets DOCKERD_PID; non-zero with a message on
#                               stderr when it does not come up
#   dockerd_stop PID            stops that dockerd (TERM, then KILL after 30 s),
#                               only if PID still is a dockerd
#
# The caller decides whether to stop it: only one it started itself.

dockerd_answers() {
	timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

dockerd_start() {
	local state_dir="$1" wait_s="${ISOL8_DOCKERD_WAIT:-60}" log pid i

	if [[ -n "${DOCKER_HOST:-}" && "${DOCKER_HOST}" != unix:///var/run/docker.sock ]]; then
		echo "DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local dockerd for it" >&2
		return 1
	fi
	if [[ $EUID -ne 0 ]]; then
		echo "the Docker engine is not running and only root can start it" >&2
		return 1
	fi
	command -v dockerd >/dev/null 2>&1 || { echo "dockerd not found (apt-get install docker.io)" >&2; return 1; }
	mkdir -p "$state_dir"
	log="$state_dir/dockerd.log"
	# Its own session, no terminal, no inherited stdout: it outlives this
	# script's process group and holds no pipe of the caller open.
	setsid dockerd </dev/null >>"$log" 2>&1 &
	pid=$!
	echo "$pid" >"$state_dir/dockerd.pid"
	DOCKERD_PID=$pid
	for ((i = 0; i < wait_s * 2; i++)); do
		if dockerd_answers; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "dockerd exited at start; last lines of $log:" >&2
			tail -n 15 "$log" | sed 's/^/  | /' >&2
			rm -f "$state_dir/dockerd.pid"
			DOCKERD_PID=""
			return 1
		fi
		sleep 0.5
	done
	echo "dockerd (pid $pid) did not answer within $wait_s s; last lines of $log:" >&2
	tail -n 15 "$log" | sed 's/^/  | /' >&2
	return 1
}

dockerd_stop() {
	local pid="$1" i
	[[ -n "$pid" ]] || return 0
	[[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 60; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.5
	done
	kill -KILL "$pid" 2>/dev/null || true
}
