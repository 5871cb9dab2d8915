/*
 * Remote code: an ExecuteRequest's code_url, fetched by isol8d under the
 * operator's remoteCode policy, then run like inline code.
 *
 * The policy (configuration remoteCode.*): off unless enabled; the URL's
 * scheme in allowedSchemes ("https"; "http" only when the request also
 * sets allow_insecure_code_url); its host matched by no blockedHosts
 * regex and, when allowedHosts is not empty, by one of those (POSIX
 * extended regexes, case-insensitive, compiled once, matched against the
 * host without a trailing dot and with an IPv4-mapped IPv6 literal as its
 * IPv4 address); no user or password
 * in it; with requireHash a code_hash. Every address the fetch connects
 * to passes the SSRF guard (egress/guard.h; network.allowedRanges lets a
 * range through). Redirects are followed by hand, at most
 * ISOL8_REMOTE_MAX_REDIRECTS, each hop held to the same checks. The body
 * is read up to maxCodeSize (and no further than the ISOL8_MAX_PAYLOAD
 * one execution carries), the whole fetch within fetchTimeoutMs; it
 * must be UTF-8 text without a NUL byte (what inline code is), and match
 * code_hash (SHA-256, hex) when one is given. Verified code is kept in a
 * cache keyed by URL and code_hash for cacheTtl seconds (enableCache),
 * unless a redirect brought an https URL's code over plain http (a later
 * caller need not allow that).
 *
 * Errors (each names the field, and the URL where there is one):
 * ISOL8_E_PERMISSION for what the policy refuses (disabled, scheme, host,
 * an address the guard refuses, a redirect to any of those);
 * ISOL8_E_INVALID for a malformed URL or hash, plain http without
 * allow_insecure_code_url, a missing hash the policy requires, a hash
 * mismatch (both hashes shown) and a body that is not text;
 * ISOL8_E_EXHAUSTED past maxCodeSize; ISOL8_E_DEADLINE past
 * fetchTimeoutMs; ISOL8_E_UNAVAILABLE when the server cannot be reached or
 * answers with an error status; ISOL8_E_CANCELLED when the caller went.
 *
 * Threads: one struct isol8_remote serves every execution at once; its
 * policy is read-only after isol8_remote_new and the cache has its own
 * lock.
 */
#ifndef ISOL8_ENGINE_REMOTE_H
#define ISOL8_ENGINE_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isol8/error.h"
#include "egress/guard.h"

#define ISOL8_REMOTE_MAX_REDIRECTS 5
/* Response headers one hop may send, in all. */
#define ISOL8_REMOTE_MAX_HEADERS (64u << 10)
/* The cache's bounds. */
#define ISOL8_REMOTE_CACHE_ENTRIES 64
#define ISOL8_REMOTE_CACHE_BYTES (64u << 20)
/* Longest code_url taken. */
#define ISOL8_REMOTE_URL_MAX 4096

/* What the operator configured (strings borrowed for isol8_remote_new only). */
struct isol8_remote_settings {
	bool enabled;
	const char *const *allowed_schemes;
	size_t n_allowed_schemes;
	const char *const *allowed_hosts;
	size_t n_allowed_hosts;
	const char *const *blocked_hosts;
	size_t n_blocked_hosts;
	int64_t max_code_size;     /* bytes */
	int64_t fetch_timeout_ms;
	bool require_hash;
	bool enable_cache;
	int64_t cache_ttl_s;       /* 0: nothing is kept */
	/* what the SSRF guard lets through: network.allowedRanges, parsed
	 * once for the egress proxy and this (copied) */
	struct isol8_net_guard guard;
};

/* The built-in settings: disabled, https only, no host lists, 10 MiB,
 * 30 s, no hash required, a cache of an hour. */
void isol8_remote_settings_init(struct isol8_remote_settings *s);

struct isol8_remote;

/* Compiles the settings. ISOL8_E_INVALID naming the key
 * ("remoteCode.blockedHosts[2]: ...", "network.allowedRanges[0]: ...")
 * for a regex, scheme or range that is not one. */
int isol8_remote_new(struct isol8_remote **out, const struct isol8_remote_settings *s, struct isol8_error *err);
void isol8_remote_free(struct isol8_remote *r);

/* The runtime a code URL's extension picks (base/runtimes.h's table, the
 * path's last component, query and fragment ignored) and the code file
 * extension it asks for ("mjs", "cjs" or NULL); NULL when it picks none. */
const char *isol8_remote_runtime_of(const char *url, const char **file_extension);

/* One fetch. */
struct isol8_remote_request {
	const char *url;
	const char *hash;             /* "" or NULL: none */
	bool allow_insecure;          /* allow_insecure_code_url */
	/* polled while fetching: true stops it (ISOL8_E_CANCELLED) */
	bool (*cancelled)(void *userdata);
	void *userdata;
};

/* What the policy says of a request before anything is fetched. */
int isol8_remote_check(const struct isol8_remote *r, const struct isol8_remote_request *req,
		       struct isol8_error *err);

/* Checks, then takes the code from the cache or fetches and verifies it.
 * *code (malloc'd, NUL-terminated, *len bytes) is the caller's;
 * *from_cache says where it came from. */
int isol8_remote_fetch(struct isol8_remote *r, const struct isol8_remote_request *req, char **code, size_t *len,
		       bool *from_cache, struct isol8_error *err);

/* The body checks: text (UTF-8, no NUL, not empty) and, when hash is
 * given, its SHA-256. Exposed for tests. */
int isol8_remote_verify(const char *url, const char *hash, const char *body, size_t len, struct isol8_error *err);

#endif
