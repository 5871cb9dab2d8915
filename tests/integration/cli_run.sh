#!/usr/bin/env bash
# `isol8 run` end to end: the CLI, a private isol8d, Docker, the agent, the
# five runtimes, and the sandbox's security settings as the program sees them.
. "$(dirname "$0")/lib.sh"
start_daemon || exit 1
cd "$TEST_DIR"

# Hello world in each runtime, the runtime picked from the file's extension.
printf 'print("hello from python")\n' >hello.py
printf 'console.log("hello from node")\n' >hello.mjs
printf 'console.log("hello from " + typeof require)\n' >hello.cjs
printf 'const who: string = "bun"; console.log(`hello from ${who}`)\n' >hello.ts
printf 'echo "hello from bash"\n' >hello.sh
expect_eq "python file" "hello from python" "$("$ISOL8" run hello.py)"
expect_eq "node .mjs file" "hello from node" "$("$ISOL8" run hello.mjs)"
expect_eq "node .cjs runs as CommonJS" "hello from function" "$("$ISOL8" run hello.cjs)"
expect_eq "bun .ts file" "hello from bun" "$("$ISOL8" run hello.ts)"
printf 'const who: string = "deno"; console.log(`hello from ${who}`)\n' >hello.ts
expect_eq "deno .ts file with --runtime deno" "hello from deno" "$("$ISOL8" run hello.ts --runtime deno)"
expect_eq "bash file" "hello from bash" "$("$ISOL8" run hello.sh)"
expect_eq "-e with --runtime python" "2" "$("$ISOL8" run -e "print(1+1)" --runtime python)"
expect_eq "node code on stdin" "42" "$(echo "console.log(42)" | "$ISOL8" run --runtime node)"
expect_eq "bun -e" "3" "$("$ISOL8" run -e "console.log(1+2)" -r bun)"
expect_eq "deno -e" "deno" "$("$ISOL8" run -e "console.log(typeof Deno === 'object' ? 'deno' : 'no')" -r deno)"

# Exit status, streams, stdin.
"$ISOL8" run -e "import sys; sys.exit(42)" --runtime python
expect_eq "exit code propagates" 42 $?
out=$("$ISOL8" run -e "import sys; print('to out'); print('to err', file=sys.stderr)" -r python 2>"$TEST_DIR/err")
expect_eq "stdout alone on stdout" "to out" "$out"
expect_eq "stderr alone on stderr" "to err" "$(cat "$TEST_DIR/err")"
out=$("$ISOL8" run --no-stream -e "import sys; print('to out'); print('to err', file=sys.stderr)" -r python 2>"$TEST_DIR/err")
expect_eq "--no-stream stdout" "to out" "$out"
expect_eq "--no-stream stderr" "to err" "$(cat "$TEST_DIR/err")"
expect_eq "--stdin reaches the program" "HELLO" "$("$ISOL8" run -e "print(input().upper())" -r python --stdin hello)"

# Streaming: the first line arrives while the program still runs.
"$ISOL8" run -r python -e 'import time; print("first", flush=True); time.sleep(6); print("second")' >stream.out &
streamer=$!
sleep 3
expect_eq "output streams while the program runs" "first" "$(cat stream.out)"
wait $streamer
expect_eq "streamed run completes" $'first\nsecond' "$(cat stream.out)"

# Output cap: cut at --max-output, said on stderr, the program's own exit status kept.
out=$("$ISOL8" run -r python --max-output 100 -e 'print("x" * 5000); exit(7)' 2>"$TEST_DIR/err")
expect_eq "output past --max-output is cut and the exit status kept" "100 7" "${#out} $?"
expect_contains "truncation is said on stderr" "truncated" "$(cat "$TEST_DIR/err")"

# Timeout: a busy loop is killed.
start=$(date +%s%N)
"$ISOL8" run -e "while True: pass" -r python --timeout 1000 2>"$TEST_DIR/err"
status=$?
elapsed=$((($(date +%s%N) - start) / 1000000))
expect_eq "timed-out run exits 137, as the original" 137 "$status"
expect_contains "timed-out run says so" "EXECUTION TIMED OUT" "$(cat "$TEST_DIR/err")"
check "timeout kills within 5 s (took ${elapsed} ms)" test "$elapsed" -lt 5000

# The sandbox as the program sees it.
status_lines=$("$ISOL8" run -r bash -e 'id -u; id -g; grep -E "^(NoNewPrivs|CapEff|CapPrm):" /proc/self/status')
expect_contains "runs as uid 1000" $'1000\n1000' "$status_lines"
expect_contains "no new privileges" "NoNewPrivs:	1" "$status_lines"
expect_contains "no effective capabilities" "CapEff:	0000000000000000" "$status_lines"
"$ISOL8" run -r bash -e 'echo x > /etc/x' 2>"$TEST_DIR/err"
check "writing /etc/x fails" test $? -ne 0
expect_contains "writing /etc/x says why" "/etc/x" "$(cat "$TEST_DIR/err")"
expect_eq "/sandbox is writable" "ok" "$("$ISOL8" run -r bash -e 'echo ok > /sandbox/f && cat /sandbox/f')"
expect_eq "/tmp is noexec (the copy works, running it is refused)" "copied 126" \
	"$("$ISOL8" run -r bash -e 'cp /bin/true /tmp/t && echo -n "copied "; /tmp/t 2>/dev/null; echo $?')"
expect_eq "only the loopback interface" "lo" "$("$ISOL8" run -r bash -e 'ls /sys/class/net')"
expect_eq "empty routing table (the header alone)" "1 Iface" "$("$ISOL8" run -r python -e 'lines = open("/proc/net/route").read().splitlines(); print(len(lines), lines[0].split()[0])')"
expect_eq "pids limit is 64" "64" "$("$ISOL8" run -r bash -e 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max')"
expect_eq "memory limit is 512m" "536870912" "$("$ISOL8" run -r bash -e 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max')"
expect_eq "--memory 256m applies" "268435456" "$("$ISOL8" run --memory 256m -r bash -e 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max')"
expect_eq "--pids-limit 32 applies" "32" "$("$ISOL8" run --pids-limit 32 -r bash -e 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max')"
expect_eq "cpu limit is one core" "100000 100000" "$("$ISOL8" run -r bash -e 'cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)')"
expect_eq "--cpu 0.5 applies" "50000 100000" "$("$ISOL8" run --cpu 0.5 -r bash -e 'cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)')"
"$ISOL8" run -r python -e 'import ctypes; libc = ctypes.CDLL(None, use_errno=True); print(libc.unshare(0x10000000), ctypes.get_errno())' >"$TEST_DIR/out" 2>&1
expect_eq "seccomp refuses unshare with EPERM" "-1 1" "$(cat "$TEST_DIR/out")"
expect_eq "secrets are masked" "token=***" "$("$ISOL8" run -r bash --secret API_TOKEN=s3cr3t-value -e 'echo "token=$API_TOKEN"')"

# Any image works: the agent is mounted, not baked in.
expect_eq "--image runs in another image" "1000 /sandbox" "$("$ISOL8" run --image isol8:base -r bash -e 'echo $(id -u) $(pwd)')"
err=$("$ISOL8" run --image isol8-none:absent -r bash -e 'id' 2>&1)
expect_eq "a missing --image exits 1" 1 $?
expect_contains "a missing --image is named" "isol8-none:absent" "$err"

# Bad input: clear errors, exit 1 (as the original).
err=$("$ISOL8" run -e "x" --runtime ruby 2>&1)
expect_eq "unknown runtime exits 1" 1 $?
expect_contains "unknown runtime lists the valid ones" "python, node, bun, deno, bash" "$err"
err=$("$ISOL8" run -e "" --runtime python 2>&1)
expect_eq "empty code exits 1" 1 $?
expect_contains "empty code says so" "code" "$err"
err=$("$ISOL8" run missing.py 2>&1)
expect_eq "missing file exits 1" 1 $?
expect_contains "missing file is named" "File not found: missing.py" "$err"
head -c 5000000 /dev/zero | tr '\0' '#' >big.py
err=$("$ISOL8" run big.py 2>&1)
expect_eq "too much code exits 1" 1 $?
expect_contains "too much code says what and how much" "code, files and stdin: 5000000 bytes" "$err"
printf 'echo hi\n' >noext
err=$("$ISOL8" run noext 2>&1)
expect_eq "no extension and no runtime exits 1" 1 $?
expect_contains "no extension says how to choose" "--runtime" "$err"
err=$("$ISOL8" run -e "print(1)" -r python --host 127.0.0.1:1 2>&1)
expect_eq "unreachable --host exits 1" 1 $?
expect_contains "unreachable --host names the address" "127.0.0.1:1" "$err"

finish
