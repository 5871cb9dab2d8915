/* `isol8 cleanup`: removes isol8 containers (and images) through isol8d. */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "isol8/v1/admin.rpc.h"
#include "cli/options.h"
#include "cli/output.h"

struct cleanup_args {
	struct isol8_cli_conn conn;
	bool images;
	bool force;
	bool help;
};

enum { OPT_IMAGES = 256, OPT_FORCE };

void isol8_cli_cleanup_usage(FILE *out)
{
	fprintf(out, "usage: isol8 cleanup [--images] [--force]\n\n"
		     "Removes isol8 containers, and with --images the isol8 images too. Asks for\n"
		     "confirmation on a terminal; without one, pass --force.\n\nflags:\n"
		     "  --images           also remove isol8 images\n"
		     "  --force            do not ask for confirmation\n" ISOL8_CLI_CONN_HELP
		     "  -h, --help         show this help\n");
}

static int parse(struct cleanup_args *a, int argc, char **argv, struct isol8_error *err)
{
	static const struct option longopts[] = {
		{"images", no_argument, NULL, OPT_IMAGES}, {"force", no_argument, NULL, OPT_FORCE},
		ISOL8_CLI_CONN_OPTIONS,
		{"help", no_argument, NULL, 'h'},	   {0},
	};
	int c;

	isol8_cli_flags_reset();
	while ((c = isol8_cli_flags_next(argc, argv, ":h", longopts, "cleanup", err)) != -1) {
		if (c == '?')
			return -ISOL8_E_INVALID;
		if (c == 'h')
			a->help = true;
		else if (c == OPT_IMAGES)
			a->images = true;
		else if (c == OPT_FORCE)
			a->force = true;
		else
			isol8_cli_conn_option(&a->conn, c, optarg);
	}
	if (optind < argc)
		return isol8_error_set(err, ISOL8_E_INVALID, "unexpected argument \"%s\"",
				       argv[optind]);
	return 0;
}

/* 0 when the user said yes, else the exit status. */
static int confirm(const struct cleanup_args *a)
{
	char answer[16];

	if (a->force)
		return 0;
	if (isatty(STDIN_FILENO) != 1) {
		isol8_cli_say("cleanup: no terminal to ask for confirmation on; pass --force");
		return ISOL8_CLI_EXIT_ERROR;
	}
	fprintf(stderr, "Remove all isol8 containers%s? [y/N] ", a->images ? " and images" : "");
	fflush(stderr);
	if (fgets(answer, sizeof(answer), stdin) == NULL ||
	    (strcasecmp(answer, "y\n") != 0 && strcasecmp(answer, "yes\n") != 0)) {
		isol8_cli_say("cleanup cancelled");
		return 1;
	}
	return 0;
}

int isol8_cli_cleanup_main(int argc, char **argv)
{
	struct cleanup_args a = {0};
	Isol8__V1__CleanupRequest req = ISOL8__V1__CLEANUP_REQUEST__INIT;
	_cleanup_message_ Isol8__V1__CleanupResult *res = NULL;
	_cleanup_channel_ struct isol8_rpc_channel *ch = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int status;

	if (parse(&a, argc, argv, &err) < 0)
		return isol8_cli_fail(&err);
	if (a.help) {
		isol8_cli_cleanup_usage(stdout);
		return 0;
	}
	status = confirm(&a);
	if (status != 0)
		return status;
	status = isol8_cli_open(&ch, &a.conn);
	if (status != 0)
		return status;
	req.images = a.images;
	if (isol8__v1__admin__cleanup__call(ch, &req, &res, 0, &err) < 0)
		return isol8_cli_fail(&err);
	for (size_t i = 0; i < res->n_kept_containers; i++)
		printf("removing kept sandbox %.12s\n", res->kept_containers[i]);
	printf("removed %d container%s", res->removed_containers,
	       res->removed_containers == 1 ? "" : "s");
	if (a.images)
		printf(", %d image%s", res->removed_images, res->removed_images == 1 ? "" : "s");
	printf("\n");
	return 0;
}
