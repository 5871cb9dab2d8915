/* Growable text buffer for the protoc plugin: see plugin_text.h. */
#include "plugin/plugin_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static bool text_reserve(struct plugin_text *t, size_t extra)
{
	size_t need = t->len + extra + 1;
	size_t cap = t->cap ? t->cap : 4096;
	char *grown;

	if (need > PLUGIN_TEXT_MAX)
		return false;
	if (need <= t->cap)
		return true;
	while (cap < need)
		cap *= 2;
	grown = realloc(t->data, cap);
	if (grown == NULL)
		return false;
	t->data = grown;
	t->cap = cap;
	return true;
}

void plugin_text_printf(struct plugin_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !text_reserve(t, (size_t)n)) {
		t->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

char *plugin_text_take(struct plugin_text *t)
{
	char *data;

	if (!t->failed && t->data == NULL)
		plugin_text_printf(t, "%s", "");
	if (t->failed) {
		plugin_text_free(t);
		return NULL;
	}
	data = t->data;
	*t = (struct plugin_text)PLUGIN_TEXT_INIT;
	return data;
}

void plugin_text_free(struct plugin_text *t)
{
	free(t->data);
	*t = (struct plugin_text)PLUGIN_TEXT_INIT;
}
