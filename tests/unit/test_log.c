/* Unit tests: the log sink (api/base/log.c): one record per line whatever
 * the logged text holds, in text and in JSON. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "runner.h"

#define WHEN "2024-01-02T03:04:05.678Z"

static char line[32768];

static const char *text_line(const char *message)
{
	isol8_log_setup(ISOL8_LOG_INFO, false, "isol8d");
	CU_ASSERT(isol8_log_format(line, sizeof(line), ISOL8_LOG_WARN, WHEN, message) > 0);
	return line;
}

/* The line for message in JSON, parsed; NULL (a failed assert) when it is no JSON. */
static cJSON *json_line(const char *message)
{
	size_t n;
	cJSON *obj;

	isol8_log_setup(ISOL8_LOG_INFO, true, "isol8d");
	n = isol8_log_format(line, sizeof(line), ISOL8_LOG_ERROR, WHEN, message);
	CU_ASSERT(n > 0 && line[n - 1] == '\n');
	CU_ASSERT_PTR_NULL(memchr(line, '\n', n - 1));
	obj = cJSON_Parse(line);
	CU_ASSERT_PTR_NOT_NULL(obj);
	return obj;
}

static const char *json_msg(cJSON *obj)
{
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(obj, "msg");

	CU_ASSERT_FATAL(cJSON_IsString(msg));
	return msg->valuestring;
}

static void test_text_plain(void)
{
	CU_ASSERT_STRING_EQUAL(text_line("listening on 127.0.0.1:7700"),
			       WHEN " warn isol8d: listening on 127.0.0.1:7700\n");
	CU_ASSERT_STRING_EQUAL(text_line("héllo € 😀 \"q\" back\\slash"),
			       WHEN " warn isol8d: héllo € 😀 \"q\" back\\slash\n");
}

static void test_text_escapes_controls(void)
{
	/* a forged record after a newline stays on the first line */
	CU_ASSERT_STRING_EQUAL(text_line("env X\n" WHEN " info isol8d: forged"),
			       WHEN " warn isol8d: env X\\n" WHEN " info isol8d: forged\n");
	CU_ASSERT_STRING_EQUAL(text_line("a\rb\tc\x1b[31md\x7f" "e\x01"),
			       WHEN " warn isol8d: a\\rb\\tc\\x1b[31md\\x7fe\\x01\n");
	/* C1 CSI, line separator, right-to-left override, bytes that are no UTF-8 */
	CU_ASSERT_STRING_EQUAL(text_line("x\xc2\x9by\xe2\x80\xa8z\xe2\x80\xae!\xff\xc3(\xed\xa0\x80"),
			       WHEN " warn isol8d: x\\u009by\\u2028z\\u202e!\\xff\\xc3(\\xed\\xa0\\x80\n");
}

static void test_quote(void)
{
	char buf[64];

	CU_ASSERT_STRING_EQUAL(isol8_log_quote(buf, sizeof(buf), "python"), "\"python\"");
	CU_ASSERT_STRING_EQUAL(isol8_log_quote(buf, sizeof(buf), NULL), "\"\"");
	CU_ASSERT_STRING_EQUAL(isol8_log_quote(buf, sizeof(buf), "py\nthon exit=0 \"x\\"),
			       "\"py\\nthon exit=0 \\\"x\\\\\"");
	CU_ASSERT_STRING_EQUAL(isol8_log_quote(buf, sizeof(buf), "\x1b\xff"), "\"\\x1b\\xff\"");
	/* the macro, as callers use it, through the whole line */
	CU_ASSERT_STRING_EQUAL(text_line(ISOL8_LOG_Q("a b=c\n")), WHEN " warn isol8d: \"a b=c\\n\"\n");
}

static void test_cut_at_boundaries(void)
{
	char buf[12];
	char small[8];

	/* 10 bytes of room inside the quotes: an escape or a character is never split */
	CU_ASSERT_STRING_EQUAL(isol8_log_quote(buf, sizeof(buf), "abcdefghijklmnop"), "\"abcdef...\"");
	CU_ASSERT_STRING_EQUAL(isol8_log_quote(buf, sizeof(buf), "abcde\n\n\n"), "\"abcde...\"");
	CU_ASSERT_STRING_EQUAL(isol8_log_quote(buf, sizeof(buf), "ab€€€€"), "\"ab€...\"");
	/* exactly full: no marker */
	CU_ASSERT_STRING_EQUAL(isol8_log_quote(buf, sizeof(buf), "abcdefghi"), "\"abcdefghi\"");
	CU_ASSERT_EQUAL(isol8_log_escape("abc", ISOL8_LOG_ESCAPE_LINE, small, 4), 3);
	CU_ASSERT_EQUAL(isol8_log_escape("abcdefghij", ISOL8_LOG_ESCAPE_LINE, small, sizeof(small)), 7);
	CU_ASSERT_STRING_EQUAL(small, "abcd...");
	CU_ASSERT_EQUAL(isol8_log_escape("abcdef", ISOL8_LOG_ESCAPE_LINE, small, 0), 0);
	CU_ASSERT_STRING_EQUAL(isol8_log_quote(small, 2, "abc"), "");
}

static void test_json_fields(void)
{
	cJSON *obj = json_line("execute runtime=\"py\\nthon\" msg=\"a\"\n\tb\x1b\x7f");

	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(obj, "time")->valuestring, WHEN);
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(obj, "level")->valuestring, "error");
	CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(obj, "program")->valuestring, "isol8d");
	/* decodes back to the very text logged */
	CU_ASSERT_STRING_EQUAL(json_msg(obj), "execute runtime=\"py\\nthon\" msg=\"a\"\n\tb\x1b\x7f");
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "\\n\\tb\\u001b\\u007f\""));
	cJSON_Delete(obj);
}

static void test_json_invalid_utf8(void)
{
	cJSON *obj = json_line("a\xff" "b\xc0\x80" "c\xe2\x80\xa8" "d é");

	/* each byte that is no UTF-8 is U+FFFD; the line separator is escaped */
	CU_ASSERT_STRING_EQUAL(json_msg(obj), "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xe2\x80\xa8" "d é");
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "c\\u2028d"));
	cJSON_Delete(obj);
}

static void test_json_long_message_cut(void)
{
	char message[2048];
	cJSON *obj;

	memset(message, '\x01', sizeof(message) - 1);
	message[sizeof(message) - 1] = '\0';
	obj = json_line(message);
	CU_ASSERT_EQUAL(strlen(json_msg(obj)), sizeof(message) - 1);
	cJSON_Delete(obj);
	/* a line buffer too small for all of it: cut, and still one JSON line */
	isol8_log_setup(ISOL8_LOG_INFO, true, "isol8d");
	CU_ASSERT(isol8_log_format(line, 200, ISOL8_LOG_INFO, WHEN, message) < 200);
	obj = cJSON_Parse(line);
	CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
	CU_ASSERT_PTR_NOT_NULL(strstr(json_msg(obj), "\x01..."));
	cJSON_Delete(obj);
	CU_ASSERT_EQUAL(isol8_log_format(line, 20, ISOL8_LOG_INFO, WHEN, message), 0);
}

/* isol8_log itself: one line on stderr, and nothing below the level. */
static void test_log_writes_one_line(void)
{
	char path[] = "/tmp/isol8-log-test-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	char got[4096];
	ssize_t n;

	CU_ASSERT_FATAL(fd >= 0 && saved >= 0);
	unlink(path);
	dup2(fd, STDERR_FILENO);
	isol8_log_setup(ISOL8_LOG_INFO, false, "isol8d");
	isol8_log(ISOL8_LOG_DEBUG, "not shown");
	isol8_log(ISOL8_LOG_WARN, "env %s", ISOL8_LOG_Q("X\n2024-01-01T00:00:00Z error isol8d: forged"));
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, got, sizeof(got) - 1, 0);
	close(fd);
	CU_ASSERT_FATAL(n > 0);
	got[n] = '\0';
	CU_ASSERT_PTR_NULL(strstr(got, "not shown"));
	CU_ASSERT_PTR_NOT_NULL(strstr(got, " warn isol8d: env \"X\\n2024-01-01T00:00:00Z error isol8d: forged\"\n"));
	CU_ASSERT_PTR_EQUAL(strchr(got, '\n'), got + n - 1);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"text lines keep printable text", test_text_plain},
		{"text lines escape control characters", test_text_escapes_controls},
		{"quoted values escape quotes too", test_quote},
		{"cuts fall between characters", test_cut_at_boundaries},
		{"JSON lines decode to the text logged", test_json_fields},
		{"JSON lines replace bytes that are no UTF-8", test_json_invalid_utf8},
		{"JSON lines stay JSON when cut", test_json_long_message_cut},
		{"isol8_log writes one line", test_log_writes_one_line},
	};

	return isol8_test_run("log", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
