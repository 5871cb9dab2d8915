/* Remote code, one fetch: the policy's checks, the cache, the transfer and
 * the body's verification. See remote.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/sha256.h"
#include "base/util.h"
#include "engine/remote_internal.h"

int isol8_remote_verify(const char *url, const char *hash, const char *body, size_t len, struct isol8_error *err)
{
	const unsigned char *p = (const unsigned char *)body;
	struct isol8_sha256 sha;
	char actual[65];

	if (len == 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "code_url: \"%.200s\": the code is empty", url);
	for (size_t i = 0; i < len;) {
		size_t n = isol8_utf8_sequence(p + i, len - i);
		if (n == 0)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "code_url: \"%.200s\": the code is not UTF-8 text (byte %zu)", url, i);
		if (p[i] == '\0')
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "code_url: \"%.200s\": the code contains a NUL byte (byte %zu)", url, i);
		i += n;
	}
	if (hash == NULL || hash[0] == '\0')
		return 0;
	isol8_sha256_init(&sha);
	isol8_sha256_update(&sha, body, len);
	isol8_sha256_hex(&sha, actual);
	if (strcasecmp(actual, hash) != 0)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "code_hash: the code at \"%.200s\" has SHA-256 %s, not the expected %.64s", url,
				       actual, hash);
	return 0;
}

bool isol8_remote_cacheable(const char *url, bool plain)
{
	return !plain || strncasecmp(url, "http:", 5) == 0;
}

int isol8_remote_fetch(struct isol8_remote *r, const struct isol8_remote_request *req, char **code, size_t *len,
		       bool *from_cache, struct isol8_error *err)
{
	const char *hash = req->hash != NULL ? req->hash : "";
	char *body = NULL;
	bool plain = false;
	int ret = isol8_remote_check(r, req, err);

	*from_cache = false;
	if (ret == 0 && r->use_cache) {
		ret = isol8_remote_cache_get(&r->cache, req->url, hash, isol8_now_ms(), code, len, err);
		if (ret == 1) {
			*from_cache = true;
			return 0;
		}
	}
	if (ret < 0)
		return ret;
	ret = isol8_remote_transfer(r, req, &body, len, &plain, err);
	if (ret < 0)
		return isol8_error_prefix(err, "code_url: \"%.200s\"", req->url);
	ret = isol8_remote_verify(req->url, hash, body, *len, err);
	if (ret == 0 && r->use_cache && isol8_remote_cacheable(req->url, plain))
		ret = isol8_remote_cache_put(&r->cache, req->url, hash, body, *len, isol8_now_ms(), err);
	if (ret < 0) {
		free(body);
		return ret;
	}
	*code = body;
	return 0;
}
