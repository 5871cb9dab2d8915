/* The cache of verified remote code: a fixed table of entries under one
 * lock, keyed by URL and hash, each fresh for the TTL, bounded in entries
 * and bytes. See remote_internal.h. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "engine/remote_internal.h"

void isol8_remote_cache_init(struct isol8_remote_cache *c, size_t max_entries, size_t max_bytes, int64_t ttl_ms)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->max_entries = max_entries < ISOL8_REMOTE_CACHE_ENTRIES ? max_entries : ISOL8_REMOTE_CACHE_ENTRIES;
	c->max_bytes = max_bytes;
	c->ttl_ms = ttl_ms;
}

static void drop(struct isol8_remote_cache *c, struct isol8_remote_cache_entry *e)
{
	c->bytes -= e->len;
	free(e->url);
	free(e->code);
	memset(e, 0, sizeof(*e));
}

void isol8_remote_cache_release(struct isol8_remote_cache *c)
{
	for (size_t i = 0; i < c->max_entries; i++)
		if (c->entries[i].url != NULL)
			drop(c, &c->entries[i]);
	pthread_mutex_destroy(&c->lock);
}

static bool fresh(const struct isol8_remote_cache *c, const struct isol8_remote_cache_entry *e, int64_t now_ms)
{
	return e->url != NULL && now_ms - e->stored_ms < c->ttl_ms;
}

static struct isol8_remote_cache_entry *find(struct isol8_remote_cache *c, const char *url, const char *hash)
{
	for (size_t i = 0; i < c->max_entries; i++) {
		struct isol8_remote_cache_entry *e = &c->entries[i];
		if (e->url != NULL && strcmp(e->url, url) == 0 && strcmp(e->hash, hash) == 0)
			return e;
	}
	return NULL;
}

/* hash lowercased into out ("" for none). */
static void key_hash(const char *hash, char out[65])
{
	size_t n = 0;

	for (; hash != NULL && hash[n] != '\0' && n < 64; n++)
		out[n] = (char)(hash[n] >= 'A' && hash[n] <= 'F' ? hash[n] - 'A' + 'a' : hash[n]);
	out[n] = '\0';
}

int isol8_remote_cache_get(struct isol8_remote_cache *c, const char *url, const char *hash, int64_t now_ms,
			   char **code, size_t *len, struct isol8_error *err)
{
	struct isol8_remote_cache_entry *e;
	char key[65];
	int ret = 0;

	key_hash(hash, key);
	pthread_mutex_lock(&c->lock);
	e = find(c, url, key);
	if (e != NULL && !fresh(c, e, now_ms)) {
		drop(c, e);
		e = NULL;
	}
	if (e != NULL) {
		*code = malloc(e->len + 1);
		if (*code == NULL) {
			ret = isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
		} else {
			memcpy(*code, e->code, e->len + 1);
			*len = e->len;
			ret = 1;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* A slot for a new entry of len bytes: a free one, after dropping stale
 * entries and then the oldest until the bytes fit. */
static struct isol8_remote_cache_entry *make_room(struct isol8_remote_cache *c, size_t len, int64_t now_ms)
{
	struct isol8_remote_cache_entry *slot = NULL;

	for (size_t i = 0; i < c->max_entries; i++)
		if (c->entries[i].url != NULL && !fresh(c, &c->entries[i], now_ms))
			drop(c, &c->entries[i]);
	for (;;) {
		struct isol8_remote_cache_entry *oldest = NULL;
		slot = NULL;
		for (size_t i = 0; i < c->max_entries; i++) {
			struct isol8_remote_cache_entry *e = &c->entries[i];
			if (e->url == NULL && slot == NULL)
				slot = e;
			if (e->url != NULL && (oldest == NULL || e->stored_ms < oldest->stored_ms))
				oldest = e;
		}
		if (slot != NULL && c->bytes + len <= c->max_bytes)
			return slot;
		if (oldest == NULL)
			return NULL;
		drop(c, oldest);
	}
}

int isol8_remote_cache_put(struct isol8_remote_cache *c, const char *url, const char *hash, const char *code,
			   size_t len, int64_t now_ms, struct isol8_error *err)
{
	struct isol8_remote_cache_entry *e;
	char key[65];
	char *url_copy, *code_copy;

	if (len > c->max_bytes || c->max_entries == 0 || c->ttl_ms <= 0)
		return 0;
	key_hash(hash, key);
	url_copy = strdup(url);
	code_copy = malloc(len + 1);
	if (url_copy == NULL || code_copy == NULL) {
		free(url_copy);
		free(code_copy);
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	memcpy(code_copy, code, len);
	code_copy[len] = '\0';
	pthread_mutex_lock(&c->lock);
	e = find(c, url, key);
	if (e != NULL)
		drop(c, e);
	e = make_room(c, len, now_ms);
	if (e != NULL) {
		e->url = ISOL8_TAKE(url_copy);
		e->code = ISOL8_TAKE(code_copy);
		memcpy(e->hash, key, sizeof(key));
		e->len = len;
		e->stored_ms = now_ms;
		c->bytes += len;
	}
	pthread_mutex_unlock(&c->lock);
	free(url_copy);
	free(code_copy);
	return 0;
}

size_t isol8_remote_cache_count(struct isol8_remote_cache *c)
{
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->max_entries; i++)
		n += c->entries[i].url != NULL;
	pthread_mutex_unlock(&c->lock);
	return n;
}
