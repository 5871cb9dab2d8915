/* `isol8 config`: the resolved configuration, without a daemon. The CLI
 * reads the file itself (config/config.h), the same way and from the same
 * places as an isol8d started from here would. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "cli/output.h"
#include "config/config.h"

void isol8_cli_config_usage(FILE *out)
{
	fprintf(out, "Usage: isol8 config [--json] [--config PATH]\n\n"
		     "Shows the resolved configuration: the built-in defaults merged with the\n"
		     "configuration file, and where each value came from. The file is --config PATH,\n"
		     "else $ISOL8_CONFIG, else ./isol8.config.json, else ~/.isol8/config.json: the one\n"
		     "an isol8d started from this directory with this environment reads (a daemon\n"
		     "already running keeps the configuration it started with). No daemon is needed.\n"
		     "A file that does not pass the checks is an error naming the key (exit 1).\n\n"
		     "Flags:\n"
		     "  --json             print the configuration as JSON (it passes\n"
		     "                     schema/isol8.config.schema.json)\n"
		     "  --config PATH      the configuration file to read\n"
		     "  -h, --help         show this help\n");
}

struct config_args {
	bool json, help;
	const char *path;
};

static int parse(struct config_args *a, int argc, char **argv, struct isol8_error *err)
{
	enum { OPT_JSON = 256, OPT_CONFIG };
	static const struct option longopts[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"config", required_argument, NULL, OPT_CONFIG},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	isol8_cli_flags_reset();
	while ((c = isol8_cli_flags_next(argc, argv, ":h", longopts, "config", err)) != -1) {
		if (c == '?')
			return -ISOL8_E_INVALID;
		if (c == 'h')
			a->help = true;
		else if (c == OPT_JSON)
			a->json = true;
		else if (c == OPT_CONFIG)
			a->path = optarg;
	}
	if (optind < argc)
		return isol8_error_set(err, ISOL8_E_INVALID, "unexpected argument \"%s\"", argv[optind]);
	return 0;
}

int isol8_cli_config_main(int argc, char **argv)
{
	struct config_args a = {0};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_config *c = NULL;
	int status = 0;

	if (parse(&a, argc, argv, &err) < 0)
		return isol8_cli_fail(&err);
	if (a.help) {
		isol8_cli_config_usage(stdout);
		return 0;
	}
	if (isol8_config_load(&c, a.path, &err) < 0)
		return isol8_cli_fail(&err);
	if (a.json) {
		char *text = isol8_config_to_json(c);
		if (text == NULL) {
			isol8_error_set(&err, ISOL8_E_NOMEM, "out of memory");
			status = isol8_cli_fail(&err);
		} else {
			fputs(text, stdout);
			free(text);
		}
	} else if (isol8_config_print_text(c, stdout) < 0) {
		isol8_error_set(&err, ISOL8_E_IO, "cannot write the configuration");
		status = isol8_cli_fail(&err);
	}
	isol8_config_free(c);
	if (status == 0 && fflush(stdout) != 0) {
		isol8_error_set(&err, ISOL8_E_IO, "cannot write the configuration");
		status = isol8_cli_fail(&err);
	}
	return status;
}
