/* The file's keys onto the configuration: each key is looked up in the
 * table (config_keys.c) and its value checked by the row's kind; see
 * config.h for the rules. */
#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "config/config_read.h"

/* Keys of the original isol8 that this isol8 does not serve: refused with
 * a message that says so rather than as unknown. */
static const char *const original_only[] = {"audit", "auth", "prebuiltImages"};

int isol8_config_parse_size(const char *text, int64_t *out)
{
	const char *p = text;
	unsigned long long value = 0;
	int shift = 0;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (value > (ULLONG_MAX - 9) / 10)
			return -1;
		value = value * 10 + (unsigned)(*p - '0');
	}
	switch (tolower((unsigned char)*p)) {
	case 'k': shift = 10; break;
	case 'm': shift = 20; break;
	case 'g': shift = 30; break;
	case 't': shift = 40; break;
	default: break;
	}
	if (shift != 0)
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p != '\0' || value > (unsigned long long)(INT64_MAX >> shift))
		return -1;
	*out = (int64_t)(value << shift);
	return 0;
}

/* A key name fit for a one-line message: control characters become '?',
 * and a long one is cut. */
static void printable(const char *name, char *buf, size_t size)
{
	size_t i;

	for (i = 0; name[i] && i + 4 < size; i++)
		buf[i] = ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) ? '?' : name[i];
	if (name[i])
		memcpy(buf + i, "...", 4);
	else
		buf[i] = '\0';
}

/* "timeoutMs, memoryLimit, ...": the keys directly under prefix ("" for the top). */
static void children(const char *prefix, char *buf, size_t size)
{
	size_t plen = strlen(prefix), used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < isol8_config_n_keys; i++) {
		const char *path = isol8_config_keys[i].path, *name = path;
		if (plen > 0) {
			if (strncmp(path, prefix, plen) != 0 || path[plen] != '.')
				continue;
			name = path + plen + 1;
		}
		if (strchr(name, '.') != NULL)
			continue;
		int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", name);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
}

static int unknown_key(const char *prefix, const char *name, struct isol8_error *err)
{
	char shown[80], valid[400];

	printable(name, shown, sizeof(shown));
	if (prefix[0] == '\0')
		for (size_t i = 0; i < sizeof(original_only) / sizeof(original_only[0]); i++)
			if (strcmp(name, original_only[i]) == 0)
				return isol8_error_set(err, ISOL8_E_INVALID,
						       "%s: a key of the original isol8 that this isol8 does not serve "
						       "(remove it)",
						       shown);
	children(prefix, valid, sizeof(valid));
	return isol8_error_set(err, ISOL8_E_INVALID, "%s%s%s: unknown key (valid here: %s)", prefix,
			       prefix[0] ? "." : "", shown, valid);
}

static bool integral(const cJSON *v, double min, double max)
{
	return cJSON_IsNumber(v) && isfinite(v->valuedouble) && floor(v->valuedouble) == v->valuedouble &&
	       v->valuedouble >= min && v->valuedouble <= max;
}

static int expect_int(const char *path, const cJSON *v, double min, double max, int64_t *out, struct isol8_error *err)
{
	if (!integral(v, min, max))
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: expected an integer from %.0f to %.0f", path, min, max);
	*out = (int64_t)v->valuedouble;
	return 0;
}

/* The schema's pattern of a size: ^[0-9]+([kKmMgGtT][bB]?|[bB])?$ */
static bool size_syntax(const char *t)
{
	if (!isdigit((unsigned char)*t))
		return false;
	while (isdigit((unsigned char)*t))
		t++;
	if (*t != '\0' && strchr("kKmMgGtT", *t) != NULL)
		t++;
	if (*t == 'b' || *t == 'B')
		t++;
	return *t == '\0';
}

static int read_size(const char *path, const cJSON *v, const struct isol8_config_key *k, struct isol8_config_size *s,
		     struct isol8_error *err)
{
	int64_t bytes = 0;

	if (!cJSON_IsString(v) || !size_syntax(v->valuestring))
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: expected a size like \"512m\" (a number of bytes, or with k, m or g)", path);
	if (strlen(v->valuestring) >= sizeof(s->text) || isol8_config_parse_size(v->valuestring, &bytes) < 0 ||
	    (double)bytes < k->min || (double)bytes > k->max)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" is out of range (%.0fm to %.0fg)", path,
				       v->valuestring, k->min / (1 << 20), k->max / (1 << 30));
	snprintf(s->text, sizeof(s->text), "%s", v->valuestring);
	s->bytes = bytes;
	return 0;
}

static int read_enum(const char *path, const cJSON *v, const struct isol8_config_key *k, char *buf,
		     struct isol8_error *err)
{
	char accepted[128] = "";
	size_t used = 0;

	for (size_t i = 0; k->choices[i]; i++) {
		if (cJSON_IsString(v) && strcmp(v->valuestring, k->choices[i]) == 0) {
			snprintf(buf, k->size, "%s", k->choices[i]);
			return 0;
		}
		used += (size_t)snprintf(accepted + used, sizeof(accepted) - used, "%s\"%s\"", i ? ", " : "",
					 k->choices[i]);
	}
	return isol8_error_set(err, ISOL8_E_INVALID, "%s: expected one of %s", path, accepted);
}

static int read_string(const char *path, const cJSON *v, char **out, struct isol8_error *err)
{
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: expected a non-empty string", path);
	if (strlen(v->valuestring) >= PATH_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: longer than %d bytes", path, PATH_MAX - 1);
	char *copy = strdup(v->valuestring);
	if (copy == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	free(*out);
	*out = copy;
	return 0;
}

/* The schema's pattern of an address: ^[^ \t\r\n]+:[0-9]{1,5}$ */
static bool listen_address(const char *s)
{
	const char *colon = strrchr(s, ':');
	size_t digits;

	if (colon == NULL || colon == s)
		return false;
	for (const char *p = s; p < colon; p++)
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			return false;
	digits = strlen(colon + 1);
	if (digits < 1 || digits > 5)
		return false;
	for (const char *p = colon + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

static int check_item(const char *path, size_t i, const char *item, enum isol8_config_item kind,
		      struct isol8_error *err)
{
	regex_t re;
	int rc;

	if (kind == CI_LISTEN && !listen_address(item))
		return isol8_error_set(err, ISOL8_E_INVALID, "%s[%zu]: expected \"HOST:PORT\"", path, i);
	if (kind == CI_URL && strncmp(item, "https://", 8) != 0 && strncmp(item, "http://", 7) != 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s[%zu]: expected an http:// or https:// URL", path, i);
	if (kind != CI_REGEX)
		return 0;
	rc = regcomp(&re, item, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char why[128];
		regerror(rc, &re, why, sizeof(why));
		return isol8_error_set(err, ISOL8_E_INVALID, "%s[%zu]: not a POSIX extended regular expression (%s)",
				       path, i, why);
	}
	regfree(&re);
	return 0;
}

static int read_list(const char *path, const cJSON *v, const struct isol8_config_key *k,
		     struct isol8_config_list *out, struct isol8_error *err)
{
	struct isol8_config_list l = {0};
	const cJSON *item;
	size_t n = 0;
	int ret = 0;

	if (!cJSON_IsArray(v))
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: expected an array of strings", path);
	cJSON_ArrayForEach(item, v)
		n++;
	if (k->max > 0 && (double)n > k->max)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: at most %.0f items", path, k->max);
	l.items = calloc(n ? n : 1, sizeof(*l.items));
	if (l.items == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	cJSON_ArrayForEach(item, v) {
		if (!cJSON_IsString(item) || item->valuestring[0] == '\0')
			ret = isol8_error_set(err, ISOL8_E_INVALID, "%s[%zu]: expected a non-empty string", path, l.n);
		if (ret == 0)
			ret = check_item(path, l.n, item->valuestring, k->item, err);
		if (ret == 0 && (l.items[l.n] = strdup(item->valuestring)) == NULL)
			ret = isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
		if (ret < 0)
			break;
		l.n++;
	}
	if (ret < 0) {
		isol8_config_list_clear(&l);
		return ret;
	}
	isol8_config_list_clear(out);
	*out = l;
	return 0;
}

/* No object of the file has this many keys: past it, one is unknown, and
 * the lookup that follows names it (so the duplicate check, quadratic,
 * never runs over a huge object). */
#define CONFIG_MAX_MEMBERS 64

/* Member names of obj, each once, none with a dot (no key has one). */
static int check_members(const char *path, const cJSON *obj, struct isol8_error *err)
{
	size_t n = 0;

	for (const cJSON *m = obj->child; m; m = m->next)
		if (++n > CONFIG_MAX_MEMBERS)
			return 0;
	for (const cJSON *m = obj->child; m; m = m->next)
		for (const cJSON *prev = obj->child; prev != m; prev = prev->next)
			if (strcmp(prev->string, m->string) == 0) {
				char shown[80];
				printable(m->string, shown, sizeof(shown));
				return isol8_error_set(err, ISOL8_E_INVALID, "%s%s%s: duplicate key", path,
						       path[0] ? "." : "", shown);
			}
	return 0;
}

static int read_pool_size(const char *path, const cJSON *v, const struct isol8_config_key *k,
			  struct isol8_config *c, struct isol8_error *err)
{
	const cJSON *clean = NULL, *dirty = NULL;
	char sub[160];
	int ret;

	if (cJSON_IsNumber(v)) {
		ret = expect_int(path, v, k->min, k->max, &c->pool_size.clean, err);
		c->pool_size.dirty = c->pool_size.clean;
		c->pool_size.is_number = true;
		return ret;
	}
	if (!cJSON_IsObject(v))
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: expected an integer from 0 to 64 or {\"clean\": N, \"dirty\": N}", path);
	ret = check_members(path, v, err);
	for (const cJSON *m = v->child; ret == 0 && m; m = m->next) {
		if (strcmp(m->string, "clean") == 0)
			clean = m;
		else if (strcmp(m->string, "dirty") == 0)
			dirty = m;
		else {
			char shown[80];
			printable(m->string, shown, sizeof(shown));
			ret = isol8_error_set(err, ISOL8_E_INVALID, "%s.%s: unknown key (valid here: clean, dirty)", path,
					      shown);
		}
	}
	if (ret == 0 && (clean == NULL || dirty == NULL))
		ret = isol8_error_set(err, ISOL8_E_INVALID, "%s: \"clean\" and \"dirty\" are both required", path);
	snprintf(sub, sizeof(sub), "%s.clean", path);
	if (ret == 0)
		ret = expect_int(sub, clean, k->min, k->max, &c->pool_size.clean, err);
	snprintf(sub, sizeof(sub), "%s.dirty", path);
	if (ret == 0)
		ret = expect_int(sub, dirty, k->min, k->max, &c->pool_size.dirty, err);
	c->pool_size.is_number = false;
	return ret;
}

static int read_prewarm(const char *path, const cJSON *v, const struct isol8_config_key *k, struct isol8_config *c,
			struct isol8_error *err)
{
	int64_t n[ISOL8_RT_COUNT] = {0};
	char sub[160];
	int ret;

	if (cJSON_IsNumber(v)) {
		ret = expect_int(path, v, k->min, k->max, &n[0], err);
		for (int i = 1; i < ISOL8_RT_COUNT; i++)
			n[i] = n[0];
		c->pool.prewarm_by_runtime = false;
	} else if (cJSON_IsObject(v)) {
		ret = check_members(path, v, err);
		for (const cJSON *m = v->child; ret == 0 && m; m = m->next) {
			const struct isol8_runtime_info *rt = isol8_runtime_info_find(m->string);
			if (rt == NULL) {
				char shown[80];
				printable(m->string, shown, sizeof(shown));
				ret = isol8_error_set(err, ISOL8_E_INVALID, "%s.%s: unknown runtime (valid: %s)", path,
						      shown, isol8_runtime_info_names());
				break;
			}
			snprintf(sub, sizeof(sub), "%s.%s", path, rt->name);
			ret = expect_int(sub, m, k->min, k->max, &n[rt - isol8_runtime_infos], err);
		}
		c->pool.prewarm_by_runtime = true;
	} else {
		ret = isol8_error_set(err, ISOL8_E_INVALID,
				      "%s: expected an integer from 0 to 64 or an object of runtimes (\"python\": N, ...)",
				      path);
	}
	if (ret == 0)
		memcpy(c->pool.prewarm, n, sizeof(n));
	return ret;
}

static int read_value(const char *path, const cJSON *v, const struct isol8_config_key *k, struct isol8_config *c,
		      struct isol8_error *err)
{
	void *field = ISOL8_CONFIG_FIELD(c, k);
	double d;

	switch (k->kind) {
	case CK_BOOL:
		if (!cJSON_IsBool(v))
			return isol8_error_set(err, ISOL8_E_INVALID, "%s: expected true or false", path);
		*(bool *)field = cJSON_IsTrue(v);
		return 0;
	case CK_INT:
		return expect_int(path, v, k->min, k->max, field, err);
	case CK_NUMBER:
		d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
		if (!isfinite(d) || d < k->min || d > k->max)
			return isol8_error_set(err, ISOL8_E_INVALID, "%s: expected a number from %g to %g", path, k->min,
					       k->max);
		*(double *)field = d;
		return 0;
	case CK_SIZE:
		return read_size(path, v, k, field, err);
	case CK_ENUM:
		return read_enum(path, v, k, field, err);
	case CK_STRING:
		return read_string(path, v, field, err);
	case CK_LIST:
		return read_list(path, v, k, field, err);
	case CK_POOL_SIZE:
		return read_pool_size(path, v, k, c, err);
	case CK_PREWARM:
		return read_prewarm(path, v, k, c, err);
	case CK_SCHEMA_REF:
		if (!cJSON_IsString(v))
			return isol8_error_set(err, ISOL8_E_INVALID, "%s: expected a string (the schema's URI or path)",
					       path);
		if (strlen(v->valuestring) >= sizeof(c->schema_ref))
			return isol8_error_set(err, ISOL8_E_INVALID, "%s: longer than %zu bytes", path,
					       sizeof(c->schema_ref) - 1);
		snprintf(c->schema_ref, sizeof(c->schema_ref), "%s", v->valuestring);
		return 0;
	case CK_OBJECT:
		break;
	}
	return isol8_error_set(err, ISOL8_E_INTERNAL, "%s: no reader for this key", path);
}

/* The keys of obj at prefix ("" for the top) onto c, recursively. */
int isol8_config_read_object(struct isol8_config *c, const cJSON *obj, const char *prefix, struct isol8_error *err)
{
	char accepted[400];
	int ret;

	if (!cJSON_IsObject(obj)) {
		children(prefix, accepted, sizeof(accepted));
		if (prefix[0] == '\0')
			return isol8_error_set(err, ISOL8_E_INVALID, "the file must hold one JSON object (keys: %s)",
					       accepted);
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: expected an object (keys: %s)", prefix, accepted);
	}
	ret = check_members(prefix, obj, err);
	for (const cJSON *m = obj->child; ret == 0 && m; m = m->next) {
		char path[128];
		const struct isol8_config_key *k = NULL;
		int n = snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", m->string);

		if (n > 0 && (size_t)n < sizeof(path) && strchr(m->string, '.') == NULL)
			k = isol8_config_key_find(path);
		if (k == NULL)
			return unknown_key(prefix, m->string, err);
		if (k->kind == CK_OBJECT)
			ret = isol8_config_read_object(c, m, path, err);
		else
			ret = read_value(path, m, k, c, err);
		if (ret == 0)
			c->source[isol8_config_key_index(k)] = ISOL8_CONFIG_FILE;
	}
	return ret;
}
