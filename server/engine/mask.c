/* Secret masking across chunk boundaries: see mask.h. */
#include "engine/mask.h"

#include <stdlib.h>
#include <string.h>

int isol8_mask_add(struct isol8_mask *m, const char *secret, struct isol8_error *err)
{
	size_t len = strlen(secret);

	if (len == 0)
		return 0;
	if (m->n >= ISOL8_MASK_MAX_SECRETS)
		return isol8_error_set(err, ISOL8_E_INVALID, "options.secrets: more than %d secrets",
				       ISOL8_MASK_MAX_SECRETS);
	if (len > ISOL8_MASK_MAX_SECRET_LEN)
		return isol8_error_set(err, ISOL8_E_INVALID, "options.secrets: a value is longer than %d bytes",
				       ISOL8_MASK_MAX_SECRET_LEN);
	m->secrets[m->n] = secret;
	m->lens[m->n] = len;
	m->n++;
	if (len > m->longest)
		m->longest = len;
	return 0;
}

/* Length of the secret matching fully at buf[i], 0 if none; *partial set when
 * a secret could still match once more bytes arrive. */
static size_t match_at(const struct isol8_mask *m, const uint8_t *buf, size_t len, size_t i, int *partial)
{
	size_t best = 0;

	*partial = 0;
	for (size_t k = 0; k < m->n; k++) {
		size_t avail = len - i;
		size_t slen = m->lens[k];
		if (avail >= slen) {
			if (memcmp(buf + i, m->secrets[k], slen) == 0 && slen > best)
				best = slen;
		} else if (memcmp(buf + i, m->secrets[k], avail) == 0) {
			*partial = 1;
		}
	}
	return best;
}

/* Scans buf; emits masked output up to where a secret may still be forming
 * (or all of it when final); returns the count of bytes consumed via *used. */
static int scan(struct isol8_mask *m, const uint8_t *buf, size_t len, int final, size_t *used,
		isol8_mask_emit_fn emit, void *ud)
{
	size_t start = 0, i = 0;
	int ret;

	while (i < len) {
		int partial;
		size_t hit = match_at(m, buf, len, i, &partial);
		if (hit > 0) {
			if (i > start && (ret = emit(ud, buf + start, i - start)) != 0)
				return ret;
			if ((ret = emit(ud, (const uint8_t *)ISOL8_MASK_TEXT, strlen(ISOL8_MASK_TEXT))) != 0)
				return ret;
			i += hit;
			start = i;
			continue;
		}
		if (partial && !final)
			break;
		i++;
	}
	if (i > start && (ret = emit(ud, buf + start, i - start)) != 0)
		return ret;
	*used = i;
	return 0;
}

int isol8_mask_feed(struct isol8_mask *m, const uint8_t *data, size_t len, isol8_mask_emit_fn emit,
		    void *userdata)
{
	uint8_t *joined;
	size_t used = 0, total;
	int ret;

	if (m->n == 0)
		return len ? emit(userdata, data, len) : 0;
	total = m->n_pending + len;
	joined = malloc(total ? total : 1);
	if (joined == NULL)
		return -ISOL8_E_NOMEM;
	if (m->n_pending > 0)
		memcpy(joined, m->pending, m->n_pending);
	if (len > 0)
		memcpy(joined + m->n_pending, data, len);
	ret = scan(m, joined, total, 0, &used, emit, userdata);
	if (ret == 0) {
		/* what is left is shorter than the longest secret */
		uint8_t *rest = realloc(m->pending, total - used + 1);
		if (rest == NULL) {
			ret = -ISOL8_E_NOMEM;
		} else {
			if (total > used)
				memcpy(rest, joined + used, total - used);
			m->pending = rest;
			m->n_pending = total - used;
		}
	}
	free(joined);
	return ret;
}

int isol8_mask_flush(struct isol8_mask *m, isol8_mask_emit_fn emit, void *userdata)
{
	size_t used = 0;
	int ret = 0;

	if (m->n_pending > 0)
		ret = scan(m, m->pending, m->n_pending, 1, &used, emit, userdata);
	m->n_pending = 0;
	return ret;
}

void isol8_mask_release(struct isol8_mask *m)
{
	free(m->pending);
	m->pending = NULL;
	m->n_pending = 0;
}
