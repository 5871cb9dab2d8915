/*
 * The fetch of remote code with libcurl (remote.h): one easy handle per
 * fetch, GET only, http and https only, no proxy, no credentials, no
 * cookies, no decoding of compressed bodies. Every address curl would
 * connect to passes the SSRF guard first (the open-socket callback refuses
 * it otherwise); redirects are followed here, each hop checked like the
 * first URL; the body is bounded by maxCodeSize, the headers by
 * ISOL8_REMOTE_MAX_HEADERS, the whole fetch by fetchTimeoutMs, and the
 * caller's cancellation is polled by the progress callback.
 */
#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/util.h"
#include "engine/options.h"
#include "engine/remote_internal.h"

struct transfer {
	const struct isol8_remote *r;
	const struct isol8_remote_request *req;
	char *body;
	size_t len, cap, max;
	bool too_large;
	size_t header_bytes;
	bool headers_too_big;
	bool headers_done;        /* the blank line after the last status's headers came */
	char refused[192];        /* why the guard refused an address, "" if it did not */
	char errbuf[CURL_ERROR_SIZE];
};

static curl_socket_t open_socket(void *userdata, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct transfer *t = userdata;
	struct sockaddr_storage ss;
	char why[160];

	if (purpose != CURLSOCKTYPE_IPCXN || a->addrlen > sizeof(ss))
		return CURL_SOCKET_BAD;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, (const char *)a + offsetof(struct curl_sockaddr, addr), a->addrlen);
	if (!isol8_net_guard_permits(&t->r->guard, (const struct sockaddr *)&ss, why, sizeof(why))) {
		snprintf(t->refused, sizeof(t->refused), "%s", why);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * n, need;

	if (!isol8_size_add(t->len, len, &need) || need > t->max) {
		t->too_large = true;
		return 0;
	}
	if (need + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 16384;
		char *p;
		while (cap < need + 1)
			cap *= 2;
		if (cap > t->max + 1)
			cap = t->max + 1;
		p = realloc(t->body, cap);
		if (p == NULL)
			return 0;
		t->body = p;
		t->cap = cap;
	}
	memcpy(t->body + t->len, data, len);
	t->len = need;
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * n;

	t->headers_done = len <= 2 && (len == 0 || data[0] == '\r' || data[0] == '\n');
	t->header_bytes += len;
	if (t->header_bytes > ISOL8_REMOTE_MAX_HEADERS) {
		t->headers_too_big = true;
		return 0;
	}
	return len;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct transfer *t = userdata;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return t->req->cancelled != NULL && t->req->cancelled(t->req->userdata);
}

static void curl_cleanupp(CURL **c)
{
	if (*c != NULL)
		curl_easy_cleanup(*c);
}

/* The options every hop has. */
static int set_options(CURL *c, struct transfer *t)
{
	CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                                                                  \
	if (rc == CURLE_OK)                                                                                            \
	rc = curl_easy_setopt(c, opt, val)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_PROXY, "");
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_NONE);
	SET(CURLOPT_USERAGENT, "isol8d");
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->max);
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SET(CURLOPT_OPENSOCKETDATA, t);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, t);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, t);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_XFERINFODATA, t);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_ERRORBUFFER, t->errbuf);
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

/* What curl ends a hop with when one header line passes its buffer:
 * out of memory, CURLE_TOO_LARGE since 8.6.0. */
static bool header_overflow(CURLcode rc)
{
#if LIBCURL_VERSION_NUM >= 0x080600
	if (rc == CURLE_TOO_LARGE)
		return true;
#endif
	return rc == CURLE_OUT_OF_MEMORY;
}

/* The error of a hop that curl ended with rc. */
static int hop_error(const struct transfer *t, CURLcode rc, struct isol8_error *err)
{
	if ((t->too_large || rc == CURLE_FILESIZE_EXCEEDED) && t->max < (size_t)t->r->max_code_size)
		return isol8_error_set(err, ISOL8_E_EXHAUSTED, "the code is larger than the %zu bytes one execution "
							       "carries", t->max);
	if (t->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		return isol8_error_set(err, ISOL8_E_EXHAUSTED, "the code is larger than remoteCode.maxCodeSize (%zu bytes)",
				       t->max);
	/* curl gives up on one header line past its own buffer (100 KiB)
	 * before on_header sees it: that is past ours too */
	if (t->headers_too_big || (header_overflow(rc) && !t->headers_done))
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "the server's headers pass %u bytes",
				       ISOL8_REMOTE_MAX_HEADERS);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return isol8_error_set(err, ISOL8_E_CANCELLED, "the call was cancelled during the fetch");
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return isol8_error_set(err, ISOL8_E_DEADLINE, "no complete answer within remoteCode.fetchTimeoutMs (%lld ms)",
				       (long long)t->r->fetch_timeout_ms);
	if (rc == CURLE_COULDNT_CONNECT && t->refused[0] != '\0')
		return isol8_error_set(err, ISOL8_E_PERMISSION, "%s (network.allowedRanges can let it through)",
				       t->refused);
	if (rc == CURLE_WRITE_ERROR)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "cannot fetch it: %s",
			       t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
}

/* One GET of url within the time left. *next: the redirect's target
 * (malloc'd) when the answer is one, else NULL with the body in t. */
static int hop(CURL *c, struct transfer *t, const char *url, int64_t deadline_ms, char **next, struct isol8_error *err)
{
	int64_t left = deadline_ms - isol8_now_ms();
	long status = 0;
	char *location = NULL;
	CURLcode rc;

	*next = NULL;
	t->len = 0;
	t->header_bytes = 0;
	t->headers_too_big = t->headers_done = false;
	t->refused[0] = t->errbuf[0] = '\0';
	if (left <= 0)
		return hop_error(t, CURLE_OPERATION_TIMEDOUT, err);
	rc = curl_easy_setopt(c, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left);
	if (rc != CURLE_OK)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "curl: %s", curl_easy_strerror(rc));
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		return hop_error(t, rc, err);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return 0;
	if (status >= 300 && status < 400 && curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location) == CURLE_OK &&
	    location != NULL) {
		if (strlen(location) > ISOL8_REMOTE_URL_MAX)
			return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "it redirects to a URL longer than %d bytes",
					       ISOL8_REMOTE_URL_MAX);
		*next = strdup(location);
		return *next != NULL ? 0 : isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "the server answered HTTP %ld", status);
}

int isol8_remote_transfer(const struct isol8_remote *r, const struct isol8_remote_request *req, char **body,
			  size_t *len, bool *plain, struct isol8_error *err)
{
	__attribute__((cleanup(curl_cleanupp))) CURL *c = curl_easy_init();
	struct transfer t = {.r = r, .req = req, .max = (size_t)r->max_code_size};
	int64_t deadline = isol8_now_ms() + r->fetch_timeout_ms;
	_cleanup_free_ char *url = NULL;
	int ret = 0;

	/* what an execution could not carry anyway is not read either */
	if (t.max > ISOL8_MAX_PAYLOAD)
		t.max = ISOL8_MAX_PAYLOAD;
	if (c == NULL || set_options(c, &t) < 0)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	url = strdup(req->url);
	if (url == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	*plain = false;
	for (int hops = 0;; hops++) {
		char *next = NULL;
		*plain = *plain || strncasecmp(url, "http:", 5) == 0;
		ret = hop(c, &t, url, deadline, &next, err);
		if (ret < 0 || next == NULL)
			break;
		if (hops == ISOL8_REMOTE_MAX_REDIRECTS) {
			free(next);
			ret = isol8_error_set(err, ISOL8_E_UNAVAILABLE, "more than %d redirects",
					      ISOL8_REMOTE_MAX_REDIRECTS);
			break;
		}
		ret = isol8_remote_check_url(r, next, req->allow_insecure, err);
		if (ret < 0) {
			isol8_error_prefix(err, "it redirects to \"%.200s\"", next);
			free(next);
			break;
		}
		free(url);
		url = next;
	}
	if (ret < 0 && strcmp(url, req->url) != 0)
		isol8_error_prefix(err, "redirected to \"%.200s\"", url);
	if (ret < 0) {
		free(t.body);
		return ret;
	}
	if (t.body == NULL && (t.body = malloc(1)) == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	t.body[t.len] = '\0';
	*body = t.body;
	*len = t.len;
	return 0;
}
