/*
 * Unit tests of libisol8's streams and file transfers against the fake
 * isol8d of lib_fake.c: events in order (the daemon's `error` before the
 * exit, a failed call's status as the last event), the callback form,
 * cancellation from another thread, interactive input, put/get of files
 * that span chunks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isol8/isol8.h"
#include "lib_fake.h"
#include "runner.h"
#include "base/util.h"

static struct isol8_client *client(void)
{
	struct isol8_client_options o = ISOL8_CLIENT_OPTIONS_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_client *c = NULL;

	o.target = fake.unix_target;
	CU_ASSERT_EQUAL(isol8_client_new(&c, &o, &err), 0);
	return c;
}

static void expect_event(struct isol8_stream *st, enum isol8_event_type type, const char *phase, const void *data,
			 size_t size)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_event ev;

	CU_ASSERT_EQUAL_FATAL(isol8_stream_next(st, &ev, &err), 1);
	CU_ASSERT_EQUAL(ev.type, type);
	CU_ASSERT_STRING_EQUAL(ev.phase, phase);
	CU_ASSERT_EQUAL(ev.size, size);
	CU_ASSERT_EQUAL(memcmp(ev.data, data, size), 0);
	CU_ASSERT_EQUAL(ev.data[size], '\0');
	CU_ASSERT_EQUAL(ev.code, 0);
	if (ev.size != size || memcmp(ev.data, data, size) != 0)
		fprintf(stderr, "\n  want \"%.*s\", got \"%.*s\"\n", (int)size, (const char *)data, (int)ev.size,
			ev.data);
}

static void test_stream_events(void)
{
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_stream *st = NULL;
	struct isol8_client *c;
	struct isol8_event ev;

	lib_fake_start(false);
	c = client();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	req.runtime = "python";
	req.timeout_ms = 1000;
	CU_ASSERT_EQUAL_FATAL(isol8_stream_open(&st, c, &req, &err), 0);
	expect_event(st, ISOL8_EVENT_STDOUT, "code", "out\0put", 7);
	expect_event(st, ISOL8_EVENT_STDERR, "setup", "setup line", 10);
	/* the daemon's word on what ended the run, then the exit */
	expect_event(st, ISOL8_EVENT_ERROR, "code", "EXECUTION TIMED OUT", 19);
	CU_ASSERT_EQUAL_FATAL(isol8_stream_next(st, &ev, &err), 1);
	CU_ASSERT_EQUAL(ev.type, ISOL8_EVENT_EXIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ev.result);
	CU_ASSERT_EQUAL(ev.result->exit_code, 137);
	CU_ASSERT_TRUE(ev.result->timed_out);
	CU_ASSERT_STRING_EQUAL(ev.result->execution_id, "e1");
	CU_ASSERT_EQUAL(ev.result->stdout_size, 0);
	CU_ASSERT(fake.deadline > 300000 && fake.deadline <= 303000);
	CU_ASSERT_EQUAL(isol8_stream_next(st, &ev, &err), 0);
	CU_ASSERT_EQUAL(isol8_stream_next(st, &ev, &err), 0);
	CU_ASSERT_EQUAL(err.code, 0);
	/* writes are for interactive streams */
	CU_ASSERT_EQUAL(isol8_stream_write_stdin(st, "x", 1, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "the stream is not interactive (isol8_interactive_open)");
	isol8_stream_free(st);

	/* a call that fails: its status is the last event */
	req.code = "fail";
	CU_ASSERT_EQUAL_FATAL(isol8_stream_open(&st, c, &req, &err), 0);
	expect_event(st, ISOL8_EVENT_STDOUT, "code", "partial", 7);
	CU_ASSERT_EQUAL_FATAL(isol8_stream_next(st, &ev, &err), 1);
	CU_ASSERT_EQUAL(ev.type, ISOL8_EVENT_ERROR);
	CU_ASSERT_EQUAL(ev.code, ISOL8_E_ABORTED);
	CU_ASSERT_STRING_EQUAL(ev.data, "session s1 is busy");
	CU_ASSERT_EQUAL(isol8_stream_next(st, &ev, &err), 0);
	isol8_stream_free(st);

	/* a bad request never starts */
	isol8_error_clear(&err);
	req.n_output_paths = 1;
	st = (struct isol8_stream *)&req;
	CU_ASSERT_EQUAL(isol8_stream_open(&st, c, &req, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_STRING_EQUAL(err.message, "output_paths is NULL but its count is 1");
	isol8_client_free(c);
	lib_fake_stop();
}

struct collected {
	char out[64];
	size_t n_out;
	int errors, exits, stop_after;
	int exit_code;
};

static int collect(const struct isol8_event *ev, void *userdata)
{
	struct collected *s = userdata;

	if (ev->type == ISOL8_EVENT_STDOUT && s->n_out + ev->size < sizeof(s->out)) {
		memcpy(s->out + s->n_out, ev->data, ev->size);
		s->n_out += ev->size;
	}
	s->errors += ev->type == ISOL8_EVENT_ERROR;
	if (ev->type == ISOL8_EVENT_EXIT) {
		s->exits++;
		s->exit_code = ev->result->exit_code;
	}
	return s->stop_after != 0 && --s->stop_after == 0;
}

static void test_execute_stream(void)
{
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct collected seen = {0};
	struct isol8_client *c;

	lib_fake_start(false);
	c = client();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	req.runtime = "python";
	CU_ASSERT_EQUAL(isol8_execute_stream(c, &req, collect, &seen, &err), 0);
	CU_ASSERT_EQUAL(fake.deadline, INT64_MAX);
	CU_ASSERT_EQUAL(seen.n_out, 7);
	CU_ASSERT_EQUAL(seen.errors, 1);
	CU_ASSERT_EQUAL(seen.exits, 1);
	CU_ASSERT_EQUAL(seen.exit_code, 137);
	req.code = "fail";
	seen = (struct collected){0};
	CU_ASSERT_EQUAL(isol8_execute_stream(c, &req, collect, &seen, &err), -ISOL8_E_ABORTED);
	CU_ASSERT_STRING_EQUAL(err.message, "session s1 is busy");
	CU_ASSERT_EQUAL(seen.errors, 1);
	CU_ASSERT_EQUAL(seen.exits, 0);
	isol8_error_clear(&err);
	req.code = NULL;
	seen = (struct collected){.stop_after = 1};
	CU_ASSERT_EQUAL(isol8_execute_stream(c, &req, collect, &seen, &err), -ISOL8_E_CANCELLED);
	CU_ASSERT_STRING_EQUAL(err.message, "the execution was cancelled");
	CU_ASSERT_EQUAL(seen.exits, 0);
	isol8_client_free(c);
	lib_fake_stop();
}

struct canceller {
	struct isol8_stream *st;
	int delay_ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *k = arg;

	usleep((useconds_t)k->delay_ms * 1000);
	isol8_stream_cancel(k->st);
	isol8_stream_cancel(k->st); /* again: nothing more happens */
	return NULL;
}

/* A reader blocked in isol8_stream_next returns CANCELLED at once when
 * another thread cancels; the daemon sees its call cancelled. */
static void test_cancel(void)
{
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_stream *st = NULL;
	struct canceller k;
	struct isol8_client *c;
	struct isol8_event ev;
	pthread_t id;
	int64_t start;

	lib_fake_start(false);
	c = client();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	req.runtime = "block";
	CU_ASSERT_EQUAL_FATAL(isol8_stream_open(&st, c, &req, &err), 0);
	expect_event(st, ISOL8_EVENT_STDOUT, "code", "started", 7);
	k = (struct canceller){st, 200};
	start = isol8_now_ms();
	CU_ASSERT_EQUAL_FATAL(pthread_create(&id, NULL, cancel_later, &k), 0);
	CU_ASSERT_EQUAL(isol8_stream_next(st, &ev, &err), -ISOL8_E_CANCELLED);
	CU_ASSERT(isol8_now_ms() - start < 2000);
	CU_ASSERT_STRING_EQUAL(err.message, "the execution was cancelled");
	pthread_join(id, NULL);
	CU_ASSERT(lib_fake_wait(&fake.saw_cancel, 1));
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_stream_next(st, &ev, &err), 0); /* it ended */
	isol8_stream_free(st);

	/* freeing a running stream cancels it */
	CU_ASSERT_EQUAL_FATAL(isol8_stream_open(&st, c, &req, &err), 0);
	CU_ASSERT(lib_fake_wait(&fake.entered, 2));
	isol8_stream_free(st);
	CU_ASSERT(lib_fake_wait(&fake.saw_cancel, 2));
	isol8_stream_cancel(NULL);
	isol8_stream_free(NULL);
	isol8_client_free(c);
	lib_fake_stop();
}

struct writer {
	struct isol8_stream *st;
	int failed;
};

/* The interactive input, from a thread of its own (the reader is the
 * test's). */
static void *write_inputs(void *arg)
{
	struct writer *w = arg;
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (isol8_stream_write_stdin(w->st, "hello", 5, &err) < 0 || isol8_stream_signal(w->st, "INT", &err) < 0 ||
	    isol8_stream_signal(w->st, "sigterm", &err) < 0 || isol8_stream_resize(w->st, 40, 120, &err) < 0 ||
	    isol8_stream_close_stdin(w->st, &err) < 0)
		w->failed++;
	return NULL;
}

static void test_interactive(void)
{
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_stream *st = NULL;
	struct isol8_client *c;
	struct isol8_event ev;
	struct writer w;
	pthread_t id;

	lib_fake_start(false);
	c = client();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	req.runtime = "bash";
	req.tty = true;
	CU_ASSERT_EQUAL_FATAL(isol8_interactive_open(&st, c, &req, &err), 0);
	expect_event(st, ISOL8_EVENT_STDOUT, "code", "request:bash:tty", 16);
	CU_ASSERT_EQUAL(isol8_stream_signal(st, "SIGSTOP", &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "signal \"SIGSTOP\" is not one of SIGINT, SIGTERM, SIGKILL, SIGHUP, "
					    "SIGQUIT, SIGUSR1, SIGUSR2");
	isol8_error_clear(&err);
	w = (struct writer){st, 0};
	CU_ASSERT_EQUAL_FATAL(pthread_create(&id, NULL, write_inputs, &w), 0);
	expect_event(st, ISOL8_EVENT_STDOUT, "code", "stdin:hello", 11);
	expect_event(st, ISOL8_EVENT_STDOUT, "code", "signal:SIGINT", 13);
	expect_event(st, ISOL8_EVENT_STDOUT, "code", "signal:SIGTERM", 14);
	expect_event(st, ISOL8_EVENT_STDOUT, "code", "resize:40x120", 13);
	expect_event(st, ISOL8_EVENT_STDOUT, "code", "eof", 3);
	CU_ASSERT_EQUAL(isol8_stream_next(st, &ev, &err), 1);
	CU_ASSERT_EQUAL(ev.type, ISOL8_EVENT_EXIT);
	CU_ASSERT_EQUAL(isol8_stream_next(st, &ev, &err), 0);
	pthread_join(id, NULL);
	CU_ASSERT_EQUAL(w.failed, 0);
	/* the call is over: a write says so */
	CU_ASSERT_EQUAL(isol8_stream_write_stdin(st, "late", 4, &err), -ISOL8_E_PRECONDITION);
	CU_ASSERT_STRING_EQUAL(err.message, "the execution is over: it takes no more input");
	isol8_stream_free(st);
	isol8_client_free(c);
	lib_fake_stop();
}

/* A reader of the pattern in uneven pieces, with an error at fail_at. */
struct pattern_reader {
	uint64_t offset, size, fail_at;
};

static ssize_t read_pattern(void *userdata, void *buf, size_t size)
{
	struct pattern_reader *r = userdata;
	size_t n = size > 70001 ? 70001 : size;

	if (r->fail_at != 0 && r->offset >= r->fail_at) {
		errno = EIO;
		return -1;
	}
	if (n > r->size - r->offset)
		n = (size_t)(r->size - r->offset);
	for (size_t i = 0; i < n; i++)
		((unsigned char *)buf)[i] = lib_fake_pattern(r->offset + i);
	r->offset += n;
	return (ssize_t)n;
}

struct counting_writer {
	uint64_t size;
	bool ok;
	int fail;
};

static int write_counted(void *userdata, const void *buf, size_t size)
{
	struct counting_writer *w = userdata;

	if (w->fail) {
		errno = ENOSPC;
		return -1;
	}
	for (size_t i = 0; i < size; i++)
		if (((const unsigned char *)buf)[i] != lib_fake_pattern(w->size + i))
			w->ok = false;
	w->size += size;
	return 0;
}

static void test_put_file(void)
{
	size_t size = 2 * 1024 * 1024 + 12345;
	unsigned char *data = malloc(size);
	struct pattern_reader r = {0, 5 * 100000 + 3, 0};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_client *c;
	uint64_t written = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	for (size_t i = 0; i < size; i++)
		data[i] = lib_fake_pattern(i);
	lib_fake_start(false);
	c = client();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(isol8_put_file(c, "s1", "/sandbox/big.bin", data, size, 0755, &err), 0);
	CU_ASSERT_STRING_EQUAL(fake.put_session, "s1");
	CU_ASSERT_STRING_EQUAL(fake.put_path, "/sandbox/big.bin");
	CU_ASSERT_EQUAL(fake.put_mode, 0755);
	CU_ASSERT_EQUAL(fake.put_size, size);
	CU_ASSERT_EQUAL(fake.put_chunks, 3); /* 1 MiB chunks */
	CU_ASSERT_TRUE(fake.put_ok);
	/* an empty file is one chunk that names it */
	CU_ASSERT_EQUAL(isol8_put_file(c, "s1", "/sandbox/empty", NULL, 0, 0, &err), 0);
	CU_ASSERT_STRING_EQUAL(fake.put_path, "/sandbox/empty");
	CU_ASSERT_EQUAL(fake.put_chunks, 1);
	CU_ASSERT_EQUAL(fake.put_size, 0);
	CU_ASSERT_EQUAL(isol8_put_file_from(c, "s1", "/tmp/r", 0, read_pattern, &r, &written, &err), 0);
	CU_ASSERT_EQUAL(written, r.size);
	CU_ASSERT_EQUAL(fake.put_size, r.size);
	CU_ASSERT_TRUE(fake.put_ok);

	CU_ASSERT_EQUAL(isol8_put_file(c, "nope", "/sandbox/x", data, 10, 0, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(err.message, "no session \"nope\"");
	isol8_error_clear(&err);
	r = (struct pattern_reader){0, 1000000, 200000};
	CU_ASSERT_EQUAL(isol8_put_file_from(c, "s1", "/sandbox/r", 0, read_pattern, &r, &written, &err), -ISOL8_E_IO);
	CU_ASSERT_STRING_EQUAL(err.message, "reading the data for /sandbox/r: Input/output error");
	CU_ASSERT_EQUAL(written, 0);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_put_file(c, "s1", NULL, data, 1, 0, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "path is NULL");
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_put_file(c, "s1", "/sandbox/x", NULL, 1, 0, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "data is NULL but size is 1");
	isol8_client_free(c);
	lib_fake_stop();
	free(data);
}

static void test_get_file(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct counting_writer w = {0, true, 0};
	unsigned char *data = NULL;
	struct isol8_client *c;
	size_t size = 1;
	bool same = true;

	lib_fake_start(false);
	c = client();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	fake.get_size = 600 * 1024 + 7;
	CU_ASSERT_EQUAL_FATAL(isol8_get_file(c, "s1", "/sandbox/f", &data, &size, &err), 0);
	CU_ASSERT_EQUAL(size, fake.get_size);
	for (size_t i = 0; i < size; i++)
		same = same && data[i] == lib_fake_pattern(i);
	CU_ASSERT_TRUE(same);
	CU_ASSERT_EQUAL(data[size], '\0');
	free(data);
	CU_ASSERT_EQUAL(isol8_get_file_to(c, "s1", "/sandbox/f", write_counted, &w, &err), 0);
	CU_ASSERT_EQUAL(w.size, fake.get_size);
	CU_ASSERT_TRUE(w.ok);
	fake.get_size = 0;
	CU_ASSERT_EQUAL_FATAL(isol8_get_file(c, "s1", "/sandbox/empty", &data, &size, &err), 0);
	CU_ASSERT_EQUAL(size, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(data);
	CU_ASSERT_EQUAL(data[0], '\0');
	free(data);

	CU_ASSERT_EQUAL(isol8_get_file(c, "nope", "/sandbox/f", &data, &size, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(err.message, "no session \"nope\"");
	CU_ASSERT_PTR_NULL(data);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_get_file(c, "s1", "/sandbox/missing", &data, &size, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(err.message, "no file /sandbox/missing");
	isol8_error_clear(&err);
	fake.get_size = 10;
	w = (struct counting_writer){0, true, 1};
	CU_ASSERT_EQUAL(isol8_get_file_to(c, "s1", "/sandbox/f", write_counted, &w, &err), -ISOL8_E_IO);
	CU_ASSERT_STRING_EQUAL(err.message, "writing /sandbox/f: No space left on device");
	isol8_client_free(c);
	lib_fake_stop();
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"stream events", test_stream_events},
		{"execute_stream", test_execute_stream},
		{"cancel from another thread", test_cancel},
		{"interactive", test_interactive},
		{"put file", test_put_file},
		{"get file", test_get_file},
	};

	return isol8_test_run("lib_stream", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
