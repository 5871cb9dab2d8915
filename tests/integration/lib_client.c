/*
 * libisol8 against a real isol8d (the one $ISOL8_SOCKET names: libisol8.sh
 * starts a private one) and Docker: health, info, streaming as produced,
 * the daemon's timeout event before the exit, a session with files put and
 * got through several chunks, the session list, destroy, interactive
 * input, a handle with another key, and a running stream cancelled from
 * another thread. Prints "ok - NAME" or "FAIL - NAME: why" per check;
 * exits 1 when one failed. Linked to libisol8.so only, like any user.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <isol8/isol8.h>

#define FILE_SIZE (3u * 1024u * 1024u + 17u) /* four 1 MiB chunks */

static struct isol8_client *client;
static char session[64];
static int failed;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sets *why (a static buffer) and returns -1. */
static int fail(const char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const char **why, const char *fmt, ...)
{
	static char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*why = buf;
	return -1;
}

/* Runs bash code in the test's session (or none); *out gets the result. */
static int run(const char *code, bool in_session, struct isol8_result **out, struct isol8_error *err)
{
	struct isol8_request req = ISOL8_REQUEST_INIT;

	req.runtime = "bash";
	req.code = code;
	req.session_id = in_session ? session : NULL;
	return isol8_execute(client, &req, out, err);
}

static int check_health(const char **why)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (isol8_health(client, &err) < 0)
		return fail(why, "%s", err.message);
	return 0;
}

static int check_info(const char **why)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_info *info = NULL;
	int ret = 0;

	if (isol8_info(client, &info, &err) < 0)
		return fail(why, "%s", err.message);
	if (strcmp(info->version, isol8_version()) != 0)
		ret = fail(why, "isol8d %s, libisol8 %s", info->version, isol8_version());
	else if (info->n_images == 0 || info->sandboxes.strategy[0] == '\0')
		ret = fail(why, "no images or no strategy in the answer");
	isol8_info_free(info);
	return ret;
}

/* Output arrives while the program runs: the first line well before the exit. */
static int check_streaming(const char **why)
{
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_stream *st = NULL;
	struct isol8_event ev;
	int64_t first = 0, exit_at = 0;
	char out[64] = "";
	int ret;

	req.runtime = "python";
	req.code = "import time\nprint('a', flush=True)\ntime.sleep(0.5)\nprint('b')";
	req.timeout_ms = 20000;
	if (isol8_stream_open(&st, client, &req, &err) < 0)
		return fail(why, "%s", err.message);
	while ((ret = isol8_stream_next(st, &ev, &err)) == 1) {
		if (ev.type == ISOL8_EVENT_STDOUT) {
			if (first == 0)
				first = now_ms();
			strncat(out, ev.data, sizeof(out) - strlen(out) - 1);
		} else if (ev.type == ISOL8_EVENT_EXIT) {
			exit_at = now_ms();
			ret = ev.result->exit_code;
		} else {
			ret = fail(why, "event %d: %s", (int)ev.type, ev.data);
			break;
		}
	}
	isol8_stream_free(st);
	if (ret < 0)
		return *why != NULL ? -1 : fail(why, "%s", err.message);
	if (strcmp(out, "a\nb\n") != 0 || exit_at == 0)
		return fail(why, "stdout \"%s\", %s", out, exit_at ? "an exit" : "no exit");
	if (exit_at - first < 300)
		return fail(why, "the first line came %lld ms before the exit", (long long)(exit_at - first));
	return 0;
}

/* A timeout: the daemon's error event (code 0), then the exit. */
static int check_timeout(const char **why)
{
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_stream *st = NULL;
	struct isol8_event ev;
	bool saw_error = false, timed_out = false;
	int ret;

	req.runtime = "bash";
	req.code = "sleep 10";
	req.timeout_ms = 1000;
	if (isol8_stream_open(&st, client, &req, &err) < 0)
		return fail(why, "%s", err.message);
	while ((ret = isol8_stream_next(st, &ev, &err)) == 1) {
		if (ev.type == ISOL8_EVENT_ERROR)
			saw_error = ev.code == 0 && strcmp(ev.data, "EXECUTION TIMED OUT") == 0;
		if (ev.type == ISOL8_EVENT_EXIT)
			timed_out = saw_error && ev.result->timed_out && ev.result->exit_code == 137;
	}
	isol8_stream_free(st);
	if (ret < 0)
		return fail(why, "%s", err.message);
	if (!timed_out)
		return fail(why, "error event %s, then no timed-out exit", saw_error ? "seen" : "not seen");
	return 0;
}

static int check_session_files(const char **why)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_result *res = NULL;
	unsigned char *data = malloc(FILE_SIZE), *back = NULL;
	size_t size = 0;
	int ret = 0;

	if (data == NULL)
		return fail(why, "out of memory");
	for (size_t i = 0; i < FILE_SIZE; i++)
		data[i] = (unsigned char)(i * 7 % 256);
	if (run("x=42; echo made", true, &res, &err) < 0 ||
	    isol8_put_file(client, session, "/sandbox/data.bin", data, FILE_SIZE, 0600, &err) < 0) {
		ret = fail(why, "%s", err.message);
		goto out;
	}
	isol8_result_free(res);
	res = NULL;
	if (run("echo $x $(stat -c '%s %a' /sandbox/data.bin)", true, &res, &err) < 0) {
		ret = fail(why, "%s", err.message);
		goto out;
	}
	char want[64];
	snprintf(want, sizeof(want), "42 %u 600", FILE_SIZE);
	if (strcmp(res->stdout_data, want) != 0) {
		ret = fail(why, "the session says \"%s\", not \"%s\"", res->stdout_data, want);
		goto out;
	}
	if (isol8_get_file(client, session, "/sandbox/data.bin", &back, &size, &err) < 0)
		ret = fail(why, "%s", err.message);
	else if (size != FILE_SIZE || memcmp(back, data, size) != 0)
		ret = fail(why, "got %zu bytes back, not the %u put", size, FILE_SIZE);
out:
	isol8_result_free(res);
	free(data);
	free(back);
	return ret;
}

static int check_missing_file(const char **why)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	unsigned char *data = NULL;
	size_t size;

	if (isol8_get_file(client, session, "/sandbox/nothing-here", &data, &size, &err) != -ISOL8_E_NOT_FOUND)
		return fail(why, "code %d: %s", err.code, err.message);
	return 0;
}

static int check_list_sessions(const char **why)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_session_info *list = NULL;
	bool found = false;
	size_t n = 0;

	if (isol8_list_sessions(client, &list, &n, &err) < 0)
		return fail(why, "%s", err.message);
	for (size_t i = 0; i < n; i++)
		found = found || (strcmp(list[i].id, session) == 0 && strcmp(list[i].runtime, "bash") == 0 &&
				  !list[i].busy && list[i].created_at[0] != '\0');
	isol8_session_infos_free(list, n);
	return found ? 0 : fail(why, "%s is not in the list of %zu", session, n);
}

static int check_destroy(const char **why)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	bool existed = false, again = true;

	if (isol8_destroy_session(client, session, &existed, &err) < 0 ||
	    isol8_destroy_session(client, session, &again, &err) < 0)
		return fail(why, "%s", err.message);
	if (!existed || again)
		return fail(why, "existed: %d, then %d", existed, again);
	if (isol8_put_file(client, session, "/sandbox/x", "x", 1, 0, &err) != -ISOL8_E_NOT_FOUND)
		return fail(why, "a put after the destroy: code %d %s", err.code, err.message);
	return 0;
}

static int check_interactive(const char **why)
{
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_stream *st = NULL;
	struct isol8_event ev;
	char out[128] = "";
	int ret;

	req.runtime = "bash";
	req.code = "read line; echo \"got:$line\"";
	if (isol8_interactive_open(&st, client, &req, &err) < 0 || isol8_stream_write_stdin(st, "hi\n", 3, &err) < 0 ||
	    isol8_stream_close_stdin(st, &err) < 0) {
		isol8_stream_free(st);
		return fail(why, "%s", err.message);
	}
	while ((ret = isol8_stream_next(st, &ev, &err)) == 1)
		if (ev.type == ISOL8_EVENT_STDOUT)
			strncat(out, ev.data, sizeof(out) - strlen(out) - 1);
	isol8_stream_free(st);
	if (ret < 0)
		return fail(why, "%s", err.message);
	if (strcmp(out, "got:hi\n") != 0)
		return fail(why, "stdout \"%s\"", out);
	return 0;
}

/* A handle with a key: this daemon has none, so it refuses the key even
 * on its local socket (a gateway forwarding keys there fails closed); the
 * metadata is served through the keyless handle. */
static int check_with_key(const char **why)
{
	static const struct isol8_kv metadata[] = {{"test", "lib_client"}};
	static const char no_key[] = "isol8d has no API key: start it with --api-key (or ISOL8_API_KEY) to accept keys";
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_client *view = NULL;
	struct isol8_result *res = NULL;
	int ret = 0;

	req.runtime = "python";
	req.code = "print(6 * 7)";
	req.metadata = metadata;
	req.n_metadata = 1;
	if (isol8_client_with_key(&view, client, "some-key", &err) < 0)
		ret = fail(why, "%s", err.message);
	else if (isol8_execute(view, &req, &res, &err) != -ISOL8_E_UNAUTHENTICATED || strcmp(err.message, no_key) != 0)
		ret = fail(why, "a key to a daemon without one: %d \"%s\"", err.code, err.message);
	else if (isol8_execute(client, &req, &res, &err) < 0)
		ret = fail(why, "%s", err.message);
	else if (strcmp(res->stdout_data, "42") != 0)
		ret = fail(why, "stdout \"%s\"", res->stdout_data);
	isol8_result_free(res);
	isol8_client_free(view);
	return ret;
}

static void *cancel_soon(void *arg)
{
	usleep(100 * 1000);
	isol8_stream_cancel(arg);
	return NULL;
}

/* A long program cancelled after its first output ends the stream at once
 * (libisol8.sh checks that its process is gone too). */
static int check_cancel(const char **why)
{
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_stream *st = NULL;
	struct isol8_event ev;
	pthread_t id;
	int64_t start;
	int ret;

	req.runtime = "bash";
	req.code = "echo started; sleep 30.4242";
	if (isol8_stream_open(&st, client, &req, &err) < 0)
		return fail(why, "%s", err.message);
	ret = isol8_stream_next(st, &ev, &err);
	if (ret != 1 || ev.type != ISOL8_EVENT_STDOUT) {
		isol8_stream_free(st);
		return fail(why, "first event: %d %s", ret, ret == 1 ? ev.data : err.message);
	}
	start = now_ms();
	if (pthread_create(&id, NULL, cancel_soon, st) != 0) {
		isol8_stream_free(st);
		return fail(why, "pthread_create failed");
	}
	ret = isol8_stream_next(st, &ev, &err);
	pthread_join(id, NULL);
	isol8_stream_free(st);
	if (ret != -ISOL8_E_CANCELLED)
		return fail(why, "next gave %d (%s)", ret, err.message);
	if (now_ms() - start > 3000)
		return fail(why, "the cancel took %lld ms", (long long)(now_ms() - start));
	return 0;
}

int main(void)
{
	static const struct {
		const char *name;
		int (*fn)(const char **why);
	} checks[] = {
		{"health", check_health},
		{"info", check_info},
		{"streaming as produced", check_streaming},
		{"timeout: error event then exit", check_timeout},
		{"session: state and a file put and got", check_session_files},
		{"missing file is NOT_FOUND", check_missing_file},
		{"list sessions", check_list_sessions},
		{"destroy session", check_destroy},
		{"interactive stdin", check_interactive},
		{"with_key refused, and metadata", check_with_key},
		{"cancel a running stream", check_cancel},
	};
	struct isol8_error err = ISOL8_ERROR_INIT;

	snprintf(session, sizeof(session), "lib-it-%d", (int)getpid());
	if (isol8_client_new(&client, NULL, &err) < 0) {
		printf("FAIL - connect: %s\n", err.message);
		return 1;
	}
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const char *why = NULL;
		if (checks[i].fn(&why) == 0) {
			printf("ok - %s\n", checks[i].name);
		} else {
			printf("FAIL - %s: %s\n", checks[i].name, why != NULL ? why : "(no reason)");
			failed++;
		}
		fflush(stdout);
	}
	isol8_client_free(client);
	return failed == 0 ? 0 : 1;
}
