/* Unit tests: agent protocol framing (server/agent/frame.c, frame_reader.c). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame/frame.h"
#include "frame/frame_reader.h"
#include "runner.h"
#include "base/util.h"

static char *test_argv[] = {"python3", "-c", "print(1)"};
static char *test_env[] = {"PATH=/usr/bin", "HOME=/sandbox"};

/* A sample Exec frame; the strings are static. */
static void sample_exec(isol8_frame *frame, Isol8__Agent__V1__Exec *exec)
{
	static const uint8_t stdin_bytes[] = {'h', 'i', 0, 0xff};

	*frame = (isol8_frame)ISOL8__AGENT__V1__FRAME__INIT;
	*exec = (Isol8__Agent__V1__Exec)ISOL8__AGENT__V1__EXEC__INIT;
	exec->n_argv = 3;
	exec->argv = test_argv;
	exec->n_env = 2;
	exec->env = test_env;
	exec->uid = 1000;
	exec->timeout_ms = 5000;
	exec->max_output_bytes = 1u << 20;
	exec->stdin.data = (uint8_t *)stdin_bytes;
	exec->stdin.len = sizeof(stdin_bytes);
	frame->body_case = ISOL8__AGENT__V1__FRAME__BODY_EXEC;
	frame->exec = exec;
}

static void check_sample(const isol8_frame *got)
{
	CU_ASSERT_EQUAL_FATAL(got->body_case, ISOL8__AGENT__V1__FRAME__BODY_EXEC);
	CU_ASSERT_EQUAL_FATAL(got->exec->n_argv, 3);
	CU_ASSERT_STRING_EQUAL(got->exec->argv[2], "print(1)");
	CU_ASSERT_EQUAL_FATAL(got->exec->n_env, 2);
	CU_ASSERT_STRING_EQUAL(got->exec->env[1], "HOME=/sandbox");
	CU_ASSERT_EQUAL(got->exec->uid, 1000);
	CU_ASSERT_EQUAL(got->exec->timeout_ms, 5000);
	CU_ASSERT_EQUAL(got->exec->max_output_bytes, 1u << 20);
	CU_ASSERT_EQUAL_FATAL(got->exec->stdin.len, 4);
	CU_ASSERT_EQUAL(memcmp(got->exec->stdin.data, "hi\0\xff", 4), 0);
}

static void test_round_trip(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	Isol8__Agent__V1__Exec exec;
	isol8_frame frame, *got = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, consumed = 0;

	sample_exec(&frame, &exec);
	CU_ASSERT_EQUAL_FATAL(isol8_frame_encode(&frame, &buf, &len, &err), 0);
	CU_ASSERT_EQUAL(len, ISOL8_FRAME_HEADER + isol8__agent__v1__frame__get_packed_size(&frame));
	CU_ASSERT_EQUAL((size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3],
			len - ISOL8_FRAME_HEADER);
	CU_ASSERT_EQUAL_FATAL(isol8_frame_decode(buf, len, &got, &consumed, &err), 1);
	CU_ASSERT_EQUAL(consumed, len);
	check_sample(got);
	isol8_frame_free(got);
}

static void test_decode_partial(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	Isol8__Agent__V1__Exec exec;
	isol8_frame frame, *got = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, consumed = 0;

	sample_exec(&frame, &exec);
	CU_ASSERT_EQUAL_FATAL(isol8_frame_encode(&frame, &buf, &len, &err), 0);
	for (size_t n = 0; n < len; n++) {
		CU_ASSERT_EQUAL(isol8_frame_decode(buf, n, &got, &consumed, &err), 0);
		CU_ASSERT_PTR_NULL(got);
	}
	CU_ASSERT_EQUAL(err.code, 0);
}

static void test_decode_oversized(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	const uint8_t header[4] = {0xff, 0xff, 0xff, 0xff};
	const uint8_t just_over[4] = {0x00, 0x40, 0x00, 0x01}; /* ISOL8_FRAME_MAX + 1 */
	isol8_frame *got = NULL;
	size_t consumed = 0;

	/* Only the 4 header bytes are there: rejected at once, not "need more". */
	CU_ASSERT(isol8_frame_decode(header, sizeof(header), &got, &consumed, &err) < 0);
	CU_ASSERT_EQUAL(err.code, ISOL8_E_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "limit"));
	isol8_error_clear(&err);
	CU_ASSERT(isol8_frame_decode(just_over, sizeof(just_over), &got, &consumed, &err) < 0);
	CU_ASSERT_PTR_NULL(got);
}

static void test_encode_oversized(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	isol8_frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Output output = ISOL8__AGENT__V1__OUTPUT__INIT;
	_cleanup_free_ uint8_t *data = calloc(1, ISOL8_FRAME_MAX);
	uint8_t *buf = NULL;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	output.data.data = data;
	output.data.len = ISOL8_FRAME_MAX;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_OUTPUT;
	frame.output = &output;
	CU_ASSERT_EQUAL(isol8_frame_encode(&frame, &buf, &len, &err), -ISOL8_E_EXHAUSTED);
	CU_ASSERT_PTR_NULL(buf);
}

static void test_decode_malformed(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	/* field 3 (exec), length-delimited, claiming 100 bytes that are not there */
	const uint8_t bad[] = {0, 0, 0, 3, 0x1a, 0x64, 0x00};
	isol8_frame *got = NULL;
	size_t consumed = 0;

	CU_ASSERT(isol8_frame_decode(bad, sizeof(bad), &got, &consumed, &err) < 0);
	CU_ASSERT_EQUAL(err.code, ISOL8_E_PROTOCOL);
	CU_ASSERT_PTR_NULL(got);
}

static void socket_pair(int sv[2])
{
	CU_ASSERT_EQUAL_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void test_socket_round_trip_and_eof(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	Isol8__Agent__V1__Exec exec;
	isol8_frame frame, *got = NULL;
	int sv[2];

	socket_pair(sv);
	sample_exec(&frame, &exec);
	CU_ASSERT_EQUAL_FATAL(isol8_frame_write(sv[0], &frame, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_frame_write(sv[0], &frame, &err), 0);
	close(sv[0]);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL_FATAL(isol8_frame_read(sv[1], &got, 1000, &err), 1);
		check_sample(got);
		isol8_frame_free(got);
		got = NULL;
	}
	/* EOF before the first byte of a frame: a clean end. */
	CU_ASSERT_EQUAL(isol8_frame_read(sv[1], &got, 1000, &err), 0);
	CU_ASSERT_EQUAL(err.code, 0);
	close(sv[1]);
}

static void test_socket_truncated(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	Isol8__Agent__V1__Exec exec;
	isol8_frame frame, *got = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	int sv[2];

	socket_pair(sv);
	sample_exec(&frame, &exec);
	CU_ASSERT_EQUAL_FATAL(isol8_frame_encode(&frame, &buf, &len, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_write_full(sv[0], buf, len / 2), 0);
	close(sv[0]);
	CU_ASSERT(isol8_frame_read(sv[1], &got, 1000, &err) < 0);
	CU_ASSERT_EQUAL(err.code, ISOL8_E_PROTOCOL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "truncated"));
	CU_ASSERT_PTR_NULL(got);
	close(sv[1]);

	/* EOF inside the header. */
	isol8_error_clear(&err);
	socket_pair(sv);
	CU_ASSERT_EQUAL_FATAL(isol8_write_full(sv[0], buf, 2), 0);
	close(sv[0]);
	CU_ASSERT(isol8_frame_read(sv[1], &got, 1000, &err) < 0);
	CU_ASSERT_EQUAL(err.code, ISOL8_E_PROTOCOL);
	close(sv[1]);
}

static void test_socket_oversized_and_malformed(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	const uint8_t huge[4] = {0x7f, 0xff, 0xff, 0xff};
	const uint8_t bad[] = {0, 0, 0, 3, 0x1a, 0x64, 0x00};
	isol8_frame *got = NULL;
	int64_t start;
	int sv[2];

	/* The writer stays open: the reader must refuse on the header alone,
	 * not wait (until the timeout) for 2 GiB that will never come. */
	socket_pair(sv);
	CU_ASSERT_EQUAL_FATAL(isol8_write_full(sv[0], huge, sizeof(huge)), 0);
	start = isol8_now_ms();
	CU_ASSERT(isol8_frame_read(sv[1], &got, 3000, &err) < 0);
	CU_ASSERT(isol8_now_ms() - start < 1000);
	CU_ASSERT_EQUAL(err.code, ISOL8_E_PROTOCOL);
	close(sv[0]);
	close(sv[1]);

	isol8_error_clear(&err);
	socket_pair(sv);
	CU_ASSERT_EQUAL_FATAL(isol8_write_full(sv[0], bad, sizeof(bad)), 0);
	CU_ASSERT(isol8_frame_read(sv[1], &got, 1000, &err) < 0);
	CU_ASSERT_EQUAL(err.code, ISOL8_E_PROTOCOL);
	CU_ASSERT_PTR_NULL(got);
	close(sv[0]);
	close(sv[1]);
}

static void test_socket_timeout(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	isol8_frame *got = NULL;
	int64_t start = isol8_now_ms();
	int sv[2];

	socket_pair(sv);
	CU_ASSERT_EQUAL(isol8_frame_read(sv[1], &got, 100, &err), -ISOL8_E_DEADLINE);
	CU_ASSERT(isol8_now_ms() - start >= 100);
	close(sv[0]);
	close(sv[1]);
}

/* The incremental reader gets a frame one byte at a time, then a second
 * frame and part of a third in one go. */
static void test_reader_incremental(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_frame_reader reader = ISOL8_FRAME_READER_INIT;
	Isol8__Agent__V1__Exec exec;
	isol8_frame frame, *got = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	int sv[2];

	socket_pair(sv);
	sample_exec(&frame, &exec);
	CU_ASSERT_EQUAL_FATAL(isol8_frame_encode(&frame, &buf, &len, &err), 0);
	for (size_t i = 0; i < len; i++) {
		CU_ASSERT_EQUAL(isol8_frame_reader_next(&reader, &got, &err), 0);
		CU_ASSERT_EQUAL_FATAL(isol8_write_full(sv[0], buf + i, 1), 0);
		CU_ASSERT_EQUAL_FATAL(isol8_frame_reader_fill(&reader, sv[1], &err), 1);
	}
	CU_ASSERT_EQUAL_FATAL(isol8_frame_reader_next(&reader, &got, &err), 1);
	check_sample(got);
	isol8_frame_free(got);
	CU_ASSERT_EQUAL(isol8_frame_reader_pending(&reader), 0);

	CU_ASSERT_EQUAL_FATAL(isol8_write_full(sv[0], buf, len), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_write_full(sv[0], buf, 3), 0);
	close(sv[0]);
	CU_ASSERT_EQUAL_FATAL(isol8_frame_reader_fill(&reader, sv[1], &err), 1);
	CU_ASSERT_EQUAL_FATAL(isol8_frame_reader_next(&reader, &got, &err), 1);
	isol8_frame_free(got);
	CU_ASSERT_EQUAL(isol8_frame_reader_next(&reader, &got, &err), 0);
	CU_ASSERT_EQUAL(isol8_frame_reader_pending(&reader), 3);
	CU_ASSERT_EQUAL(isol8_frame_reader_fill(&reader, sv[1], &err), 0);
	isol8_frame_reader_release(&reader);
	close(sv[1]);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"encode/decode round trip", test_round_trip},
		{"decode of a partial buffer needs more", test_decode_partial},
		{"oversized length rejected from the header", test_decode_oversized},
		{"oversized frame not encoded", test_encode_oversized},
		{"malformed body rejected", test_decode_malformed},
		{"socket round trip, EOF before a frame", test_socket_round_trip_and_eof},
		{"socket EOF mid-frame", test_socket_truncated},
		{"socket oversized and malformed", test_socket_oversized_and_malformed},
		{"socket read timeout", test_socket_timeout},
		{"incremental reader", test_reader_incremental},
	};

	return isol8_test_run("frame", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
