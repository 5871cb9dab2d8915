#!/usr/bin/env bash
# libisol8 end to end: the README's example built in the tree and against an
# installed copy (header, pkg-config file, shared and static library), then
# lib_client.c's checks, all against a private isol8d and the real Docker.
# Needs ISOL8_BUILD_DIR (the build tree to install), EMBED and LIB_CLIENT
# (the built programs) besides lib.sh's ISOL8 and ISOL8D.
. "$(dirname "$0")/lib.sh"
for var in EMBED LIB_CLIENT; do
	[ -x "${!var:-}" ] || { echo "$var must name a built program (got \"${!var:-}\")"; exit 2; }
done
[ -d "${ISOL8_BUILD_DIR:-}" ] || { echo "ISOL8_BUILD_DIR must name the build tree"; exit 2; }
start_daemon || exit 1
SRC=${ISOL8_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PREFIX="$TEST_DIR/prefix"
# A sanitizer build's library needs its programs built with the sanitizers too.
CFLAGS_EXTRA=()
if grep -q '^ISOL8_SANITIZE:BOOL=ON' "$ISOL8_BUILD_DIR/CMakeCache.txt"; then
	CFLAGS_EXTRA=(-fsanitize=address,undefined)
fi

# The example as built here, on libisol8.so.
expect_eq "examples/embed prints hello" "hello from the sandbox" "$("$EMBED" 2>&1)"
expect_contains "examples/embed loads libisol8.so.0" "libisol8.so.0" "$(ldd "$EMBED")"

# The installed library, as a user outside this tree gets it.
if cmake --install "$ISOL8_BUILD_DIR" --prefix "$PREFIX" >"$TEST_DIR/install.log" 2>&1; then
	pass "cmake --install"
else
	fail "cmake --install" "$(tail -5 "$TEST_DIR/install.log")"
fi
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
check "the installed .pc is found" pkg-config --exists isol8
expect_eq "its version is the project's" "$("$ISOL8" --version 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)" \
	"$(pkg-config --modversion isol8)"
expect_eq "the installed headers include nothing of gRPC or protobuf" "" \
	"$(grep -lE '#include [<"](grpc|protobuf-c|rpc/)' "$PREFIX"/include/isol8/*.h)"
expect_eq "libisol8.so exports only isol8_* symbols" "" \
	"$(nm -D --defined-only "$PREFIX/lib/libisol8.so" | awk '{print $3}' | grep -v '^isol8_')"
expect_eq "its SONAME" "libisol8.so.0" \
	"$(readelf -d "$PREFIX/lib/libisol8.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')"
# shellcheck disable=SC2046 # pkg-config's words are separate arguments
if cc "${CFLAGS_EXTRA[@]}" -Wall -Werror "$SRC/examples/embed.c" $(pkg-config --cflags --libs isol8) -o "$TEST_DIR/embed" \
	2>"$TEST_DIR/cc.log"; then
	pass "embed.c compiles against the installed copy"
	expect_eq "and prints hello with its .so" "hello from the sandbox" \
		"$(LD_LIBRARY_PATH="$PREFIX/lib" "$TEST_DIR/embed" 2>&1)"
	expect_contains "that .so is the installed one" "$PREFIX/lib/libisol8.so.0" \
		"$(LD_LIBRARY_PATH="$PREFIX/lib" ldd "$TEST_DIR/embed")"
else
	fail "embed.c compiles against the installed copy" "$(cat "$TEST_DIR/cc.log")"
fi
# The static archive with pkg-config's private dependencies.
# shellcheck disable=SC2046
if cc "${CFLAGS_EXTRA[@]}" "$SRC/examples/embed.c" $(pkg-config --cflags isol8) "$PREFIX/lib/libisol8.a" \
	$(pkg-config --static --libs isol8 | sed 's/-lisol8//') -o "$TEST_DIR/embed-static" 2>"$TEST_DIR/cc.log"; then
	pass "embed.c links libisol8.a"
	expect_eq "and prints hello without libisol8.so" "hello from the sandbox" "$("$TEST_DIR/embed-static" 2>&1)"
	expect_eq "it needs no libisol8.so" "" "$(ldd "$TEST_DIR/embed-static" | grep libisol8)"
else
	fail "embed.c links libisol8.a" "$(cat "$TEST_DIR/cc.log")"
fi

# Streams, sessions, files, cancel, ... through the library.
out=$("$LIB_CLIENT" 2>&1)
status=$?
echo "$out"
expect_eq "lib_client: every check passed" 0 "$status"
expect_eq "lib_client: no check failed" "" "$(grep '^FAIL' <<<"$out")"
expect_eq "lib_client ran its 11 checks" 11 "$(grep -c '^ok - ' <<<"$out")"
# The cancelled program is gone (within the daemon's ~20 ms; allow 5 s).
gone=
for _ in $(seq 1 50); do
	pgrep -f "sleep 30.4242" >/dev/null || { gone=yes; break; }
	sleep 0.1
done
check "the cancelled program was killed" test -n "$gone"

# A daemon that is not there: the example says where it looked.
stop_daemon
out=$(ISOL8_SOCKET="$TEST_DIR/none.sock" "$EMBED" 2>&1)
expect_eq "without a daemon embed fails" 1 "$?"
expect_eq "and names the socket" "isol8: cannot reach isol8d at unix:$TEST_DIR/none.sock within 5000 ms" "$out"
finish
