/* The remote-code policy: its settings compiled once, and the checks of a
 * URL and a request before anything is fetched. See remote.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/runtimes.h"
#include "base/util.h"
#include "engine/remote_internal.h"

/* The schemes isol8d can fetch with (the libcurl protocols it enables). */
static const char *const fetchable[] = {"http", "https"};

void isol8_remote_settings_init(struct isol8_remote_settings *s)
{
	static const char *const https[] = {"https"};

	memset(s, 0, sizeof(*s));
	s->allowed_schemes = https;
	s->n_allowed_schemes = 1;
	s->max_code_size = 10 << 20;
	s->fetch_timeout_ms = 30000;
	s->enable_cache = true;
	s->cache_ttl_s = 3600;
}

static int compile_hosts(const char *key, const char *const *texts, size_t n, struct host_rule **out,
			 size_t *n_out, struct isol8_error *err)
{
	struct host_rule *rules = calloc(n ? n : 1, sizeof(*rules));

	*out = rules;
	*n_out = 0;
	if (rules == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		int rc = regcomp(&rules[i].re, texts[i], REG_EXTENDED | REG_ICASE | REG_NOSUB);
		if (rc != 0) {
			char why[128];
			regerror(rc, &rules[i].re, why, sizeof(why));
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "%s[%zu]: not a POSIX extended regular expression (%s)", key, i, why);
		}
		*n_out = i + 1;
		rules[i].text = strdup(texts[i]);
		if (rules[i].text == NULL)
			return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	return 0;
}

static int copy_schemes(struct isol8_remote *r, const struct isol8_remote_settings *s, struct isol8_error *err)
{
	if (s->n_allowed_schemes > REMOTE_MAX_SCHEMES)
		return isol8_error_set(err, ISOL8_E_INVALID, "remoteCode.allowedSchemes: at most %d schemes",
				       REMOTE_MAX_SCHEMES);
	for (size_t i = 0; i < s->n_allowed_schemes; i++) {
		const char *name = s->allowed_schemes[i];
		bool known = false;
		for (size_t k = 0; k < ISOL8_ARRAY_LEN(fetchable); k++)
			known = known || strcasecmp(name, fetchable[k]) == 0;
		if (!known)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "remoteCode.allowedSchemes[%zu]: \"%s\" is not a scheme isol8d fetches "
					       "(http, https)",
					       i, name);
		for (size_t c = 0; name[c] != '\0'; c++)
			r->schemes[r->n_schemes][c] = (char)tolower((unsigned char)name[c]);
		r->n_schemes++;
	}
	return 0;
}

static int compile(struct isol8_remote *r, const struct isol8_remote_settings *s, struct isol8_error *err)
{
	int ret = copy_schemes(r, s, err);

	if (ret == 0)
		ret = compile_hosts("remoteCode.allowedHosts", s->allowed_hosts, s->n_allowed_hosts, &r->allowed,
				    &r->n_allowed, err);
	if (ret == 0)
		ret = compile_hosts("remoteCode.blockedHosts", s->blocked_hosts, s->n_blocked_hosts, &r->blocked,
				    &r->n_blocked, err);
	r->guard = s->guard;
	if (ret == 0 && s->max_code_size < 1)
		ret = isol8_error_set(err, ISOL8_E_INVALID, "remoteCode.maxCodeSize: at least 1 byte");
	if (ret == 0 && s->fetch_timeout_ms < 1)
		ret = isol8_error_set(err, ISOL8_E_INVALID, "remoteCode.fetchTimeoutMs: at least 1 ms");
	return ret;
}

int isol8_remote_new(struct isol8_remote **out, const struct isol8_remote_settings *s, struct isol8_error *err)
{
	struct isol8_remote *r = calloc(1, sizeof(*r));
	int ret;

	*out = NULL;
	if (r == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	r->enabled = s->enabled;
	r->max_code_size = s->max_code_size;
	r->fetch_timeout_ms = s->fetch_timeout_ms;
	r->require_hash = s->require_hash;
	r->use_cache = s->enable_cache && s->cache_ttl_s > 0;
	isol8_remote_cache_init(&r->cache, ISOL8_REMOTE_CACHE_ENTRIES, ISOL8_REMOTE_CACHE_BYTES,
				s->cache_ttl_s * 1000);
	ret = compile(r, s, err);
	if (ret == 0) {
		r->curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
		if (!r->curl_ready)
			ret = isol8_error_set(err, ISOL8_E_INTERNAL, "remote code: curl_global_init failed");
	}
	if (ret < 0) {
		isol8_remote_free(r);
		return ret;
	}
	*out = r;
	return 0;
}

static void free_rules(struct host_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		regfree(&rules[i].re);
		free(rules[i].text);
	}
	free(rules);
}

void isol8_remote_free(struct isol8_remote *r)
{
	if (r == NULL)
		return;
	free_rules(r->allowed, r->n_allowed);
	free_rules(r->blocked, r->n_blocked);
	isol8_remote_cache_release(&r->cache);
	if (r->curl_ready)
		curl_global_cleanup();
	free(r);
}

const char *isol8_remote_runtime_of(const char *url, const char **file_extension)
{
	const char *end = url + strcspn(url, "?#");
	const char *base = url, *dot = NULL;
	const struct isol8_runtime_info *row;
	char ext[16];

	*file_extension = NULL;
	for (const char *p = url; p < end; p++)
		if (*p == '/')
			base = p + 1;
	for (const char *p = base; p < end; p++)
		if (*p == '.')
			dot = p;
	if (dot == NULL || dot == base || (size_t)(end - dot) >= sizeof(ext))
		return NULL;
	memcpy(ext, dot, (size_t)(end - dot));
	ext[end - dot] = '\0';
	row = isol8_runtime_for_extension(ext, file_extension);
	return row != NULL ? row->name : NULL;
}

/* The parts of a URL the rules look at. */
struct url_parts {
	char *scheme, *host, *user, *password;
	CURLUcode no_host;        /* why host is NULL, CURLUE_OK when it is not */
};

static void url_parts_release(struct url_parts *p)
{
	curl_free(p->scheme);
	curl_free(p->host);
	curl_free(p->user);
	curl_free(p->password);
}

/* host as the rules see it, in place: lowercase, without the root's
 * trailing dot ("example.com." is example.com), an IPv4-mapped IPv6
 * literal as its IPv4 address ("[::ffff:127.0.0.1]" is 127.0.0.1). Each
 * form is shorter than the one it replaces. */
static void canonical_host(char *host)
{
	size_t n = strlen(host);
	struct in6_addr a6;
	char inner[INET6_ADDRSTRLEN];

	for (char *c = host; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	while (n > 1 && host[n - 1] == '.')
		host[--n] = '\0';
	if (n < 3 || host[0] != '[' || host[n - 1] != ']' || n - 2 >= sizeof(inner))
		return;
	memcpy(inner, host + 1, n - 2);
	inner[n - 2] = '\0';
	if (inet_pton(AF_INET6, inner, &a6) == 1 && IN6_IS_ADDR_V4MAPPED(&a6))
		inet_ntop(AF_INET, &a6.s6_addr[12], host, (socklen_t)(n + 1));
}

static int split_url(const char *url, struct url_parts *p, struct isol8_error *err)
{
	CURLU *u = curl_url();
	CURLUcode rc;

	memset(p, 0, sizeof(*p));
	if (u == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	rc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (rc == CURLUE_OK)
		rc = curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0);
	if (rc == CURLUE_OK)
		rc = curl_url_get(u, CURLUPART_HOST, &p->host, 0);
	/* a scheme without a host (file:///etc/passwd) is refused for its scheme */
	if (rc == CURLUE_NO_HOST)
		p->no_host = rc;
	if (rc == CURLUE_OK && curl_url_get(u, CURLUPART_USER, &p->user, 0) != CURLUE_OK)
		p->user = NULL;
	if (rc == CURLUE_OK && curl_url_get(u, CURLUPART_PASSWORD, &p->password, 0) != CURLUE_OK)
		p->password = NULL;
	curl_url_cleanup(u);
	if (rc == CURLUE_OUT_OF_MEMORY)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	if (rc != CURLUE_OK && rc != CURLUE_NO_HOST)
		return isol8_error_set(err, ISOL8_E_INVALID, "not a URL (%s)", curl_url_strerror(rc));
	if (p->host != NULL)
		canonical_host(p->host);
	return 0;
}

static bool scheme_allowed(const struct isol8_remote *r, const char *scheme)
{
	for (size_t i = 0; i < r->n_schemes; i++)
		if (strcmp(r->schemes[i], scheme) == 0)
			return true;
	return false;
}

static const struct host_rule *host_match(const struct host_rule *rules, size_t n, const char *host)
{
	for (size_t i = 0; i < n; i++)
		if (regexec(&rules[i].re, host, 0, NULL, 0) == 0)
			return &rules[i];
	return NULL;
}

/* The rules on the parts of one URL; messages say what is wrong, without
 * the URL (callers name it). */
static int check_parts(const struct isol8_remote *r, const struct url_parts *p, bool allow_insecure,
		       struct isol8_error *err)
{
	const struct host_rule *rule;

	if (strcmp(p->scheme, "http") == 0 && !allow_insecure)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "plain http is refused unless the request sets allow_insecure_code_url "
				       "(--allow-insecure-code-url)");
	if (!scheme_allowed(r, p->scheme))
		return isol8_error_set(err, ISOL8_E_PERMISSION,
				       "scheme \"%.16s\" is not in this isol8d's remoteCode.allowedSchemes", p->scheme);
	if (p->host == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "not a URL (%s)", curl_url_strerror(p->no_host));
	if (p->user != NULL || p->password != NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "a user or password in the URL is refused (isol8d "
							     "sends no credentials)");
	rule = host_match(r->blocked, r->n_blocked, p->host);
	if (rule != NULL)
		return isol8_error_set(err, ISOL8_E_PERMISSION, "host \"%.128s\" is blocked by remoteCode.blockedHosts (\"%.128s\")",
				       p->host, rule->text);
	if (r->n_allowed > 0 && host_match(r->allowed, r->n_allowed, p->host) == NULL)
		return isol8_error_set(err, ISOL8_E_PERMISSION,
				       "host \"%.128s\" is not in this isol8d's remoteCode.allowedHosts", p->host);
	return 0;
}

int isol8_remote_check_url(const struct isol8_remote *r, const char *url, bool allow_insecure,
			   struct isol8_error *err)
{
	struct url_parts p;
	int ret = split_url(url, &p, err);

	if (ret == 0)
		ret = check_parts(r, &p, allow_insecure, err);
	url_parts_release(&p);
	return ret;
}

static bool is_digest(const char *hash)
{
	return strlen(hash) == 64 && strspn(hash, "0123456789abcdefABCDEF") == 64;
}

int isol8_remote_check(const struct isol8_remote *r, const struct isol8_remote_request *req,
		       struct isol8_error *err)
{
	const char *hash = req->hash != NULL ? req->hash : "";

	if (!r->enabled)
		return isol8_error_set(err, ISOL8_E_PERMISSION,
				       "code_url: remote code is disabled on this isol8d (set remoteCode.enabled: true "
				       "in its configuration file to allow it)");
	if (strlen(req->url) > ISOL8_REMOTE_URL_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "code_url: longer than %d bytes", ISOL8_REMOTE_URL_MAX);
	if (isol8_remote_check_url(r, req->url, req->allow_insecure, err) < 0)
		return isol8_error_prefix(err, "code_url: \"%.200s\"", req->url);
	if (hash[0] != '\0' && !is_digest(hash))
		return isol8_error_set(err, ISOL8_E_INVALID, "code_hash: \"%.80s\" is not a SHA-256 digest (64 hex digits)",
				       hash);
	if (hash[0] == '\0' && r->require_hash)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "code_hash: required by this isol8d's remoteCode.requireHash (give the code's "
				       "SHA-256)");
	return 0;
}
