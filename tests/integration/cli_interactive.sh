#!/usr/bin/env bash
# `isol8 run -i`, `isol8 run -t` and `isol8 shell` end to end: piped stdin
# answered line by line, Ctrl-C as SIGINT (twice: SIGKILL), a terminal (from
# script(1)) in raw mode and restored, its size, and the shell verb.
. "$(dirname "$0")/lib.sh"
cd "$TEST_DIR"
start_daemon --prewarm 1 || exit 1

UPPER='while True:
    try:
        print(input().upper())
    except EOFError:
        break'

# ---------------------------------------------------------------- -i with piped stdin
out=$(printf 'a\nb\n' | "$ISOL8" run -i -r python -e "$UPPER")
expect_eq "run -i: exits 0 at the end of stdin" 0 $?
expect_eq "run -i: each line answered" $'A\nB' "$out"
out=$(printf 'x' | "$ISOL8" run -i -r bash -e 'cat; echo; echo done')
expect_eq "run -i: a last line without newline, then EOF" $'x\ndone' "$out"
out=$(printf '' | "$ISOL8" run -i -r bash -e 'echo out; exit 7' 2>/dev/null)
expect_eq "run -i: the exit status is the program's" 7 $?
err=$(echo 'print(1)' | "$ISOL8" run -i 2>&1)
expect_eq "run -i without code exits 1" 1 $?
expect_contains "run -i without code says why" "[ERR] --interactive: stdin is the program's input" "$err"
err=$("$ISOL8" run -t -e 'print(1)' </dev/null 2>&1)
expect_eq "run -t without a terminal exits 1" 1 $?
expect_eq "run -t without a terminal says so" "[ERR] --tty: stdin is not a terminal (use -i alone for piped input)" "$err"

# ---------------------------------------------------------------- Ctrl-C
# The CLI's stdin stays open (a fifo held by this shell) while it is signalled.
mkfifo in.fifo
exec 7<>in.fifo
"$ISOL8" run -i -r python -e 'import time
print("ready", flush=True)
while True:
    time.sleep(0.05)' <in.fifo >int.out 2>&1 &
cli=$!
for _ in $(seq 1 200); do grep -q ready int.out 2>/dev/null && break; sleep 0.05; done
kill -INT "$cli"
wait "$cli"
expect_eq "Ctrl-C: Python's exit status after KeyboardInterrupt" 130 $?
expect_contains "Ctrl-C: the program got KeyboardInterrupt" "KeyboardInterrupt" "$(cat int.out)"

"$ISOL8" run -i -r python -e 'import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
print("ready", flush=True)
while True:
    time.sleep(0.05)' <in.fifo >kill.out 2>&1 &
cli=$!
for _ in $(seq 1 200); do grep -q ready kill.out 2>/dev/null && break; sleep 0.05; done
kill -INT "$cli"; sleep 0.3; kill -INT "$cli"
wait "$cli"
expect_eq "a second Ctrl-C within a second kills (137)" 137 $?
exec 7>&-

# ---------------------------------------------------------------- -t on a terminal
# script(1) gives the CLI a terminal; stty -g before and after shows it restored.
script -qec "stty rows 33 cols 111; stty -g >before; $ISOL8 run -t -r bash -e 'tty; stty size; exit 4'; echo cli=\$?; stty -g >after" /dev/null >tty.out </dev/null
expect_contains "run -t: the program's stdin is a /dev/pts terminal" "/dev/pts/" "$(cat tty.out)"
expect_contains "run -t: the window size is this terminal's" "33 111" "$(cat tty.out)"
expect_contains "run -t: the exit status is the program's" "cli=4" "$(cat tty.out)"
expect_eq "run -t: the terminal's mode is restored" "$(cat before)" "$(cat after)"

# input typed on the terminal reaches the program, raw (no local echo or line editing)
printf 'typed-line\r' | script -qec "$ISOL8 run -t -r bash -e 'read x; echo \"got:\$x\"'" /dev/null >typed.out
expect_contains "run -t: typed input reaches the program" "got:typed-line" "$(cat typed.out)"

# ---------------------------------------------------------------- isol8 shell
printf 'echo hi-$((40+2))\rexit 5\r' | script -qec "$ISOL8 shell; echo cli=\$?" /dev/null >shell.out
expect_contains "shell: an interactive bash runs the typed commands" "hi-42" "$(cat shell.out)"
expect_contains "shell: its exit status is the shell's" "cli=5" "$(cat shell.out)"
help=$("$ISOL8" shell --help)
expect_eq "shell --help exits 0" 0 $?
expect_contains "shell --help says its usage" "Usage: isol8 shell [--session NAME]" "$help"
expect_contains "isol8 help lists shell" "  shell " "$("$ISOL8" help)"
err=$("$ISOL8" shell -e 1 2>&1)
expect_eq "shell with a run-only flag exits 1" 1 $?
expect_contains "shell names the flag" '[ERR] unknown flag "-e" for isol8 shell' "$err"
# In a session: what the shell leaves in the sandbox is there for the next call.
printf 'echo kept-by-shell >/sandbox/mark\rexit 0\r' | script -qec "$ISOL8 shell --session s1; echo cli=\$?" /dev/null >session.out
expect_contains "shell --session: exits as its shell" "cli=0" "$(cat session.out)"
expect_eq "shell --session: the session keeps what the shell wrote" "kept-by-shell" \
	"$("$ISOL8" run --session s1 -r bash -e 'cat /sandbox/mark')"
"$ISOL8" session rm s1 >/dev/null
expect_eq "the session is removed" 0 $?
# A Python session's shell runs in that session, without --runtime.
"$ISOL8" run --session py1 -r python -e 'open("/sandbox/from-python", "w").write("made-by-%d" % (6 * 7))' >/dev/null
printf 'cat /sandbox/from-python; echo\rexit 0\r' | script -qec "$ISOL8 shell --session py1; echo cli=\$?" /dev/null >pyshell.out
expect_contains "shell --session of a python session: exits 0" "cli=0" "$(cat pyshell.out)"
expect_contains "shell --session of a python session: sees its files" "made-by-42" "$(cat pyshell.out)"
"$ISOL8" session rm py1 >/dev/null

finish
