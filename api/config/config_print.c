/* The resolved configuration as text and as JSON: see config.h. Both walk
 * the key table, so a new key shows in both. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

static cJSON *list_json(const struct isol8_config_list *l)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a != NULL && i < l->n; i++) {
		cJSON *s = cJSON_CreateString(l->items[i]);
		if (s == NULL || !cJSON_AddItemToArray(a, s)) {
			cJSON_Delete(s);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

static cJSON *pool_size_json(const struct isol8_config *c)
{
	cJSON *o;

	if (c->pool_size.is_number)
		return cJSON_CreateNumber((double)c->pool_size.clean);
	o = cJSON_CreateObject();
	if (o != NULL && (!cJSON_AddNumberToObject(o, "clean", (double)c->pool_size.clean) ||
			  !cJSON_AddNumberToObject(o, "dirty", (double)c->pool_size.dirty))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *prewarm_json(const struct isol8_config *c)
{
	cJSON *o;

	if (!c->pool.prewarm_by_runtime)
		return cJSON_CreateNumber((double)c->pool.prewarm[0]);
	o = cJSON_CreateObject();
	for (int i = 0; o != NULL && i < ISOL8_RT_COUNT; i++) {
		if (!cJSON_AddNumberToObject(o, isol8_runtime_infos[i].name, (double)c->pool.prewarm[i])) {
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

/* The value of one key as JSON; *absent when the key has no value (an
 * unset path). NULL otherwise means out of memory. */
static cJSON *value_json(const struct isol8_config *c, const struct isol8_config_key *k, bool *absent)
{
	const void *f = ISOL8_CONFIG_CFIELD(c, k);

	*absent = false;
	switch (k->kind) {
	case CK_OBJECT: return cJSON_CreateObject();
	case CK_BOOL: return cJSON_CreateBool(*(const bool *)f);
	case CK_INT: return cJSON_CreateNumber((double)*(const int64_t *)f);
	case CK_NUMBER: return cJSON_CreateNumber(*(const double *)f);
	case CK_SIZE: return cJSON_CreateString(((const struct isol8_config_size *)f)->text);
	case CK_ENUM: return cJSON_CreateString(f);
	case CK_STRING:
		*absent = *(char *const *)f == NULL;
		return *absent ? NULL : cJSON_CreateString(*(char *const *)f);
	case CK_LIST: return list_json(f);
	case CK_POOL_SIZE: return pool_size_json(c);
	case CK_PREWARM: return prewarm_json(c);
	case CK_SCHEMA_REF:
		*absent = c->schema_ref[0] == '\0';
		return *absent ? NULL : cJSON_CreateString(c->schema_ref);
	}
	return NULL;
}

/* The object that holds path's last part (a section's row comes before
 * its keys in the table, so it is there already). */
static cJSON *parent_of(cJSON *root, const char *path, const char **name)
{
	cJSON *obj = root;
	const char *p = path, *dot;
	char part[64];

	while (obj != NULL && (dot = strchr(p, '.')) != NULL) {
		snprintf(part, sizeof(part), "%.*s", (int)(dot - p), p);
		obj = cJSON_GetObjectItemCaseSensitive(obj, part);
		p = dot + 1;
	}
	*name = p;
	return obj;
}

/* cJSON indents with tabs and puts one after each colon; two spaces per
 * level read better and match the original's output. A raw tab in the
 * text is always layout (tabs in strings are escaped). */
static char *two_space_indent(char *text)
{
	size_t tabs = 0, o = 0;
	char *out;
	bool line_start = true;

	for (const char *p = text; *p; p++)
		tabs += *p == '\t';
	out = malloc(strlen(text) + tabs + 2);
	if (out == NULL)
		return NULL;
	for (const char *p = text; *p; p++) {
		if (*p == '\t') {
			out[o++] = ' ';
			if (line_start)
				out[o++] = ' ';
			continue;
		}
		line_start = *p == '\n';
		out[o++] = *p;
	}
	out[o++] = '\n';
	out[o] = '\0';
	return out;
}

char *isol8_config_to_json(const struct isol8_config *c)
{
	cJSON *root = cJSON_CreateObject();
	char *text, *pretty;
	bool ok = root != NULL;

	for (size_t i = 0; ok && i < isol8_config_n_keys; i++) {
		const struct isol8_config_key *k = &isol8_config_keys[i];
		const char *name;
		bool absent;
		cJSON *parent = parent_of(root, k->path, &name);
		cJSON *v = value_json(c, k, &absent);

		if (absent)
			continue;
		ok = parent != NULL && v != NULL && cJSON_AddItemToObject(parent, name, v);
		if (!ok)
			cJSON_Delete(v);
	}
	text = ok ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	if (text == NULL)
		return NULL;
	pretty = two_space_indent(text);
	cJSON_free(text);
	return pretty;
}

/* ------------------------------------------------------------------ text */

/* Values up to this wide line up; the source follows them. */
#define VALUE_WIDTH 22

static void list_text(FILE *out, const struct isol8_config_list *l)
{
	if (l->n == 0)
		fputs("(none)", out);
	for (size_t i = 0; i < l->n; i++)
		fprintf(out, "%s%s", i ? ", " : "", l->items[i]);
}

static void value_text(FILE *out, const struct isol8_config *c, const struct isol8_config_key *k)
{
	const void *f = ISOL8_CONFIG_CFIELD(c, k);

	switch (k->kind) {
	case CK_BOOL: fputs(*(const bool *)f ? "true" : "false", out); break;
	case CK_INT: fprintf(out, "%lld%s%s", (long long)*(const int64_t *)f, k->unit ? " " : "", k->unit ? k->unit : ""); break;
	case CK_NUMBER: fprintf(out, "%g", *(const double *)f); break;
	case CK_SIZE: fputs(((const struct isol8_config_size *)f)->text, out); break;
	case CK_ENUM: fputs(f, out); break;
	case CK_STRING: fputs(*(char *const *)f ? *(char *const *)f : "(none)", out); break;
	case CK_LIST: list_text(out, f); break;
	case CK_POOL_SIZE:
		if (c->pool_size.is_number)
			fprintf(out, "%lld", (long long)c->pool_size.clean);
		else
			fprintf(out, "clean %lld, dirty %lld", (long long)c->pool_size.clean, (long long)c->pool_size.dirty);
		break;
	case CK_PREWARM:
		if (!c->pool.prewarm_by_runtime)
			fprintf(out, "%lld per runtime", (long long)c->pool.prewarm[0]);
		for (int i = 0; c->pool.prewarm_by_runtime && i < ISOL8_RT_COUNT; i++)
			fprintf(out, "%s%s %lld", i ? ", " : "", isol8_runtime_infos[i].name, (long long)c->pool.prewarm[i]);
		break;
	case CK_OBJECT:
	case CK_SCHEMA_REF:
		break;
	}
}

static void source_text(FILE *out, const struct isol8_config *c, size_t i)
{
	switch (c->source[i]) {
	case ISOL8_CONFIG_FILE: fputs(c->path, out); break;
	case ISOL8_CONFIG_FLAG: fprintf(out, "flag %s", c->flag[i] ? c->flag[i] : "?"); break;
	default: fputs("default", out); break;
	}
}

int isol8_config_print_text(const struct isol8_config *c, FILE *out)
{
	fputs("\nIsol8 Configuration\n\n", out);
	if (c->path[0])
		fprintf(out, "  Source: %s\n", c->path);
	else
		fputs("  Source: defaults (no config file found)\n", out);
	for (size_t i = 0; i < isol8_config_n_keys; i++) {
		const struct isol8_config_key *k = &isol8_config_keys[i];
		char *value = NULL;
		size_t len = 0;
		FILE *mem;

		if (k->kind == CK_OBJECT || k->kind == CK_SCHEMA_REF)
			continue;
		if (k->section)
			fprintf(out, "\n  ── %s ──\n", k->section);
		mem = open_memstream(&value, &len);
		if (mem == NULL)
			return -1;
		value_text(mem, c, k);
		if (fclose(mem) != 0) {
			free(value);
			return -1;
		}
		if (k->kind == CK_LIST && strlen(value) > VALUE_WIDTH) {
			/* a long list: its items one per line under it */
			const struct isol8_config_list *l = ISOL8_CONFIG_CFIELD(c, k);
			char count[32];
			snprintf(count, sizeof(count), "%zu items", l->n);
			fprintf(out, "  %-30s %-*s ", k->path, VALUE_WIDTH, count);
			source_text(out, c, i);
			for (size_t j = 0; j < l->n; j++)
				fprintf(out, "\n  %-30s   %s", "", l->items[j]);
		} else {
			fprintf(out, "  %-30s %-*s ", k->path, VALUE_WIDTH, value);
			source_text(out, c, i);
		}
		free(value);
		fputc('\n', out);
	}
	fputc('\n', out);
	return ferror(out) ? -1 : 0;
}
