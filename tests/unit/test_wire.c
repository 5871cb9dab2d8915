/* Unit tests: the string check of request wire bytes (api/rpc/wire.c), on
 * hand-made encodings of isol8.v1.ExecuteRequest and of a message that
 * nests itself. */
#include <stdlib.h>
#include <string.h>

#include "isol8/v1/isol8.pb-c.h"
#include "rpc/rpc_wire.h"
#include "runner.h"

#define REQ (&isol8__v1__execute_request__descriptor)

/* Checks bytes as an ExecuteRequest; returns the error message ("" when it passed). */
static const char *check_as(const ProtobufCMessageDescriptor *desc, const void *bytes, size_t len)
{
	static struct isol8_error err;
	int ret;

	isol8_error_clear(&err);
	ret = isol8_rpc_wire_check(desc, bytes, len, &err);
	if (ret == 0)
		return "";
	CU_ASSERT_EQUAL(ret, -ISOL8_E_INVALID);
	CU_ASSERT_EQUAL(err.code, ISOL8_E_INVALID);
	return err.message;
}

#define CHECK(bytes) check_as(REQ, bytes, sizeof(bytes) - 1)
#define EXPECT(want, bytes) CU_ASSERT_STRING_EQUAL(CHECK(bytes), want)

static void test_valid_request_passes(void)
{
	Isol8__V1__ExecuteRequest req = ISOL8__V1__EXECUTE_REQUEST__INIT;
	Isol8__V1__ExecutionOptions opts = ISOL8__V1__EXECUTION_OPTIONS__INIT;
	Isol8__V1__ExecuteRequest__EnvEntry env = ISOL8__V1__EXECUTE_REQUEST__ENV_ENTRY__INIT;
	Isol8__V1__ExecutionOptions__SecretsEntry secret = ISOL8__V1__EXECUTION_OPTIONS__SECRETS_ENTRY__INIT;
	Isol8__V1__ExecuteRequest__EnvEntry *envs[] = {&env};
	Isol8__V1__ExecutionOptions__SecretsEntry *secrets[] = {&secret};
	char *paths[] = {"out/é.txt", "😀"};
	uint8_t *buf;
	size_t len;

	req.code = "print('héllo €')";
	req.runtime = "python";
	env.key = "X";
	env.value = "ü";
	req.n_env = 1;
	req.env = envs;
	secret.key = "TOKEN";
	secret.value = "s3cr3t";
	opts.n_secrets = 1;
	opts.secrets = secrets;
	opts.memory_limit = "512m";
	req.options = &opts;
	req.n_output_paths = 2;
	req.output_paths = paths;
	req.timeout_ms = 1234;
	req.stdin.data = (uint8_t *)"\0\xff";
	req.stdin.len = 2; /* bytes, not text: any bytes pass */
	len = protobuf_c_message_get_packed_size(&req.base);
	buf = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	protobuf_c_message_pack(&req.base, buf);
	CU_ASSERT_STRING_EQUAL(check_as(REQ, buf, len), "");
	free(buf);
	CU_ASSERT_STRING_EQUAL(check_as(REQ, NULL, 0), "");
}

/* Why the check exists: protobuf-c keeps the text up to the NUL only. */
static void test_nul_in_code(void)
{
	static const char bytes[] = "\x0a\x0d" "echo a\0echo b";
	Isol8__V1__ExecuteRequest *req = isol8__v1__execute_request__unpack(NULL, sizeof(bytes) - 1, (const uint8_t *)bytes);

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	CU_ASSERT_STRING_EQUAL(req->code, "echo a");
	isol8__v1__execute_request__free_unpacked(req, NULL);
	EXPECT("code: contains a NUL byte at offset 6", bytes);
	EXPECT("runtime: contains a NUL byte at offset 0", "\x12\x01\0");
	EXPECT("cmd: contains a NUL byte at offset 2", "\x7a\x03" "ab\0");
}

static void test_invalid_utf8(void)
{
	EXPECT("code: is not valid UTF-8 at offset 1", "\x0a\x03" "a\xff" "b");
	EXPECT("code: is not valid UTF-8 at offset 0", "\x0a\x02\xc0\x80");         /* overlong NUL */
	EXPECT("code: is not valid UTF-8 at offset 0", "\x0a\x03\xe0\x80\x80");     /* overlong */
	EXPECT("code: is not valid UTF-8 at offset 0", "\x0a\x04\xf0\x80\x80\x80"); /* overlong */
	EXPECT("code: is not valid UTF-8 at offset 1", "\x0a\x04" "a\xed\xa0\x80"); /* surrogate */
	EXPECT("code: is not valid UTF-8 at offset 0", "\x0a\x04\xf4\x90\x80\x80"); /* past U+10FFFF */
	EXPECT("code: is not valid UTF-8 at offset 0", "\x0a\x01\x80");             /* lone continuation */
	EXPECT("code: is not valid UTF-8 at offset 2", "\x0a\x04" "ab\xe2\x82");    /* cut short */
	EXPECT("code: is not valid UTF-8 at offset 0", "\x0a\x03\xe2\x28\xa1");     /* bad continuation */
	EXPECT("code: is not valid UTF-8 at offset 0", "\x0a\x01\xf8");
}

static void test_valid_utf8_edges(void)
{
	EXPECT("", "\x0a\x0d" "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"); /* é € 😀 U+10FFFF */
	EXPECT("", "\x0a\x03\xed\x9f\xbf"); /* U+D7FF, below the surrogates */
	EXPECT("", "\x0a\x03\xee\x80\x80"); /* U+E000, above them */
	EXPECT("", "\x0a\x01\x7f");
}

static void test_env_map(void)
{
	/* env {key "X", value "a\xff"}, in either order */
	EXPECT("env: the value of \"X\" is not valid UTF-8 at offset 1", "\x22\x07\x0a\x01X\x12\x02" "a\xff");
	EXPECT("env: the value of \"X\" is not valid UTF-8 at offset 1", "\x22\x07\x12\x02" "a\xff\x0a\x01X");
	EXPECT("env: the value of \"PATH\" contains a NUL byte at offset 4", "\x22\x0d\x0a\x04PATH\x12\x05/bin\0");
	EXPECT("env: the key \"A\\x00B\" contains a NUL byte at offset 1", "\x22\x05\x0a\x03" "A\0B");
	EXPECT("env: the key \"\\xff\" is not valid UTF-8 at offset 0", "\x22\x03\x0a\x01\xff");
	/* the second entry is the bad one; the first passes */
	EXPECT("env: the value of \"B\" contains a NUL byte at offset 0",
	       "\x22\x06\x0a\x01" "A\x12\x01" "a" "\x22\x06\x0a\x01" "B\x12\x01\0");
	/* an entry without a key: the value is named by the empty key */
	EXPECT("env: the value of \"\" contains a NUL byte at offset 0", "\x22\x03\x12\x01\0");
	EXPECT("request: a length runs past the end of its message at byte 2 (in env)", "\x22\x02\x0a\x05");
}

static void test_files_map_bytes_values(void)
{
	/* files: map<string, bytes>; a value is bytes and may hold anything, a key may not */
	EXPECT("", "\x3a\x07\x0a\x01" "a" "\x12\x02\0\xff");
	EXPECT("files: the key \"a\\x00\" contains a NUL byte at offset 1", "\x3a\x04\x0a\x02" "a\0");
}

static void test_nested_options(void)
{
	/* options {secrets {key "K", value "v\0"}} */
	EXPECT("options.secrets: the value of \"K\" contains a NUL byte at offset 1",
	       "\x5a\x09\x42\x07\x0a\x01K\x12\x02v\0");
	/* options {memory_limit "5\xff"} */
	EXPECT("options.memory_limit: is not valid UTF-8 at offset 1", "\x5a\x04\x22\x02" "5\xff");
	/* options {network_filter {whitelist "ok", whitelist "b\0d"}} */
	EXPECT("options.network_filter.whitelist[1]: contains a NUL byte at offset 1",
	       "\x5a\x0b\x12\x09\x0a\x02ok\x0a\x03" "b\0d");
	/* options {secrets {key "K\0"}} */
	EXPECT("options.secrets: the key \"K\\x00\" contains a NUL byte at offset 1", "\x5a\x06\x42\x04\x0a\x02K\0");
}

static void test_repeated_strings(void)
{
	/* output_paths "a", code "x", output_paths "\0": the second element of output_paths */
	EXPECT("output_paths[1]: contains a NUL byte at offset 0", "\x42\x01" "a" "\x0a\x01x" "\x42\x01\0");
	EXPECT("install_packages[0]: is not valid UTF-8 at offset 3", "\x4a\x04" "num\xff");
}

static void test_truncated_and_bad_varints(void)
{
	EXPECT("request: a varint is cut short at byte 0", "\x8a");
	EXPECT("request: a varint is cut short at byte 3", "\x0a\x01" "a" "\x18\x80\x80");
	EXPECT("request: a varint is cut short at byte 0", "\x0a");
	EXPECT("request: a varint is longer than 10 bytes at byte 0", "\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
	EXPECT("request: a varint is longer than 10 bytes at byte 0", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
	EXPECT("", "\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"); /* timeout_ms: 10 bytes is fine */
	EXPECT("request: a varint is cut short at byte 2 (in options)", "\x5a\x02\x18\x80");
}

static void test_bad_lengths(void)
{
	EXPECT("request: a length runs past the end of its message at byte 0", "\x0a\x05" "abc");
	EXPECT("request: a length runs past the end of its message at byte 0",
	       "\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01" "abc");
	/* a length inside options that runs past options but not past the request */
	EXPECT("request: a length runs past the end of its message at byte 2 (in options)",
	       "\x5a\x03\x22\x05" "a" "\x0a\x03xyz");
	/* fixed fields cut short (unknown field 100, fixed64 and fixed32) */
	EXPECT("request: a fixed-size field is cut short at byte 0", "\xa1\x06\x01\x02\x03");
	EXPECT("request: a fixed-size field is cut short at byte 0", "\xa5\x06\x01\x02\x03");
	EXPECT("", "\xa1\x06\x01\x02\x03\x04\x05\x06\x07\x08\xa5\x06\x01\x02\x03\x04");
}

static void test_bad_tags_and_wire_types(void)
{
	EXPECT("request: a field number is out of range at byte 0", "\x02\x00");
	EXPECT("request: a field number is out of range at byte 0", "\x80\x80\x80\x80\x80\x01");
	EXPECT("request: groups are not accepted at byte 0", "\x0b");
	EXPECT("request: groups are not accepted at byte 0", "\x0c");
	EXPECT("request: an unknown wire type at byte 0", "\x0e");
	EXPECT("request: an unknown wire type at byte 0", "\x0f");
	/* code (a string) sent as a varint; options (a message) as fixed32 */
	EXPECT("request: a string or message field is not length-delimited at byte 0 (in code)", "\x08\x01");
	EXPECT("request: a string or message field is not length-delimited at byte 0 (in options)", "\x5d\x01\x02\x03\x04");
	/* an env entry's key as a varint */
	EXPECT("request: a string or message field is not length-delimited at byte 2 (in env.key)", "\x22\x02\x08\x01");
}

static void test_unknown_fields_skipped(void)
{
	/* unknown field 99 (length-delimited) holds a NUL: not ours to judge */
	EXPECT("", "\x9a\x06\x02" "a\0" "\x0a\x01x");
	/* timeout_ms (int64) as the right type passes; as length-delimited the check leaves it to protobuf-c */
	EXPECT("", "\x18\x05");
}

/* ------------------------------------------------ a message that nests itself */

extern const ProtobufCMessageDescriptor nest_descriptor;
static const ProtobufCFieldDescriptor nest_fields[] = {
	{"child", 1, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_MESSAGE, 0, 0, &nest_descriptor, NULL, 0, 0, NULL, NULL},
	{"name", 2, PROTOBUF_C_LABEL_NONE, PROTOBUF_C_TYPE_STRING, 0, 0, NULL, NULL, 0, 0, NULL, NULL},
};
static const unsigned nest_by_name[] = {0, 1};
static const ProtobufCIntRange nest_ranges[] = {{1, 0}, {0, 2}};
const ProtobufCMessageDescriptor nest_descriptor = {
	PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.Nest", "Nest", "Nest", "test", 0, 2, nest_fields, nest_by_name, 1,
	nest_ranges, NULL, NULL, NULL, NULL};

/* depth levels of child, the innermost holding name = text (len bytes). */
static size_t nest_bytes(uint8_t *out, int depth, const char *text, size_t len)
{
	size_t n;

	if (depth == 0) {
		out[0] = 0x12;
		out[1] = (uint8_t)len;
		memcpy(out + 2, text, len);
		return len + 2;
	}
	n = nest_bytes(out + 3, depth - 1, text, len);
	out[0] = 0x0a;
	out[1] = (uint8_t)(0x80 | (n & 0x7f)); /* a two-byte length, whatever n is */
	out[2] = (uint8_t)(n >> 7);
	return n + 3;
}

static void test_depth_limit(void)
{
	uint8_t buf[512];
	size_t n;

	n = nest_bytes(buf, ISOL8_RPC_WIRE_MAX_DEPTH, "ok", 2);
	CU_ASSERT_STRING_EQUAL(check_as(&nest_descriptor, buf, n), "");
	n = nest_bytes(buf, 2, "a\0", 2);
	CU_ASSERT_STRING_EQUAL(check_as(&nest_descriptor, buf, n), "child.child.name: contains a NUL byte at offset 1");
	n = nest_bytes(buf, ISOL8_RPC_WIRE_MAX_DEPTH + 1, "ok", 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(check_as(&nest_descriptor, buf, n), "messages nest too deep at byte 99"));
}

/* Every prefix of a valid request, and random bytes, end in a clean answer
 * (valgrind sees any read past the end). */
static void test_fuzz(void)
{
	static const char valid[] = "\x0a\x05" "print" "\x22\x07\x0a\x01X\x12\x02" "ab" "\x5a\x09\x42\x07\x0a\x01K\x12\x02vv"
				    "\x42\x01" "a" "\x18\x80\x01";
	uint8_t buf[64];
	unsigned seed = 12345;
	int passed = 0;

	CU_ASSERT_STRING_EQUAL(CHECK(valid), "");
	for (size_t cut = 0; cut < sizeof(valid) - 1; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1); /* exact size, so valgrind sees a read past it */
		CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
		memcpy(copy, valid, cut);
		check_as(REQ, copy, cut);
		free(copy);
	}
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)(rand_r(&seed) % (int)sizeof(buf));
		uint8_t *copy;

		for (size_t k = 0; k < len; k++)
			buf[k] = (uint8_t)rand_r(&seed);
		if (len > 0 && i % 2)
			buf[0] = "\x0a\x22\x42\x5a"[i % 4]; /* start with a field of ours */
		copy = malloc(len ? len : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
		memcpy(copy, buf, len);
		passed += check_as(REQ, copy, len)[0] == '\0';
		free(copy);
	}
	CU_ASSERT(passed > 0);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"a valid request passes", test_valid_request_passes},
		{"a NUL in code is refused, naming code", test_nul_in_code},
		{"invalid UTF-8 is refused with its offset", test_invalid_utf8},
		{"valid UTF-8 at the edges passes", test_valid_utf8_edges},
		{"env entries are named by their key", test_env_map},
		{"bytes values of files pass, their keys do not", test_files_map_bytes_values},
		{"nested options are named by their path", test_nested_options},
		{"repeated strings are named with their index", test_repeated_strings},
		{"truncated and overlong varints", test_truncated_and_bad_varints},
		{"lengths past the end", test_bad_lengths},
		{"bad tags and wire types", test_bad_tags_and_wire_types},
		{"unknown fields are skipped", test_unknown_fields_skipped},
		{"messages nest at most 32 deep", test_depth_limit},
		{"prefixes and random bytes", test_fuzz},
	};

	return isol8_test_run("wire", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
