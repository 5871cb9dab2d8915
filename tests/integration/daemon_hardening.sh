# The daemon against hostile requests and a hostile host: strings with NUL
# bytes or invalid UTF-8, log forging, what --socket may replace, two
# daemons on one TCP port, plaintext TCP off loopback, and the daemon's own
# environment and API key kept out of the sandbox.
. "$(dirname "$0")/lib.sh"

KEY=hardening-key-4f1c9a
CANARY=daemon-canary-77e2b0
port=$(( 20000 + RANDOM % 20000 ))
open_port=$(( port + 1 ))

# ---- --socket: what it may replace, its directory and mode
touch_file="$TEST_DIR/precious.txt"
echo "keep me" >"$touch_file"
err=$("$ISOL8D" --socket "$touch_file" --prewarm 0 2>&1)
expect_eq "a regular file as --socket: isol8d exits 1" 1 $?
expect_contains "the refusal names the path" "\"$touch_file\" exists and is not a socket" "$err"
expect_eq "the regular file is kept" "keep me" "$(cat "$touch_file")"

mkdir -m 0700 "$TEST_DIR/open" && chmod 0770 "$TEST_DIR/open"
err=$("$ISOL8D" --socket "$TEST_DIR/open/isol8.sock" --prewarm 0 2>&1)
expect_eq "a group-writable socket directory: isol8d exits 1" 1 $?
expect_contains "the refusal names the directory" "socket directory \"$TEST_DIR/open\" must be owned by uid" "$err"
expect_eq "nothing was made in it" "" "$(ls -A "$TEST_DIR/open")"

# The daemon of the rest: its socket in a directory it creates, over the
# stale socket file of a dead server; its environment has a canary and the
# key; it logs JSON; TCP on loopback and on every address.
export ISOL8_SOCKET="$TEST_DIR/run/isol8.sock"
mkdir -m 0700 "$TEST_DIR/run"
/usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$ISOL8_SOCKET"
check "a stale socket file is there" test -S "$ISOL8_SOCKET"
ISOL8_CANARY=$CANARY ISOL8_API_KEY=$KEY start_daemon --log-json --listen 127.0.0.1:$port \
	--listen 0.0.0.0:$open_port || exit 1
expect_eq "the daemon replaced the stale socket and answers" "up" "$("$ISOL8" run -r bash -e 'echo up')"
expect_eq "the socket is 0600" "600" "$(stat -c %a "$ISOL8_SOCKET")"
expect_eq "no private bind directory is left beside it" "" "$(ls -A "$TEST_DIR/run" | grep '^\.isol8-')"

# --listen is TCP only: an abstract or unix socket there would be served as
# local (no key, trusted) to every local user.
err=$("$ISOL8D" --socket "$TEST_DIR/abs.sock" --listen unix-abstract:isol8-test --key k 2>&1)
expect_eq "--listen unix-abstract: isol8d exits 2, as for any bad flag" 2 $?
expect_contains "the refusal names it" '--listen: "unix-abstract:isol8-test" is not HOST:PORT' "$err"

# Proxied connections take two descriptors each: a soft open-files limit
# below the hard one is raised at start.
prlimit --nofile=1024:8192 "$ISOL8D" --socket "$TEST_DIR/files.sock" --prewarm 0 --idle-exit 5 \
	>"$TEST_DIR/files.log" 2>&1 &
files_pid=$!
limit=
for _ in $(seq 1 100); do
	limit=$(awk '/^Max open files/ {print $4}' /proc/$files_pid/limits 2>/dev/null)
	[ "$limit" = 8192 ] && break
	sleep 0.1
done
kill -TERM $files_pid 2>/dev/null; wait $files_pid
expect_eq "isol8d raises its soft open-files limit to the hard one" 8192 "$limit"

# A relative --socket is made absolute: it is the daemon's identity.
mkdir -p "$TEST_DIR/rel"
log=$(cd "$TEST_DIR/rel" && "$ISOL8D" --socket rel.sock --prewarm 0 --idle-exit 1 2>&1)
expect_contains "a relative --socket serves on its absolute path" "serving on unix:$TEST_DIR/rel/rel.sock" "$log"
rm -rf "$TEST_DIR/made"
err=$("$ISOL8D" --socket "$TEST_DIR/made/isol8.sock" --prewarm 0 --idle-exit 1 2>&1)
expect_eq "a daemon in a directory it made exits 0 when idle" 0 $?
expect_eq "the directory it made is 0700" "700" "$(stat -c %a "$TEST_DIR/made")"

# ---- plaintext TCP: a warning off loopback only
log=$(cat "$TEST_DIR/isol8d.log")
expect_contains "plaintext TCP on 0.0.0.0 warns" "\"level\":\"warn\",\"program\":\"isol8d\",\"msg\":\"listening on 0.0.0.0:$open_port without TLS: the API key and all code travel in clear; use --tls-cert and --tls-key\"" "$log"
case "$log" in
*"127.0.0.1:$port without TLS"*) fail "plaintext TCP on loopback does not warn" ;;
*) pass "plaintext TCP on loopback does not warn" ;;
esac

# ---- two daemons on one TCP port
start=$(date +%s)
# bounded: were the port free, this daemon would serve until killed
err=$(timeout 30 "$ISOL8D" --socket "$TEST_DIR/second/isol8.sock" --listen 127.0.0.1:$port --key other --prewarm 0 2>&1)
expect_eq "a second daemon on the same port exits 1" 1 $?
expect_contains "it names the port" "--listen: cannot listen on 127.0.0.1:$port: address already in use" "$err"
check "it gives up at once" test $(( $(date +%s) - start )) -lt 20
for i in 1 2 3 4 5; do
	out=$("$ISOL8" run -r bash -e 'echo remote' --host 127.0.0.1:$port --key $KEY 2>&1) || break
done
expect_eq "the first daemon still answers every remote call with its key" "remote" "$out"

# ---- strings with NUL bytes or invalid UTF-8, and log forging, sent as raw wire bytes
results=$(/usr/bin/python3 - "$ISOL8_SOCKET" <<'EOF'
import grpc, sys

def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])

def ld(field, data):
    return varint(field << 3 | 2) + varint(len(data)) + data

def entry(key, value):
    return ld(1, key) + ld(2, value)

cases = [
    ("valid", ld(1, b"echo ok") + ld(2, b"bash")),
    ("nul code", ld(1, b"echo a\0echo b") + ld(2, b"bash")),
    ("utf8 code", ld(1, b"echo \xff") + ld(2, b"bash")),
    ("nul env", ld(1, b"echo $X") + ld(2, b"bash") + ld(4, entry(b"X", b"a\0b"))),
    ("utf8 env", ld(1, b"echo $X") + ld(2, b"bash") + ld(4, entry(b"X", b"a\xc0\x80"))),
    ("nul secret", ld(1, b"echo") + ld(2, b"bash") + ld(11, ld(8, entry(b"TOKEN", b"s3\0cret")))),
    ("truncated", ld(1, b"echo") + b"\x12\x09bash"),
    ("forged env", ld(1, b"echo") + ld(2, b"bash") + ld(4, entry(b"X\nFORGED error isol8d: pwned", b"v"))),
    ("forged runtime", ld(1, b"echo") + ld(2, b"bash\nFORGED2 runtime=\"x\"")),
]
channel = grpc.insecure_channel("unix:" + sys.argv[1])
execute = channel.unary_unary("/isol8.v1.Isol8/Execute")
for name, body in cases:
    try:
        reply = execute(body, timeout=60)
        print("%s|OK|%s" % (name, b"ok" in reply))
    except grpc.RpcError as e:
        print("%s|%s|%s" % (name, e.code().name, e.details().replace("\n", "\\n")))
EOF
)
line() { printf '%s\n' "$results" | grep "^$1|"; }
expect_eq "a valid raw request runs" "valid|OK|True" "$(line valid)"
expect_eq "a NUL in code is refused naming code" "nul code|INVALID_ARGUMENT|code: contains a NUL byte at offset 6" "$(line "nul code")"
expect_eq "invalid UTF-8 in code is refused" "utf8 code|INVALID_ARGUMENT|code: is not valid UTF-8 at offset 5" "$(line "utf8 code")"
expect_eq "a NUL in an env value names env and the key" \
	'nul env|INVALID_ARGUMENT|env: the value of "X" contains a NUL byte at offset 1' "$(line "nul env")"
expect_eq "invalid UTF-8 in an env value names env and the key" \
	'utf8 env|INVALID_ARGUMENT|env: the value of "X" is not valid UTF-8 at offset 1' "$(line "utf8 env")"
expect_eq "a NUL in a secret names options.secrets" \
	'nul secret|INVALID_ARGUMENT|options.secrets: the value of "TOKEN" contains a NUL byte at offset 2' "$(line "nul secret")"
expect_contains "a length past the end is INVALID_ARGUMENT" "truncated|INVALID_ARGUMENT|request: a length runs past the end" "$(line truncated)"
expect_contains "a bad env name is INVALID_ARGUMENT" "forged env|INVALID_ARGUMENT|env:" "$(line "forged env")"
expect_contains "a bad runtime is INVALID_ARGUMENT" "forged runtime|INVALID_ARGUMENT|" "$(line "forged runtime")"
expect_eq "the daemon still runs code" "still" "$("$ISOL8" run -r bash -e 'echo still')"

# Every log line is one JSON record; the forged text stays inside a msg.
verdict=$(/usr/bin/python3 - "$TEST_DIR/isol8d.log" <<'EOF'
import json, sys
records, bad, forged_inside = 0, 0, 0
for raw in open(sys.argv[1], "rb").read().split(b"\n"):
    if not raw:
        continue
    try:
        rec = json.loads(raw)
    except ValueError:
        if raw.startswith(b"E") or raw.startswith(b"W") or raw.startswith(b"I"):
            continue  # gRPC's own lines (E1201 ...), not ours
        bad += 1
        continue
    records += 1
    if "FORGED" in rec["msg"] and not rec["msg"].startswith("FORGED"):
        forged_inside += 1
    if rec["msg"].startswith("FORGED"):
        bad += 1
print("records=%s bad=%d forged_inside=%s" % (records > 3, bad, forged_inside >= 2))
EOF
)
expect_eq "log lines are JSON and no record is forged" "records=True bad=0 forged_inside=True" "$verdict"
check "the forged env name is logged escaped" grep -q 'X\\\\nFORGED error isol8d: pwned' "$TEST_DIR/isol8d.log"

# ---- the daemon's environment and key never reach the sandbox
env_out=$("$ISOL8" run -r bash -e 'env; cat /proc/1/environ 2>/dev/null | tr "\0" "\n"')
expect_contains "the sandbox has its own environment" "HOME=/sandbox" "$env_out"
case "$env_out" in
*"$CANARY"* | *"$KEY"*) fail "neither the daemon's environment nor its key is in the sandbox" "$env_out" ;;
*) pass "neither the daemon's environment nor its key is in the sandbox" ;;
esac
ids=$(owned_containers "$ISOL8_SOCKET")
inspect=$(docker inspect $ids 2>&1)
expect_contains "docker inspect shows the sandboxes' labels" "\"isol8.owner\": \"$ISOL8_SOCKET\"" "$inspect"
case "$inspect" in
*"$CANARY"* | *"$KEY"*) fail "no container's env or labels hold the daemon's environment or key" ;;
*) pass "no container's env or labels hold the daemon's environment or key" ;;
esac

finish
