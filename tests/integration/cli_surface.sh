#!/usr/bin/env bash
# The CLI as the original's users and scripts know it: help, version, exit
# statuses, messages, the newer run flags, --out while streaming, and
# `isol8 cleanup` without a daemon (through Docker directly).
. "$(dirname "$0")/lib.sh"
cd "$TEST_DIR"

# ---------------------------------------------------------------- help and version
out=$("$ISOL8" --version)
expect_eq "--version exits 0" 0 $?
check "--version prints the bare semver ($out)" bash -c "[[ '$out' =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]"
for args in "" "--help"; do
	out=$("$ISOL8" $args 2>&1)
	expect_eq "isol8 ${args:-(alone)} exits 0" 0 $?
	expect_contains "isol8 ${args:-(alone)} says Usage:" "Usage:" "$out"
	expect_contains "isol8 ${args:-(alone)} says Commands:" "Commands:" "$out"
	for verb in run setup cleanup info version help; do
		expect_contains "isol8 ${args:-(alone)} lists $verb" "  $verb " "$out"
	done
done
help=$("$ISOL8" run --help)
expect_eq "run --help exits 0" 0 $?
for flag in -e --eval -r --runtime --net --allow --deny --out --no-stream --persistent --persist \
	--debug --timeout --memory --cpu --image --pids-limit --writable --max-output --secret \
	--sandbox-size --tmp-size --stdin --install --url --github --gist --hash \
	--allow-insecure-code-url --host --key --cmd --setup --workdir --session-id --log-network \
	--files --env; do
	expect_contains "run --help lists $flag" " $flag" "$help"
done

# ---------------------------------------------------------------- isol8's own errors exit 1
err=$("$ISOL8" run missing.py 2>&1 >/dev/null)
expect_eq "a missing file exits 1" 1 $?
expect_eq "a missing file says File not found" "[ERR] File not found: missing.py" "$err"
err=$("$ISOL8" run -e 1 --bogus 2>&1)
expect_eq "an unknown flag exits 1" 1 $?
expect_contains "an unknown flag is named" '[ERR] unknown flag "--bogus"' "$err"
while read -r flag value want; do
	err=$("$ISOL8" run -e 1 "$flag" "$value" 2>&1)
	expect_eq "$flag $value exits 1" 1 $?
	expect_contains "$flag $value says the accepted form" "$want" "$err"
done <<'EOF'
--memory lots e.g. 256m, 1g
--cpu fast e.g. 0.5, 2.0
--pids-limit 0 out of range (1 to
--timeout 10s positive number of milliseconds
--secret NOVALUE KEY=VALUE
--env 1X=y is not a variable name
--sandbox-size 1t e.g. 256m, 1g
EOF
err=$("$ISOL8" run --cmd 'ls' -e 1 2>&1)
expect_eq "--cmd with -e exits 1" 1 $?
expect_contains "--cmd with -e says why" "--cmd cannot be combined" "$err"
err=$("$ISOL8" run -e 1 --files missing-dir 2>&1)
expect_eq "--files of a missing directory exits 1" 1 $?
expect_contains "--files names it" "--files path is not a directory: missing-dir" "$err"

# ---------------------------------------------------------------- cleanup without a daemon
# One orphan (its daemon is gone) and one container of a daemon that still
# answers on its socket: the orphan goes, the other stays.
python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); time.sleep(120)' \
	"$TEST_DIR/live.sock" &
listener=$!
for _ in $(seq 1 50); do [ -S "$TEST_DIR/live.sock" ] && break; sleep 0.1; done
orphan=$(docker create --label isol8.managed=true --label "isol8.owner=$TEST_DIR/gone.sock" isol8:base true)
alive=$(docker create --label isol8.managed=true --label "isol8.owner=$TEST_DIR/live.sock" isol8:base true)
check "test containers were created" test -n "$orphan" -a -n "$alive"
out=$("$ISOL8" cleanup </dev/null 2>&1)
expect_eq "cleanup without a terminal and without --force exits 1" 1 $?
expect_contains "cleanup lists what it would remove" "${orphan:0:12}" "$out"
expect_contains "cleanup without a terminal says to pass --force" "pass --force" "$out"
expect_eq "cleanup without --force removed nothing" "$orphan" \
	"$(docker ps -aq --no-trunc --filter "id=$orphan")"
out=$("$ISOL8" cleanup --force </dev/null 2>&1)
expect_eq "cleanup --force without a daemon exits 0" 0 $?
expect_contains "cleanup --force lists the orphan" "${orphan:0:12} | isol8:base" "$out"
expect_contains "cleanup --force says what it removed" "[DONE] Removed" "$out"
expect_eq "the orphan is gone" "" "$(docker ps -aq --no-trunc --filter "id=$orphan")"
expect_eq "a running daemon's container stays" "$alive" "$(docker ps -aq --no-trunc --filter "id=$alive")"
check "cleanup started no daemon" test ! -S "$ISOL8_SOCKET"
out=$("$ISOL8" cleanup --images </dev/null 2>&1)
expect_eq "cleanup --images without a terminal exits 1" 1 $?
expect_contains "cleanup --images lists isol8 images" "| isol8:base" "$out"
docker rm -f "$alive" >/dev/null
kill "$listener" 2>/dev/null; wait "$listener" 2>/dev/null

# ---------------------------------------------------------------- runs
start_daemon || exit 1
expect_eq "-e runs as python by default" "3.x" "$("$ISOL8" run -e 'import sys; print(f"{sys.version_info[0]}.x")')"
expect_eq "stdin runs as python by default" "py" "$(echo 'print("py")' | "$ISOL8" run)"
printf 'echo from-a-file\n' >f.sh
expect_eq "a file still picks by extension" "from-a-file" "$("$ISOL8" run f.sh)"
"$ISOL8" run -e 'import sys; sys.exit(9)'
expect_eq "the program's exit status passes through" 9 $?
"$ISOL8" run -e 'while True: pass' --timeout 500 2>err.txt
expect_eq "a timeout exits 137" 137 $?
expect_contains "a streamed timeout prints the stream's error as [ERR]" "[ERR] EXECUTION TIMED OUT" "$(cat err.txt)"

# --out with streaming: the file gets stdout as the terminal does.
out=$("$ISOL8" run -e 'import sys; print("a", flush=True); print("b"); print("e", file=sys.stderr)' --out o.txt 2>/dev/null)
expect_eq "--out while streaming: stdout" $'a\nb' "$out"
expect_eq "--out while streaming: the file" $'a\nb' "$(cat o.txt)"
"$ISOL8" run --no-stream -e 'print("c")' --out o2.txt >/dev/null
expect_eq "--out without streaming: the file" "c" "$(cat o2.txt)"

# The newer flags of the original.
expect_eq "--cmd runs a bash command" "hi bash" "$("$ISOL8" run --cmd 'echo hi $(basename $BASH)')"
printf 'echo from-setup-file\n' >setup.sh
out=$("$ISOL8" run --setup setup.sh --setup 'echo inline' -r bash -e 'echo code')
expect_eq "--setup takes a file or commands, run before the code" $'from-setup-file\ninline\ncode' "$out"
expect_eq "--workdir sets the working directory" "/sandbox/w" "$("$ISOL8" run --setup 'mkdir -p w' --workdir w -r bash -e pwd)"
mkdir -p tree/sub tree/.git
echo one >tree/one.txt; echo two >tree/sub/two.txt; echo skip >tree/.git/x
expect_eq "--files copies a directory into /sandbox" "one two" \
	"$("$ISOL8" run --files tree -r bash -e 'echo $(cat one.txt) $(cat sub/two.txt); test -e .git && echo has-git')"
printf '#!/bin/bash\necho tool ran\n' >tree/tool.sh; chmod 750 tree/tool.sh
expect_eq "--files keeps a file's mode: a script stays executable" "tool ran 750 644" \
	"$("$ISOL8" run --files tree --cmd 'echo $(./tool.sh) $(stat -c %a tool.sh one.txt)')"

# Messages: --persist names the kept container, --debug prints [DEBUG] lines.
err=$("$ISOL8" run --persist -e 'print(1)' 2>&1 >/dev/null)
expect_contains "--persist prints the kept container's id" "[INFO] Container kept: " "$err"
kept=$(echo "$err" | sed -n 's/.*Container kept: \([0-9a-f]*\).*/\1/p')
check "the kept container exists ($kept)" test -n "$kept" -a -n "$(docker ps -aq --filter "id=$kept")"
[ -n "$kept" ] && docker rm -f "$kept" >/dev/null
err=$("$ISOL8" run --debug -e 'print(1)' 2>&1 >/dev/null)
expect_contains "--debug prints [DEBUG] lines" "[DEBUG] connecting to unix:" "$err"
expect_contains "--debug prints the client's timings" "[DEBUG] client timings: connect" "$err"
err=$("$ISOL8" --debug run -e 'print(1)' 2>&1 >/dev/null)
expect_contains "the global --debug before the verb works too" "[DEBUG] connecting to unix:" "$err"

# --session-id: a session, or a clear error while sessions are not served.
err=$("$ISOL8" run --session-id s1 -e 'print(1)' 2>&1)
status=$?
if [ $status -ne 0 ]; then
	expect_eq "--session-id unserved exits 1" 1 $status
	expect_contains "--session-id unserved says so" "[ERR] --session-id s1" "$err"
else
	pass "--session-id runs in a session"
fi

# A refusal of the daemon names the flag to change, before the field.
err=$("$ISOL8" run -r bash -e true --pids-limit 2 2>&1)
expect_eq "a daemon's refusal exits 1" 1 $?
expect_contains "it names the flag before the field" "[ERR] --pids-limit: options.pids_limit: 2 is out of range" "$err"

finish
