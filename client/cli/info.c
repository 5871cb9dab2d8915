/* `isol8 info`: what the daemon and its Docker engine are. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "cli/output.h"

void isol8_cli_info_usage(FILE *out)
{
	fprintf(out, "Usage: isol8 info\n\n"
		     "Shows the daemon's version, its Docker engine and the state of each image.\n\n"
		     "Flags:\n" ISOL8_CLI_CONN_HELP "  -h, --help         show this help\n");
}

static void print_info(const struct isol8_info *res)
{
	printf("isol8d       %s (instance %s)\n", res->version, res->instance_id);
	printf("docker       %s (API %s)\n", res->docker_version, res->docker_api_version);
	printf("executions   %d running\n", res->active_executions);
	if (res->sandboxes.strategy != NULL) {
		const __typeof__(res->sandboxes) *s = &res->sandboxes;
		printf("sandboxes    %d live: %d clean, %d in use, %d starting, %d resetting, %d kept, %d in sessions, "
		       "%d removing (%s pools: %d)\n",
		       s->live, s->clean, s->in_use, s->starting, s->resetting, s->kept, s->sessions, s->removing,
		       s->strategy, s->pools);
		printf("             %lld created, %lld reused, %lld resets failed, %lld replaced\n",
		       (long long)s->created, (long long)s->reused, (long long)s->resets_failed, (long long)s->replaced);
	}
	for (size_t i = 0; i < res->n_kept; i++)
		printf("kept         %.12s %s (--persist; `isol8 cleanup` removes it)\n", res->kept[i].container_id,
		       res->kept[i].runtime);
	printf("images\n");
	for (size_t i = 0; i < res->n_images; i++) {
		const struct isol8_image_info *img = &res->images[i];
		printf("  %-8s %-24s %s\n", img->runtime, img->image,
		       !img->present ? "missing (run `isol8 setup`)"
		       : img->up_to_date ? "ready"
					 : "out of date (run `isol8 setup`)");
	}
}

int isol8_cli_info_main(int argc, char **argv)
{
	struct isol8_cli_conn conn = {0};
	_cleanup_client_ struct isol8_client *c = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_info *res = NULL;
	bool help = false;
	int status;

	if (isol8_cli_parse_conn_only(&conn, &help, argc, argv, "info", false, &err) < 0)
		return isol8_cli_fail(&err);
	if (help) {
		isol8_cli_info_usage(stdout);
		return 0;
	}
	status = isol8_cli_open(&c, &conn);
	if (status != 0)
		return status;
	if (isol8_info(c, &res, &err) < 0)
		return isol8_cli_call_failed(&err, &conn);
	print_info(res);
	isol8_info_free(res);
	return 0;
}
