/* Internals of remote code (remote.h), shared by remote*.c. */
#ifndef ISOL8_ENGINE_REMOTE_INTERNAL_H
#define ISOL8_ENGINE_REMOTE_INTERNAL_H

#include <pthread.h>
#include <regex.h>

#include "egress/guard.h"
#include "engine/remote.h"

#define REMOTE_MAX_SCHEMES 4

/* The verified code kept per URL and hash (remote_cache.c). */
struct isol8_remote_cache_entry {
	char *url;
	char hash[65];            /* lowercase, "" for none */
	char *code;
	size_t len;
	int64_t stored_ms;
};

struct isol8_remote_cache {
	pthread_mutex_t lock;
	struct isol8_remote_cache_entry entries[ISOL8_REMOTE_CACHE_ENTRIES];
	size_t max_entries;       /* at most ISOL8_REMOTE_CACHE_ENTRIES */
	size_t max_bytes;
	size_t bytes;             /* code held, in all */
	int64_t ttl_ms;
};

/* A cache of at most max_entries entries and max_bytes of code, each kept
 * ttl_ms. */
void isol8_remote_cache_init(struct isol8_remote_cache *c, size_t max_entries, size_t max_bytes, int64_t ttl_ms);
void isol8_remote_cache_release(struct isol8_remote_cache *c);

/* A copy of the code kept for (url, hash) and still fresh at now_ms: 1
 * with *code (malloc'd) and *len, 0 when there is none, negative on
 * ISOL8_E_NOMEM. */
int isol8_remote_cache_get(struct isol8_remote_cache *c, const char *url, const char *hash, int64_t now_ms,
			   char **code, size_t *len, struct isol8_error *err);

/* Keeps a copy, replacing what (url, hash) had; stale entries go first,
 * then the oldest, until it fits. Code larger than the cache is not kept. */
int isol8_remote_cache_put(struct isol8_remote_cache *c, const char *url, const char *hash, const char *code,
			   size_t len, int64_t now_ms, struct isol8_error *err);

/* Entries held now. */
size_t isol8_remote_cache_count(struct isol8_remote_cache *c);

struct host_rule {
	regex_t re;
	char *text;
};

struct isol8_remote {
	bool enabled;
	char schemes[REMOTE_MAX_SCHEMES][8];
	size_t n_schemes;
	struct host_rule *allowed, *blocked;
	size_t n_allowed, n_blocked;
	int64_t max_code_size;
	int64_t fetch_timeout_ms;
	bool require_hash;
	bool use_cache;
	struct isol8_net_guard guard;
	struct isol8_remote_cache cache;
	bool curl_ready;          /* curl_global_init done, to undo */
};

/* Checks one URL (the request's or a redirect's) against the scheme, host
 * and credential rules. Messages say what is wrong without the URL: the
 * caller names it. */
int isol8_remote_check_url(const struct isol8_remote *r, const char *url, bool allow_insecure,
			   struct isol8_error *err);

/* Fetches req->url (its checks done), following redirects: the body into
 * *body (malloc'd, NUL-terminated), *len; *plain says whether a hop was
 * plain http. */
int isol8_remote_transfer(const struct isol8_remote *r, const struct isol8_remote_request *req, char **body,
			  size_t *len, bool *plain, struct isol8_error *err);

/* Whether code fetched for url may be kept: not when a hop was plain
 * http (plain) but url is not, since a reader of url need not allow
 * insecure code URLs. */
bool isol8_remote_cacheable(const char *url, bool plain);

#endif
