/* Runtime detection: see detect.h. */
#include "cli/detect.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/runtimes.h"
#include "base/util.h"

bool isol8_cli_runtime_valid(const char *name)
{
	return isol8_runtime_info_find(name) != NULL;
}

/* The runtime the last ".ext" of the name's final path component (a URL's
 * query and fragment ignored) picks, or NULL; *file_extension as
 * isol8_runtime_for_extension says. */
static const struct isol8_runtime_info *find_extension(const char *name, const char **file_extension)
{
	char ext[16];
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
	if (len >= sizeof(ext))
		return NULL;
	memcpy(ext, dot, len);
	ext[len] = '\0';
	return isol8_runtime_for_extension(ext, file_extension);
}

int isol8_cli_detect_runtime(const char *source_name, const char *forced,
			     struct isol8_cli_runtime_choice *out, struct isol8_error *err)
{
	const char *file_extension = NULL;
	const struct isol8_runtime_info *row = source_name != NULL ? find_extension(source_name, &file_extension) : NULL;
	const char *names = isol8_runtime_info_names();
	const char *exts = isol8_runtime_detected_extensions();

	if (forced != NULL) {
		if (!isol8_cli_runtime_valid(forced))
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "unknown runtime \"%s\" (valid: %s)", forced, names);
		out->runtime = isol8_runtime_info_find(forced)->name;
		out->file_extension = row != NULL && strcmp(row->name, forced) == 0 ? file_extension : NULL;
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
	out->runtime = row->name;
	out->file_extension = file_extension;
	return 0;
}
