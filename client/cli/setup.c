/* `isol8 setup`: builds the sandbox images through isol8d, showing progress. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/runtimes.h"
#include "cli/cli.h"
#include "cli/detect.h"
#include "cli/options.h"
#include "cli/output.h"
#include "base/util.h"

struct setup_args {
	struct isol8_cli_conn conn;
	bool force;
	bool help;
	char *packages[5]; /* per runtime, in the order of package_flags (argv's, split in place) */
	struct isol8_cli_strv runtimes;
};

/* The package flags: one per runtime, comma-separated packages to bake in. */
static const char *const package_flags[] = {"python", "node", "bun", "deno", "bash"};

enum { OPT_FORCE = 256, OPT_PACKAGES /* + index into package_flags */ };

void isol8_cli_setup_usage(FILE *out)
{
	fprintf(out,
		"Usage: isol8 setup [RUNTIME...] [flags]\n\n"
		"Builds the sandbox images that are missing or out of date (only those of the\n"
		"RUNTIMEs named, else all), showing each image's progress. Exits 0 when every\n"
		"image is ready, 1 when a build failed or on isol8's own errors. It ends\n"
		"with [DONE] Setup complete!\n\nFlags:\n"
		"  --force            rebuild even images that are up to date\n"
		"  --python PKGS      comma-separated pip packages to bake into isol8:python\n"
		"  --node PKGS        comma-separated npm packages to bake into isol8:node\n"
		"  --bun PKGS         comma-separated npm packages to bake into isol8:bun\n"
		"  --deno PKGS        refused: Deno's cache lives on the sandbox's tmpfs\n"
		"  --bash PKGS        comma-separated Debian packages to bake into isol8:bash\n"
		"                     (a list replaces the daemon's dependencies.<runtime>;\n"
		"                     \"\" bakes none; a layer is rebuilt only when its list changes)\n"
		ISOL8_CLI_CONN_HELP
		"  -h, --help         show this help\n");
}

static int parse(struct setup_args *a, int argc, char **argv, struct isol8_error *err)
{
	static const struct option longopts[] = {
		{"force", no_argument, NULL, OPT_FORCE},
		ISOL8_CLI_CONN_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{"python", required_argument, NULL, OPT_PACKAGES + 0},
		{"node", required_argument, NULL, OPT_PACKAGES + 1},
		{"bun", required_argument, NULL, OPT_PACKAGES + 2},
		{"deno", required_argument, NULL, OPT_PACKAGES + 3},
		{"bash", required_argument, NULL, OPT_PACKAGES + 4},
		{0},
	};
	int c;

	isol8_cli_flags_reset();
	while ((c = isol8_cli_flags_next(argc, argv, ":h", longopts, "setup", err)) != -1) {
		if (c == '?')
			return -ISOL8_E_INVALID;
		if (c == 'h')
			a->help = true;
		else if (c == OPT_FORCE)
			a->force = true;
		else if (isol8_cli_conn_option(&a->conn, c, optarg))
			continue;
		else if (c >= OPT_PACKAGES && c < OPT_PACKAGES + (int)ISOL8_ARRAY_LEN(package_flags))
			a->packages[c - OPT_PACKAGES] = optarg;
	}
	for (; optind < argc; optind++) {
		if (!isol8_cli_runtime_valid(argv[optind]))
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "unknown runtime \"%s\" (valid: %s)", argv[optind],
					       isol8_runtime_info_names());
		if (isol8_cli_strv_push(&a->runtimes, "RUNTIME", argv[optind], err) < 0)
			return -ISOL8_E_INVALID;
	}
	return 0;
}

/* Splits each --RUNTIME list at its commas into the request's packages
 * (an empty flag value bakes none). The names point into argv. */
struct bake_lists {
	struct isol8_setup_packages rows[ISOL8_ARRAY_LEN(package_flags)];
	struct isol8_cli_strv names[ISOL8_ARRAY_LEN(package_flags)];
	size_t n;
};

static void bake_lists_free(struct bake_lists *b)
{
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(package_flags); i++)
		isol8_cli_strv_free(&b->names[i]);
}

static int bake_lists(const struct setup_args *a, struct bake_lists *b, struct isol8_error *err)
{
	char flag[16];

	for (size_t i = 0; i < ISOL8_ARRAY_LEN(package_flags); i++) {
		char *save = NULL;
		if (a->packages[i] == NULL)
			continue;
		snprintf(flag, sizeof(flag), "--%s", package_flags[i]);
		for (char *name = strtok_r(a->packages[i], ",", &save); name != NULL; name = strtok_r(NULL, ",", &save))
			if (name[0] != '\0' && isol8_cli_strv_push(&b->names[i], flag, name, err) < 0)
				return -err->code;
		b->rows[b->n++] = (struct isol8_setup_packages){package_flags[i],
								 (const char *const *)b->names[i].items,
								 b->names[i].n};
	}
	return 0;
}

/* What the events said: the first failure and whether the end came. */
struct progress {
	char failure[ISOL8_ERROR_MESSAGE_MAX];
	bool done;
};

/* Prints one event; remembers the first failure and the end. */
static int show_event(const struct isol8_setup_event *ev, void *userdata)
{
	struct progress *p = userdata;
	const char *image = ev->image != NULL ? ev->image : "";
	const char *message = ev->message != NULL && ev->message[0] != '\0' ? ev->message : "failed";
	char line[1024];

	isol8_cli_setup_line(ev, line, sizeof(line));
	if (line[0] != '\0') {
		printf("%s\n", line);
		fflush(stdout);
	}
	if (ev->phase == ISOL8_SETUP_FAILED && p->failure[0] == '\0')
		snprintf(p->failure, sizeof(p->failure), "%s%s%s", image, image[0] != '\0' ? ": " : "", message);
	if (ev->phase == ISOL8_SETUP_DONE)
		p->done = true;
	return 0;
}

/* Streams the setup (builds take minutes); returns the exit status. */
static int stream_setup(struct isol8_client *c, const struct setup_args *a, const struct bake_lists *b)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct progress p = {.failure = "", .done = false};

	if (isol8_setup_with(c, a->force, (const char *const *)a->runtimes.items, a->runtimes.n, b->rows, b->n,
			     show_event, &p, &err) < 0 &&
	    p.failure[0] == '\0')
		return isol8_cli_call_failed(&err, &a->conn);
	if (p.failure[0] != '\0') {
		isol8_cli_say("Setup failed: %s", p.failure);
		return 1;
	}
	if (!p.done) {
		isol8_cli_say("Setup ended before it was done");
		return 1;
	}
	printf("\n[DONE] Setup complete!\n");
	return 0;
}

int isol8_cli_setup_main(int argc, char **argv)
{
	struct setup_args a = {0};
	struct bake_lists b = {0};
	_cleanup_client_ struct isol8_client *c = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int status;

	if (parse(&a, argc, argv, &err) < 0 || bake_lists(&a, &b, &err) < 0) {
		isol8_cli_strv_free(&a.runtimes);
		bake_lists_free(&b);
		return isol8_cli_fail(&err);
	}
	if (a.help) {
		isol8_cli_strv_free(&a.runtimes);
		bake_lists_free(&b);
		isol8_cli_setup_usage(stdout);
		return 0;
	}
	status = isol8_cli_open(&c, &a.conn);
	if (status == 0)
		status = stream_setup(c, &a, &b);
	isol8_cli_strv_free(&a.runtimes);
	bake_lists_free(&b);
	return status;
}
