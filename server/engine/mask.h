/*
 * Secret masking for a stream of output: every occurrence of a secret value
 * is replaced by "***", also when it arrives split across chunks (the bytes
 * that could begin a secret are held back until the next chunk or the end).
 */
#ifndef ISOL8_MASK_H
#define ISOL8_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "isol8/error.h"

#define ISOL8_MASK_TEXT "***"
#define ISOL8_MASK_MAX_SECRETS 64
#define ISOL8_MASK_MAX_SECRET_LEN 4096

/* Receives masked bytes; nonzero stops the masker and is returned. */
typedef int (*isol8_mask_emit_fn)(void *userdata, const uint8_t *data, size_t len);

struct isol8_mask {
	const char *secrets[ISOL8_MASK_MAX_SECRETS]; /* borrowed, non-empty */
	size_t lens[ISOL8_MASK_MAX_SECRETS];
	size_t n;
	size_t longest;
	uint8_t *pending;      /* held-back bytes, at most longest - 1 */
	size_t n_pending;
};

/* Adds a secret (borrowed; must outlive the masker). Empty values are ignored. */
int isol8_mask_add(struct isol8_mask *m, const char *secret, struct isol8_error *err);

/* Masks data and emits what can no longer be part of a secret. */
int isol8_mask_feed(struct isol8_mask *m, const uint8_t *data, size_t len, isol8_mask_emit_fn emit,
		    void *userdata);

/* Emits the held-back bytes (no secret can complete any more). */
int isol8_mask_flush(struct isol8_mask *m, isol8_mask_emit_fn emit, void *userdata);

void isol8_mask_release(struct isol8_mask *m);

#endif
