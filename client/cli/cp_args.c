/* `isol8 cp` arguments: see cp_args.h. */
#include <string.h>

#include "cli/cp_args.h"
#include "cli/options.h"

enum { OPT_HOST = 256, OPT_KEY };

static bool id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
	       c == ':' || c == '-';
}

int isol8_cli_cp_split(const char *spec, char id[ISOL8_CLI_SESSION_ID_MAX + 1], const char **path,
		       struct isol8_error *err)
{
	const char *slash = strchr(spec, '/');
	size_t len;

	if (slash == NULL || slash - spec < 2 || slash[-1] != ':')
		return 0;
	len = (size_t)(slash - spec) - 1;
	if (len > ISOL8_CLI_SESSION_ID_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "\"%s\": a session id is at most %d characters", spec,
				       ISOL8_CLI_SESSION_ID_MAX);
	for (size_t i = 0; i < len; i++)
		if (!id_char(spec[i]))
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "\"%s\": \"%.*s\" is not a session id (letters, digits and . _ : -); "
					       "write a local path with a colon as ./%s",
					       spec, (int)len, spec, spec);
	memcpy(id, spec, len);
	id[len] = '\0';
	*path = slash;
	return 1;
}

static int cp_sides(struct isol8_cli_cp *cp, const char *src, const char *dst, struct isol8_error *err)
{
	char dst_id[ISOL8_CLI_SESSION_ID_MAX + 1];
	const char *dst_path = NULL;
	int src_remote = isol8_cli_cp_split(src, cp->session_id, &cp->path, err);
	int dst_remote = src_remote < 0 ? 0 : isol8_cli_cp_split(dst, dst_id, &dst_path, err);

	if (src_remote < 0 || dst_remote < 0)
		return -ISOL8_E_INVALID;
	if (src_remote && dst_remote)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "both \"%s\" and \"%s\" name a session's file: one side must be a local path",
				       src, dst);
	if (!src_remote && !dst_remote)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "neither \"%s\" nor \"%s\" names a session's file (SESSION:/abs/path)", src, dst);
	cp->upload = dst_remote;
	if (cp->upload) {
		memcpy(cp->session_id, dst_id, sizeof(dst_id));
		cp->path = dst_path;
	}
	cp->local = cp->upload ? src : dst;
	if (cp->local[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "the local path is empty (give a file, or - for %s)",
				       cp->upload ? "stdin" : "stdout");
	return 0;
}

int isol8_cli_cp_parse(struct isol8_cli_cp *cp, int argc, char **argv, struct isol8_error *err)
{
	static const struct option longopts[] = {
		{"host", required_argument, NULL, OPT_HOST},
		{"key", required_argument, NULL, OPT_KEY},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	*cp = (struct isol8_cli_cp){0};
	isol8_cli_flags_reset();
	while ((c = isol8_cli_flags_next(argc, argv, ":h", longopts, "cp", err)) != -1) {
		if (c == '?')
			return -ISOL8_E_INVALID;
		if (c == 'h')
			cp->help = true;
		else if (c == OPT_HOST)
			cp->host = optarg;
		else if (c == OPT_KEY)
			cp->key = optarg;
	}
	if (cp->help)
		return 0;
	if (argc - optind < 2)
		return isol8_error_set(err, ISOL8_E_INVALID, "cp needs SRC and DST (see isol8 cp --help)");
	if (argc - optind > 2)
		return isol8_error_set(err, ISOL8_E_INVALID, "unexpected argument \"%s\" (cp copies one file)",
				       argv[optind + 2]);
	return cp_sides(cp, argv[optind], argv[optind + 1], err);
}
