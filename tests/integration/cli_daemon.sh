#!/usr/bin/env bash
# The CLI and the daemon's life: start on demand (once, even when raced),
# idle exit, missing images, TCP with an API key.
. "$(dirname "$0")/lib.sh"
cd "$TEST_DIR"
export ISOL8_IDLE_EXIT=30

# No daemon yet: two CLIs at once start exactly one.
"$ISOL8" run -e 'print("a")' -r python >a.out 2>a.err &
first=$!
"$ISOL8" run -e 'print("b")' -r python >b.out 2>b.err &
second=$!
wait $first; s1=$?
wait $second; s2=$?
expect_eq "first racing CLI succeeds" "0 a" "$s1 $(cat a.out)"
expect_eq "second racing CLI succeeds" "0 b" "$s2 $(cat b.out)"
daemons=$(pgrep -f -- "--socket $ISOL8_SOCKET" | wc -l)
expect_eq "one daemon started" 1 "$daemons"
DAEMON_PID=$(pgrep -f -- "--socket $ISOL8_SOCKET" | head -n1)
expect_eq "a started daemon is reused" "c" "$("$ISOL8" run -e 'print("c")' -r python)"
expect_eq "still one daemon" 1 "$(pgrep -f -- "--socket $ISOL8_SOCKET" | wc -l)"
stop_daemon
expect_eq "no container left after the started daemon stops" "" "$(owned_containers "$ISOL8_SOCKET")"

# A started daemon exits by itself when idle.
ISOL8_IDLE_EXIT=2 "$ISOL8" run -e 'print(1)' -r python >/dev/null
pid=$(pgrep -f -- "--socket $ISOL8_SOCKET" | head -n1)
check "daemon is running after the call" test -n "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
check "idle daemon exited (pid ${pid:-none})" bash -c "[ -n '$pid' ] && ! kill -0 '$pid' 2>/dev/null"

# SIGTERM with a call in flight: the call is cancelled after the grace time,
# its sandbox removed, and the daemon exits 0.
start_daemon --grace-ms 500 || exit 1
"$ISOL8" run -r bash -e 'sleep 29' >/dev/null 2>inflight.err &
client=$!
wait_running "the call is in flight before the daemon stops" "sleep 29"
stop_daemon
expect_eq "daemon with a call in flight exits 0 on SIGTERM" 0 $?
wait $client
expect_eq "the in-flight call fails with isol8's error status" 1 $?
expect_contains "the in-flight call says the daemon stopped and where its log is" \
	"[ERR] isol8d stopped during the call" "$(cat inflight.err)"
expect_contains "the in-flight call names the daemon's log" "its log: $TEST_DIR/isol8d.log" "$(cat inflight.err)"
expect_eq "no container left after shutdown with a call in flight" "" "$(owned_containers "$ISOL8_SOCKET")"

# A daemon killed outright leaves its sandboxes and their run directories;
# the next daemon on the socket removes both (and prewarms its own).
start_daemon || exit 1
"$ISOL8" run -r bash -e 'sleep 31' >/dev/null 2>&1 &
client=$!
wait_running "the execution runs before its daemon is killed" "sleep 31"
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
wait $client
dead=$(owned_containers "$ISOL8_SOCKET" | sort)
dead_dirs=$(ls "$TEST_DIR/sandboxes" 2>&1)
check "a killed daemon leaves its containers behind" test -n "$dead"
check "a killed daemon leaves run directories behind" test -n "$dead_dirs"
start_daemon || exit 1
for _ in $(seq 1 50); do
	left=$(comm -12 <(echo "$dead") <(all_containers))
	[ -z "$left" ] && break
	sleep 0.2
done
expect_eq "the next daemon removes the dead one's containers" "" "$left"
stale=$(for d in $dead_dirs; do [ -e "$TEST_DIR/sandboxes/$d" ] && echo "$d"; done)
expect_eq "the next daemon removes the dead one's run directories" "" "$stale"
stop_daemon

# Past --max-concurrent calls wait for a slot; past 4 x that many waiting they are refused.
start_daemon --max-concurrent 1 || exit 1
clients=()
for i in 1 2 3 4 5 6 7; do
	"$ISOL8" run -r bash -e 'sleep 2; echo done' >queue.$i.out 2>&1 &
	clients+=($!)
done
wait "${clients[@]}"
expect_eq "one runs, four wait their turn, two are refused" "5 2" \
	"$(cat queue.*.out | grep -c '^done$') $(cat queue.*.out | grep -c 'too many executions at once')"
stop_daemon

# Missing images: FAILED_PRECONDITION telling to run setup.
start_daemon --image-prefix isol8-absent || exit 1
err=$("$ISOL8" run -e 'print(1)' -r python 2>&1)
expect_eq "missing image exits 1" 1 $?
expect_contains "missing image says to run setup" "isol8 setup" "$err"
stop_daemon

# Docker unreachable: UNAVAILABLE naming the socket.
start_daemon --docker-socket "$TEST_DIR/no-docker.sock" || exit 1
err=$("$ISOL8" run -e 'print(1)' -r python 2>&1)
expect_eq "Docker unreachable exits 1" 1 $?
expect_contains "Docker unreachable names the socket" "$TEST_DIR/no-docker.sock" "$err"
stop_daemon

# Setup: images built by the suite's set-up are up to date, and say so.
start_daemon || exit 1
out=$("$ISOL8" setup python bash 2>&1)
expect_eq "setup of up-to-date images exits 0" 0 $?
expect_contains "setup reports isol8:python up to date" "isol8:python" "$out"
expect_contains "setup says Up to date, as the original" "[OK] isol8:python: Up to date" "$out"
expect_contains "setup ends with the original's last line" "[DONE] Setup complete!" "$(echo "$out" | tail -n 1)"
err=$("$ISOL8" setup cobol 2>&1)
expect_eq "setup of an unknown runtime exits 1" 1 $?
expect_contains "setup names the unknown runtime" "cobol" "$err"
stop_daemon

# TCP with an API key.
port=$(( 20000 + RANDOM % 20000 ))
err=$("$ISOL8D" --socket "$TEST_DIR/other.sock" --listen 127.0.0.1:$port 2>&1)
expect_contains "TCP without a key is refused" "API key" "$err"
start_daemon --listen 127.0.0.1:$port --key test-key || exit 1
expect_eq "remote run with the key" "remote" "$("$ISOL8" run -e 'print("remote")' -r python --host 127.0.0.1:$port --key test-key)"
expect_eq "remote exit code" "3" "$("$ISOL8" run -e 'exit 3' -r bash --host http://127.0.0.1:$port --key test-key; echo $?)"
err=$("$ISOL8" run -e 'print(1)' -r python --host 127.0.0.1:$port --key wrong 2>&1)
expect_eq "wrong key exits 1" 1 $?
expect_contains "wrong key is UNAUTHENTICATED" "API key" "$err"
err=$(ISOL8_API_KEY= "$ISOL8" run -e 'print(1)' -r python --host 127.0.0.1:$port 2>&1)
expect_contains "missing key is UNAUTHENTICATED" "API key" "$err"

finish
