/* An execution's metadata: the caller's labels, checked and written to its
 * log line, never given to the program. See service.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "service/service.h"

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
	       c == '-';
}

static int check_key(const char *key, struct isol8_error *err)
{
	size_t n = strlen(key);
	bool ok = n >= 1 && n <= ISOL8_METADATA_KEY_MAX;

	for (size_t i = 0; ok && i < n; i++)
		ok = key_char(key[i]);
	if (!ok)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "metadata: key \"%s\" must be 1 to %d characters of A-Z a-z 0-9 _ . -", key,
				       ISOL8_METADATA_KEY_MAX);
	return 0;
}

int isol8_service_metadata_check(const Isol8__V1__ExecuteRequest *req, struct isol8_error *err)
{
	if (req->n_metadata > ISOL8_METADATA_MAX_ENTRIES)
		return isol8_error_set(err, ISOL8_E_INVALID, "metadata: at most %d entries (got %zu)",
				       ISOL8_METADATA_MAX_ENTRIES, req->n_metadata);
	for (size_t i = 0; i < req->n_metadata; i++) {
		const char *key = req->metadata[i]->key ? req->metadata[i]->key : "";
		const char *value = req->metadata[i]->value ? req->metadata[i]->value : "";
		int ret = check_key(key, err);

		if (ret < 0)
			return ret;
		if (strlen(value) > ISOL8_METADATA_VALUE_MAX)
			return isol8_error_set(err, ISOL8_E_INVALID, "metadata: the value of \"%s\" is %zu bytes (at most %d)",
					       key, strlen(value), ISOL8_METADATA_VALUE_MAX);
		for (size_t j = 0; j < i; j++)
			if (strcmp(req->metadata[j]->key, key) == 0)
				return isol8_error_set(err, ISOL8_E_INVALID, "metadata: key \"%s\" is given twice", key);
	}
	return 0;
}

char *isol8_service_metadata_format(const Isol8__V1__ExecuteRequest *req)
{
	/* " meta.<key>=" and a quoted value: an escape takes at most 4 bytes a byte */
	size_t cap = 1 + req->n_metadata * (7 + ISOL8_METADATA_KEY_MAX + 2 + 4 * ISOL8_METADATA_VALUE_MAX + 1);
	char *out = malloc(cap), value[4 * ISOL8_METADATA_VALUE_MAX + 3];
	size_t len = 0;

	if (out == NULL)
		return NULL;
	out[0] = '\0';
	for (size_t i = 0; i < req->n_metadata && i < ISOL8_METADATA_MAX_ENTRIES; i++) {
		int n = snprintf(out + len, cap - len, " meta.%.*s=%s", ISOL8_METADATA_KEY_MAX, req->metadata[i]->key,
				 isol8_log_quote(value, sizeof(value), req->metadata[i]->value));
		if (n < 0 || (size_t)n >= cap - len)
			break;
		len += (size_t)n;
	}
	return out;
}
