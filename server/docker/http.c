/*
 * HTTP over the Docker socket: one libcurl easy handle per request, the
 * response body kept in a buffer bounded by ISOL8_DOCKER_MAX_BODY, or handed
 * over line by line for streamed endpoints (/build).
 *
 * curl_global_init runs once, on first use, under pthread_once.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "docker/docker_internal.h"
#include "base/util.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_NOTHING);
}

static void curl_cleanupp(CURL **c)
{
	if (*c != NULL)
		curl_easy_cleanup(*c);
}

static void slist_freep(struct curl_slist **l)
{
	curl_slist_free_all(*l);
}

enum body_mode { BODY_UNDECIDED, BODY_KEEP, BODY_STREAM };

struct transfer {
	CURL *curl;
	const struct isol8_docker_request *req;
	struct isol8_error *err;
	enum body_mode mode;
	char *buf;
	size_t len;
	size_t cap;
	bool over_limit;
	int failure; /* negative error from on_line or an allocation */
};

static int buffer_append(struct transfer *t, const char *data, size_t n)
{
	size_t need;

	if (!isol8_size_add(t->len, n, &need) || need > ISOL8_DOCKER_MAX_BODY) {
		t->over_limit = true;
		return -1;
	}
	if (need + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		while (cap < need + 1)
			cap *= 2;
		if (cap > ISOL8_DOCKER_MAX_BODY + 1)
			cap = ISOL8_DOCKER_MAX_BODY + 1;
		char *grown = realloc(t->buf, cap);
		if (grown == NULL) {
			t->failure = isol8_error_set(t->err, ISOL8_E_NOMEM, "docker: out of memory for a response body");
			return -1;
		}
		t->buf = grown;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, data, n);
	t->len = need;
	t->buf[t->len] = '\0';
	return 0;
}

/* Hands every complete line in the buffer to on_line and keeps the rest. */
static int flush_lines(struct transfer *t, bool final)
{
	size_t start = 0;

	for (;;) {
		char *nl = memchr(t->buf + start, '\n', t->len - start);
		size_t end = nl ? (size_t)(nl - t->buf) : t->len;
		if (nl == NULL && (!final || end == start))
			break;
		t->buf[end] = '\0';
		int r = t->req->on_line(t->buf + start, end - start, t->req->userdata);
		if (r < 0) {
			t->failure = r;
			return -1;
		}
		start = nl ? end + 1 : end;
	}
	memmove(t->buf, t->buf + start, t->len - start);
	t->len -= start;
	if (t->buf)
		t->buf[t->len] = '\0';
	return 0;
}

static enum body_mode decide_mode(struct transfer *t)
{
	long status = 0;

	if (t->req->on_line == NULL)
		return BODY_KEEP;
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
	return (status >= 200 && status < 300) ? BODY_STREAM : BODY_KEEP;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct transfer *t = userdata;
	size_t n = size * nmemb;

	if (t->mode == BODY_UNDECIDED)
		t->mode = decide_mode(t);
	if (buffer_append(t, data, n) < 0)
		return 0;
	if (t->mode == BODY_STREAM && flush_lines(t, false) < 0)
		return 0;
	return n;
}

static long request_timeout(const struct isol8_docker_request *req)
{
	return req->timeout_ms > 0 ? req->timeout_ms : ISOL8_DOCKER_REQUEST_TIMEOUT_MS;
}

static int transport_error(const struct isol8_docker *d, const struct isol8_docker_request *req,
			   struct transfer *t, CURLcode rc, const char *errbuf, struct isol8_error *err)
{
	long os_errno = 0;

	if (t->failure < 0)
		return t->failure;
	if (t->over_limit || rc == CURLE_FILESIZE_EXCEEDED)
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "docker: response to %s %s exceeds %u bytes",
				       req->method, req->path, ISOL8_DOCKER_MAX_BODY);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return isol8_error_set(err, ISOL8_E_DEADLINE, "docker: %s %s timed out after %ld ms",
				       req->method, req->path, request_timeout(req));
	if (rc == CURLE_COULDNT_CONNECT) {
		curl_easy_getinfo(t->curl, CURLINFO_OS_ERRNO, &os_errno);
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "docker: cannot reach %s: %s", d->socket_path,
				       os_errno ? strerror((int)os_errno) : curl_easy_strerror(rc));
	}
	return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "docker: %s %s on %s failed: %s", req->method,
			       req->path, d->socket_path, errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

/* Reads a streamed request body from the request's file descriptor. */
static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
	const struct isol8_docker_request *req = userdata;
	ssize_t n;

	do
		n = read(req->body_fd, buf, size * nitems);
	while (n < 0 && errno == EINTR);
	return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
}

static int set_method(CURL *curl, const struct isol8_docker_request *req)
{
	CURLcode rc = CURLE_OK;

	if (strcmp(req->method, "POST") == 0 && req->body_from_fd) {
		rc |= curl_easy_setopt(curl, CURLOPT_POST, 1L);
		rc |= curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
		rc |= curl_easy_setopt(curl, CURLOPT_READDATA, (void *)req);
		rc |= curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (strcmp(req->method, "POST") == 0) {
		rc |= curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
		rc |= curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (strcmp(req->method, "GET") != 0) {
		rc |= curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	}
	return rc == CURLE_OK ? 0 : -1;
}

static int set_options(CURL *curl, const struct isol8_docker *d, const struct isol8_docker_request *req,
		       const char *url, struct curl_slist *headers, struct transfer *t, char *errbuf)
{
	CURLcode rc = CURLE_OK;
	long timeout = request_timeout(req);

	rc |= curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, d->socket_path);
	rc |= curl_easy_setopt(curl, CURLOPT_URL, url);
	rc |= curl_easy_setopt(curl, CURLOPT_PROXY, "");
	rc |= curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	rc |= curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
	rc |= curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
	rc |= curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	rc |= curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout < 10000L ? timeout : 10000L);
	if (!req->no_timeout)
		rc |= curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout);
	if (req->on_line == NULL)
		rc |= curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ISOL8_DOCKER_MAX_BODY);
	if (rc != CURLE_OK || set_method(curl, req) < 0)
		return -1;
	return 0;
}

static struct curl_slist *make_headers(const struct isol8_docker_request *req)
{
	struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
	_cleanup_free_ char *ct = NULL;

	if (headers == NULL || req->content_type == NULL)
		return headers;
	ct = isol8_docker_format(NULL, "Content-Type: %s", req->content_type);
	struct curl_slist *more = ct ? curl_slist_append(headers, ct) : NULL;
	if (more == NULL) {
		curl_slist_free_all(headers);
		return NULL;
	}
	return more;
}

int isol8_docker_http(const struct isol8_docker *d, const struct isol8_docker_request *req,
		      struct isol8_docker_response *resp, struct isol8_error *err)
{
	__attribute__((cleanup(curl_cleanupp))) CURL *curl = NULL;
	__attribute__((cleanup(slist_freep))) struct curl_slist *headers = NULL;
	_cleanup_free_ char *url = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct transfer t = {.req = req, .err = err};
	CURLcode rc;

	memset(resp, 0, sizeof(*resp));
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "docker: curl_global_init failed: %s",
				       curl_easy_strerror(curl_init_result));
	url = isol8_docker_format(NULL, "http://localhost/%s%s", ISOL8_DOCKER_API_VERSION, req->path);
	curl = curl_easy_init();
	headers = make_headers(req);
	if (url == NULL || curl == NULL || headers == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "docker: out of memory for a request");
	t.curl = curl;
	if (set_options(curl, d, req, url, headers, &t, errbuf) < 0)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "docker: cannot set up a curl request");
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK && t.mode == BODY_STREAM && flush_lines(&t, true) < 0)
		rc = CURLE_WRITE_ERROR;
	if (rc != CURLE_OK) {
		free(t.buf);
		return transport_error(d, req, &t, rc, errbuf, err);
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (t.mode == BODY_STREAM || t.len == 0) {
		free(t.buf);
		return 0;
	}
	resp->body = t.buf;
	resp->len = t.len;
	return 0;
}

void isol8_docker_response_release(struct isol8_docker_response *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

/* Sends a body-less request; a response with status `tolerated` counts as
 * success, as does any 2xx. */
int isol8_docker_request_simple(const struct isol8_docker *d, const char *method, const char *path, long tolerated,
				struct isol8_error *err)
{
	_cleanup_response_ struct isol8_docker_response resp = {0};
	const struct isol8_docker_request req = {.method = method, .path = path};
	int r;

	r = isol8_docker_http(d, &req, &resp, err);
	if (r < 0)
		return r;
	if (resp.status == tolerated)
		return 0;
	return isol8_docker_check_status(&resp, err);
}
