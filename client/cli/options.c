/* Flag parsing helpers: see options.h. */
#include "cli/options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

void isol8_cli_flags_reset(void)
{
	optind = 0; /* GNU: full re-initialisation */
	opterr = 0;
}

/* The text of the flag getopt just looked at, for messages. */
static const char *current_flag(int argc, char **argv)
{
	if (optind >= 1 && optind - 1 < argc)
		return argv[optind - 1];
	return "?";
}

int isol8_cli_flags_next(int argc, char **argv, const char *shortopts,
			 const struct option *longopts, const char *verb, struct isol8_error *err)
{
	const char *text;
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	text = current_flag(argc, argv);
	if (c == ':') {
		if (strncmp(text, "--", 2) == 0)
			isol8_error_set(err, ISOL8_E_INVALID, "flag %s needs a value", text);
		else
			isol8_error_set(err, ISOL8_E_INVALID, "flag -%c needs a value", optopt);
		return '?';
	}
	if (strncmp(text, "--", 2) != 0 && optopt > 0 && isprint(optopt))
		isol8_error_set(err, ISOL8_E_INVALID, "unknown flag -%c (see isol8 %s --help)", optopt,
				verb);
	else
		isol8_error_set(err, ISOL8_E_INVALID, "unknown flag \"%s\" (see isol8 %s --help)", text,
				verb);
	return '?';
}

int isol8_cli_parse_int(const char *flag, const char *text, int64_t min, int64_t max,
			const char *what, int64_t *out, struct isol8_error *err)
{
	int64_t value = 0;
	const char *p;

	if (text[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"\" is not %s", flag, what);
	for (p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" is not %s", flag,
					       text, what);
		if (__builtin_mul_overflow(value, 10, &value) ||
		    __builtin_add_overflow(value, *p - '0', &value))
			value = INT64_MAX; /* saturate; reported as out of range below */
	}
	if (value < min || value > max)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: %s is out of range (%lld to %lld)", flag, text,
				       (long long)min, (long long)max);
	*out = value;
	return 0;
}

int isol8_cli_parse_cpu(const char *flag, const char *text, double *out, struct isol8_error *err)
{
	char *end = NULL;
	double value;

	errno = 0;
	if (text[0] == '\0' || isspace((unsigned char)text[0]) || text[0] == '-' || text[0] == '+')
		goto bad;
	value = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !isfinite(value))
		goto bad;
	if (value <= 0.0 || value > 1024.0)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: %s is out of range (more than 0, at most 1024)", flag,
				       text);
	*out = value;
	return 0;
bad:
	return isol8_error_set(err, ISOL8_E_INVALID,
			       "%s: \"%s\" is not a number of CPUs (e.g. 0.5, 2.0)", flag, text);
}

int isol8_cli_check_size(const char *flag, const char *text, struct isol8_error *err)
{
	size_t digits = strspn(text, "0123456789");
	size_t nonzero = strspn(text, "0");
	const char *unit = text + digits;

	if (digits == 0 || digits > 15 || nonzero == digits ||
	    (unit[0] != '\0' && (strchr("bkmgBKMG", unit[0]) == NULL || unit[1] != '\0')))
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: \"%s\" is not a size (e.g. 256m, 1g)", flag, text);
	return 0;
}

/* Makes room for one more item of elem_size bytes in *items. */
static int grow(void **items, size_t *cap, size_t n, size_t elem_size, const char *flag,
		struct isol8_error *err)
{
	size_t new_cap;
	size_t bytes;
	void *p;

	if (n >= ISOL8_CLI_MAX_REPEAT)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: more than %d values", flag,
				       ISOL8_CLI_MAX_REPEAT);
	if (n < *cap)
		return 0;
	new_cap = *cap == 0 ? 8 : *cap * 2;
	if (!isol8_size_mul(new_cap, elem_size, &bytes))
		return isol8_error_set(err, ISOL8_E_NOMEM, "%s: too many values", flag);
	p = realloc(*items, bytes);
	if (p == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	*items = p;
	*cap = new_cap;
	return 0;
}

int isol8_cli_strv_push(struct isol8_cli_strv *v, const char *flag, const char *item,
			struct isol8_error *err)
{
	void *items = v->items;
	int ret = grow(&items, &v->cap, v->n, sizeof(*v->items), flag, err);

	v->items = items;
	if (ret < 0)
		return ret;
	v->items[v->n++] = item;
	return 0;
}

void isol8_cli_strv_free(struct isol8_cli_strv *v)
{
	free(v->items);
	*v = (struct isol8_cli_strv){0};
}

int isol8_cli_kvv_push(struct isol8_cli_kvv *v, const char *flag, const char *text,
		       struct isol8_error *err)
{
	const char *eq = strchr(text, '=');
	void *items = v->items;
	char *copy;
	int ret;

	if (eq == NULL || eq == text)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" is not KEY=VALUE", flag,
				       text);
	ret = grow(&items, &v->cap, v->n, sizeof(*v->items), flag, err);
	v->items = items;
	if (ret < 0)
		return ret;
	copy = strdup(text);
	if (copy == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	copy[eq - text] = '\0';
	v->items[v->n].key = copy;
	v->items[v->n].value = copy + (eq - text) + 1;
	v->n++;
	return 0;
}

void isol8_cli_kvv_free(struct isol8_cli_kvv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free((char *)v->items[i].key);
	free(v->items);
	*v = (struct isol8_cli_kvv){0};
}
