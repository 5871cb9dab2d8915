/*
 * protoc-c's naming rules, re-done in C: pieces of a dotted full name are
 * joined with "__"; CamelToLower puts '_' before an upper-case letter that
 * follows a non-upper one and lowers it; ToCamel drops '_' and upper-cases
 * the letter after it (and the first letter).
 */
#include "plugin/plugin_names.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/plugin_text.h"

typedef void (*piece_fn)(struct plugin_text *t, const char *piece, size_t len);

static void piece_lower(struct plugin_text *t, const char *piece, size_t len)
{
	bool was_upper = true;

	for (size_t i = 0; i < len; i++) {
		bool is_upper = isupper((unsigned char)piece[i]) != 0;

		if (is_upper && !was_upper)
			plugin_text_printf(t, "_");
		plugin_text_printf(t, "%c", is_upper ? tolower((unsigned char)piece[i]) : piece[i]);
		was_upper = is_upper;
	}
}

static void piece_camel(struct plugin_text *t, const char *piece, size_t len)
{
	bool next_upper = true;

	for (size_t i = 0; i < len; i++) {
		if (piece[i] == '_') {
			next_upper = true;
		} else if (next_upper) {
			plugin_text_printf(t, "%c", toupper((unsigned char)piece[i]));
			next_upper = false;
		} else {
			plugin_text_printf(t, "%c", piece[i]);
		}
	}
}

static char *name_pieces(const char *full_name, piece_fn fn)
{
	struct plugin_text t = PLUGIN_TEXT_INIT;
	const char *p = full_name;
	bool first = true;

	while (*p != '\0') {
		size_t len = strcspn(p, ".");

		if (len > 0) {
			if (!first)
				plugin_text_printf(&t, "__");
			fn(&t, p, len);
			first = false;
		}
		p += len;
		if (*p == '.')
			p++;
	}
	return plugin_text_take(&t);
}

char *plugin_name_lower(const char *full_name)
{
	return name_pieces(full_name, piece_lower);
}

char *plugin_name_type(const char *full_name)
{
	return name_pieces(full_name, piece_camel);
}

char *plugin_name_printf(const char *fmt, ...)
{
	struct plugin_text t = PLUGIN_TEXT_INIT;
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return NULL;
	plugin_text_printf(&t, "%s", buf);
	return plugin_text_take(&t);
}

char *plugin_name_join(const char *package, const char *name)
{
	if (package == NULL || package[0] == '\0')
		return plugin_name_printf("%s", name);
	return plugin_name_printf("%s.%s", package, name);
}

char *plugin_name_base(const char *proto_file)
{
	size_t len = strlen(proto_file);
	const char *suffix = ".proto";
	size_t slen = strlen(suffix);

	if (len > slen && strcmp(proto_file + len - slen, suffix) == 0)
		len -= slen;
	return plugin_name_printf("%.*s", (int)len, proto_file);
}

char *plugin_name_guard(const char *proto_file)
{
	char *guard = plugin_name_printf("ISOL8_RPC_%s", proto_file);

	if (guard == NULL)
		return NULL;
	for (char *p = guard; *p != '\0'; p++)
		*p = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
	return guard;
}
