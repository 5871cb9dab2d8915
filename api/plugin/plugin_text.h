/*
 * A growable text buffer for protoc-gen-isol8rpc. Appends never fail loudly:
 * an allocation failure sets `failed` and later appends do nothing, so the
 * emitters stay straight-line code and the caller checks once at the end.
 */
#ifndef ISOL8_PLUGIN_TEXT_H
#define ISOL8_PLUGIN_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Largest generated file (bytes). */
#define PLUGIN_TEXT_MAX (16u * 1024u * 1024u)

struct plugin_text {
	char *data; /* NUL-terminated, owned */
	size_t len;
	size_t cap;
	bool failed;
};

#define PLUGIN_TEXT_INIT {NULL, 0, 0, false}

void plugin_text_printf(struct plugin_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Returns the text (caller frees) and resets t; NULL if anything failed. */
char *plugin_text_take(struct plugin_text *t);

void plugin_text_free(struct plugin_text *t);

#endif
