/* Runtime detection: see detect.h. */
#include "detect.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static const char *const runtimes[] = {"python", "node", "bun", "deno", "bash"};

struct extension_row {
	const char *extension; /* with the dot */
	const char *runtime;
	const char *file_extension; /* sent to the daemon, NULL = its default */
};

static const struct extension_row extensions[] = {
	{".py", "python", NULL}, {".js", "node", "mjs"},  {".mjs", "node", "mjs"},
	{".cjs", "node", "cjs"}, {".ts", "bun", NULL},    {".mts", "bun", NULL},
	{".sh", "bash", NULL},
};

bool isol8_cli_runtime_valid(const char *name)
{
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(runtimes); i++)
		if (strcmp(runtimes[i], name) == 0)
			return true;
	return false;
}

/* Appends ", " (unless first) and item to buf, truncating quietly. */
static void append(char *buf, size_t size, const char *item)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len > 0 ? ", " : "", item);
}

void isol8_cli_runtime_names(char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(runtimes); i++)
		append(buf, size, runtimes[i]);
}

static void extension_names(char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(extensions); i++)
		append(buf, size, extensions[i].extension);
}

/* The extension row matching the last ".ext" of the name's final path
 * component (a URL's query and fragment ignored), or NULL. */
static const struct extension_row *find_extension(const char *name)
{
	const char *base = strrchr(name, '/');
	size_t len;
	const char *dot;

	base = base != NULL ? base + 1 : name;
	len = strcspn(base, "?#");
	dot = NULL;
	for (size_t i = 0; i < len; i++)
		if (base[i] == '.')
			dot = base + i;
	if (dot == NULL || dot == base)
		return NULL;
	len -= (size_t)(dot - base);
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(extensions); i++)
		if (strlen(extensions[i].extension) == len &&
		    strncasecmp(extensions[i].extension, dot, len) == 0)
			return &extensions[i];
	return NULL;
}

int isol8_cli_detect_runtime(const char *source_name, const char *forced,
			     struct isol8_cli_runtime_choice *out, struct isol8_error *err)
{
	const struct extension_row *row = source_name != NULL ? find_extension(source_name) : NULL;
	char names[64];
	char exts[64];

	isol8_cli_runtime_names(names, sizeof(names));
	extension_names(exts, sizeof(exts));

	if (forced != NULL) {
		if (!isol8_cli_runtime_valid(forced))
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "unknown runtime \"%s\" (valid: %s)", forced, names);
		out->runtime = forced;
		out->file_extension =
			row != NULL && strcmp(row->runtime, forced) == 0 ? row->file_extension : NULL;
		return 0;
	}
	if (source_name == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "no runtime: pass --runtime (%s) or use a file with a known "
				       "extension (%s)",
				       names, exts);
	if (row == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "cannot tell the runtime of \"%s\": pass --runtime (%s) or use "
				       "a known extension (%s)",
				       source_name, names, exts);
	out->runtime = row->runtime;
	out->file_extension = row->file_extension;
	return 0;
}
