/*
 * A fake libisol8 for the gateway's HTTP tests (gateway_http.py): the
 * functions of include/isol8/isol8.h with canned behaviour and no isol8d,
 * so the HTTP layer (suspend/resume, SSE backpressure and disconnects,
 * WebSocket, limits) is tested on its own. Keys: "good" passes, any other
 * UNAUTHENTICATED; no key passes. Code words drive the runs:
 *   "lines:N"   N stdout lines "line I", then exit 0
 *   "sleep:MS"  silent for MS ms (cancellable), then exit 0
 *   "big:N"     N chunks of 64 KiB (cancellable), then exit 0
 *   "fail:CODE" the stream fails before any event with isol8_errc CODE
 *   "echo"      (interactive) stdin back on stdout until EOF, exit 0
 *   anything else: stdout is the code, exit 0.
 * Cancelled runs are counted in $FAKE_CANCEL_FILE (one line each).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "isol8/isol8.h"

struct isol8_client {
	char *key;
	struct isol8_client *base;
};

const char *isol8_version(void)
{
	return "fake";
}

static int check_key(const struct isol8_client *c, struct isol8_error *err)
{
	if (c->key && strcmp(c->key, "good") != 0)
		return isol8_error_set(err, ISOL8_E_UNAUTHENTICATED, "bad key");
	return 0;
}

int isol8_client_new(struct isol8_client **out, const struct isol8_client_options *opts, struct isol8_error *err)
{
	(void)err;
	*out = calloc(1, sizeof(**out));
	if (opts && opts->api_key)
		(*out)->key = strdup(opts->api_key);
	return 0;
}

int isol8_client_with_key(struct isol8_client **out, struct isol8_client *base, const char *api_key,
			  struct isol8_error *err)
{
	(void)err;
	*out = calloc(1, sizeof(**out));
	(*out)->base = base;
	if (api_key)
		(*out)->key = strdup(api_key);
	return 0;
}

void isol8_client_free(struct isol8_client *c)
{
	if (c) {
		free(c->key);
		free(c);
	}
}

void isol8_result_free(struct isol8_result *res)
{
	if (res) {
		free(res->stdout_data);
		free(res->stderr_data);
		free(res->execution_id);
		free(res->runtime);
		free(res->timestamp);
		free(res);
	}
}

static struct isol8_result *result_of(const char *out, int code)
{
	struct isol8_result *r = calloc(1, sizeof(*r));

	r->stdout_data = strdup(out);
	r->stdout_size = strlen(out);
	r->stderr_data = strdup("");
	r->exit_code = code;
	r->execution_id = strdup("fake-exec");
	r->runtime = strdup("python");
	r->timestamp = strdup("2026-01-01T00:00:00.000Z");
	r->duration_ms = 1;
	return r;
}

int isol8_execute(struct isol8_client *c, const struct isol8_request *req, struct isol8_result **out,
		  struct isol8_error *err)
{
	if (check_key(c, err) < 0)
		return -err->code;
	if (req->code && strncmp(req->code, "fail:", 5) == 0)
		return isol8_error_set(err, atoi(req->code + 5), "options.memory_limit: fake failure");
	if (req->code && strncmp(req->code, "sleep:", 6) == 0)
		usleep((useconds_t)atoi(req->code + 6) * 1000);
	*out = result_of(req->code ? req->code : "", 0);
	return 0;
}

struct isol8_stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *code;
	bool interactive, cancelled, ended, stdin_eof, exit_sent;
	int step, total, kind; /* 0 text, 1 lines, 2 sleep, 3 big, 4 fail, 5 echo */
	char *pending; /* stdin not echoed yet */
	size_t pending_len;
	char line[64];
	char *chunk;
	struct isol8_result *res;
	int fail;
};

static int open_stream(struct isol8_stream **out, struct isol8_client *c, const struct isol8_request *req,
		       bool interactive, struct isol8_error *err)
{
	struct isol8_stream *st;
	const char *code = req->code ? req->code : "";

	if (check_key(c, err) < 0)
		return -err->code;
	st = calloc(1, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	st->code = strdup(code);
	st->interactive = interactive;
	if (strncmp(code, "lines:", 6) == 0)
		st->kind = 1, st->total = atoi(code + 6);
	else if (strncmp(code, "sleep:", 6) == 0)
		st->kind = 2, st->total = atoi(code + 6);
	else if (strncmp(code, "big:", 4) == 0)
		st->kind = 3, st->total = atoi(code + 4);
	else if (strncmp(code, "fail:", 5) == 0)
		st->kind = 4, st->fail = atoi(code + 5);
	else if (strcmp(code, "echo") == 0)
		st->kind = 5;
	*out = st;
	return 0;
}

int isol8_stream_open(struct isol8_stream **out, struct isol8_client *c, const struct isol8_request *req,
		      struct isol8_error *err)
{
	return open_stream(out, c, req, false, err);
}

int isol8_interactive_open(struct isol8_stream **out, struct isol8_client *c, const struct isol8_request *req,
			   struct isol8_error *err)
{
	return open_stream(out, c, req, true, err);
}

static void count_cancel(void)
{
	const char *path = getenv("FAKE_CANCEL_FILE");
	FILE *f = path ? fopen(path, "a") : NULL;

	if (f) {
		fputs("cancelled\n", f);
		fclose(f);
	}
}

/* Waits ms or until cancelled (lock held); whether cancelled. */
static bool nap(struct isol8_stream *st, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (!st->cancelled && pthread_cond_timedwait(&st->cond, &st->lock, &ts) == 0)
		;
	return st->cancelled;
}

static int finish(struct isol8_stream *st, struct isol8_event *ev)
{
	st->res = result_of("", 0);
	st->exit_sent = true;
	ev->type = ISOL8_EVENT_EXIT;
	ev->result = st->res;
	ev->phase = "code";
	return 1;
}

static int next_locked(struct isol8_stream *st, struct isol8_event *ev, struct isol8_error *err)
{
	memset(ev, 0, sizeof(*ev));
	if (st->exit_sent || st->ended)
		return 0;
	if (st->cancelled)
		goto cancelled;
	ev->phase = "code";
	switch (st->kind) {
	case 1:
		if (st->step >= st->total)
			return finish(st, ev);
		snprintf(st->line, sizeof(st->line), "line %d\n", st->step++);
		ev->type = ISOL8_EVENT_STDOUT, ev->data = st->line, ev->size = strlen(st->line);
		return 1;
	case 2:
		if (nap(st, st->total))
			goto cancelled;
		return finish(st, ev);
	case 3:
		if (st->step >= st->total)
			return finish(st, ev);
		if (st->chunk == NULL) {
			st->chunk = malloc(65536);
			memset(st->chunk, 'x', 65536);
		}
		st->step++;
		ev->type = ISOL8_EVENT_STDOUT, ev->data = st->chunk, ev->size = 65536;
		return 1;
	case 4: st->ended = true; return isol8_error_set(err, st->fail, "session_id: fake failure");
	case 5:
		while (st->pending_len == 0 && !st->stdin_eof && !st->cancelled)
			nap(st, 1000);
		if (st->cancelled)
			goto cancelled;
		if (st->pending_len == 0)
			return finish(st, ev);
		memcpy(st->line, st->pending, st->pending_len < 63 ? st->pending_len : 63);
		ev->type = ISOL8_EVENT_STDOUT, ev->data = st->line, ev->size = st->pending_len < 63 ? st->pending_len : 63;
		memmove(st->pending, st->pending + ev->size, st->pending_len - ev->size);
		st->pending_len -= ev->size;
		return 1;
	default:
		if (st->step++ == 0) {
			ev->type = ISOL8_EVENT_STDOUT, ev->data = st->code, ev->size = strlen(st->code);
			return 1;
		}
		return finish(st, ev);
	}
cancelled:
	st->ended = true;
	count_cancel();
	return isol8_error_set(err, ISOL8_E_CANCELLED, "cancelled");
}

int isol8_stream_next(struct isol8_stream *st, struct isol8_event *ev, struct isol8_error *err)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = next_locked(st, ev, err);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int isol8_stream_write_stdin(struct isol8_stream *st, const void *data, size_t size, struct isol8_error *err)
{
	(void)err;
	pthread_mutex_lock(&st->lock);
	st->pending = realloc(st->pending, st->pending_len + size);
	memcpy(st->pending + st->pending_len, data, size);
	st->pending_len += size;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

int isol8_stream_close_stdin(struct isol8_stream *st, struct isol8_error *err)
{
	(void)err;
	pthread_mutex_lock(&st->lock);
	st->stdin_eof = true;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

int isol8_stream_signal(struct isol8_stream *st, const char *name, struct isol8_error *err)
{
	if (strcmp(name, "SIGINT") != 0 && strcmp(name, "INT") != 0 && strcmp(name, "SIGTERM") != 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "signal: unknown signal \"%s\"", name);
	pthread_mutex_lock(&st->lock);
	st->cancelled = true; /* the fake program dies of it */
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

int isol8_stream_resize(struct isol8_stream *st, unsigned rows, unsigned cols, struct isol8_error *err)
{
	(void)st, (void)rows, (void)cols, (void)err;
	return 0;
}

void isol8_stream_cancel(struct isol8_stream *st)
{
	pthread_mutex_lock(&st->lock);
	st->cancelled = true;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

void isol8_stream_free(struct isol8_stream *st)
{
	if (st == NULL)
		return;
	isol8_result_free(st->res);
	free(st->chunk);
	free(st->pending);
	free(st->code);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	free(st);
}

static unsigned char *file_data;
static size_t file_size;
static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;

int isol8_put_file(struct isol8_client *c, const char *session_id, const char *path, const void *data, size_t size,
		   uint32_t mode, struct isol8_error *err)
{
	(void)path, (void)mode;
	if (check_key(c, err) < 0)
		return -err->code;
	if (strcmp(session_id, "s1") != 0)
		return isol8_error_set(err, ISOL8_E_NOT_FOUND, "session \"%s\" does not exist", session_id);
	pthread_mutex_lock(&file_lock);
	free(file_data);
	file_data = malloc(size ? size : 1);
	memcpy(file_data, data, size);
	file_size = size;
	pthread_mutex_unlock(&file_lock);
	return 0;
}

int isol8_get_file_to(struct isol8_client *c, const char *session_id, const char *path, isol8_write_fn write,
		      void *userdata, struct isol8_error *err)
{
	int ret = 0;

	(void)path;
	if (check_key(c, err) < 0)
		return -err->code;
	if (strcmp(session_id, "s1") != 0)
		return isol8_error_set(err, ISOL8_E_NOT_FOUND, "session \"%s\" does not exist", session_id);
	pthread_mutex_lock(&file_lock);
	for (size_t off = 0; off < file_size && ret == 0; off += 262144)
		ret = write(userdata, file_data + off, file_size - off < 262144 ? file_size - off : 262144);
	pthread_mutex_unlock(&file_lock);
	return ret < 0 ? isol8_error_set(err, ISOL8_E_IO, "write failed") : 0;
}

int isol8_list_sessions(struct isol8_client *c, struct isol8_session_info **out, size_t *n, struct isol8_error *err)
{
	if (check_key(c, err) < 0)
		return -err->code;
	*out = calloc(1, sizeof(**out));
	(*out)[0].id = strdup("s1");
	(*out)[0].runtime = strdup("python");
	(*out)[0].created_at = strdup("2026-01-01T00:00:00.000Z");
	(*out)[0].last_used_at = strdup("2026-01-01T00:01:00.000Z");
	(*out)[0].container_id = strdup("c1");
	*n = 1;
	return 0;
}

void isol8_session_infos_free(struct isol8_session_info *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].id);
		free(list[i].runtime);
		free(list[i].created_at);
		free(list[i].last_used_at);
		free(list[i].container_id);
	}
	free(list);
}

int isol8_destroy_session(struct isol8_client *c, const char *session_id, bool *existed, struct isol8_error *err)
{
	if (check_key(c, err) < 0)
		return -err->code;
	if (existed)
		*existed = strcmp(session_id, "s1") == 0;
	return 0;
}

int isol8_health(struct isol8_client *c, struct isol8_error *err)
{
	(void)c;
	if (getenv("FAKE_UNHEALTHY"))
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "Docker is not reachable");
	return 0;
}

int isol8_cleanup(struct isol8_client *c, const struct isol8_cleanup_options *opts, struct isol8_cleanup_result **out,
		  struct isol8_error *err)
{
	if (check_key(c, err) < 0)
		return -err->code;
	*out = calloc(1, sizeof(**out));
	(*out)->sessions.removed = opts->sessions ? 1 : 0;
	(*out)->containers.removed = 2;
	(*out)->images.removed = opts->images ? 3 : 0;
	return 0;
}

void isol8_cleanup_result_free(struct isol8_cleanup_result *res)
{
	free(res);
}
