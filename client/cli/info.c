/* `isol8 info`: what the daemon and its Docker engine are. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "isol8/v1/admin.rpc.h"
#include "cli/options.h"
#include "cli/output.h"

#define INFO_TIMEOUT_MS 10000


void isol8_cli_info_usage(FILE *out)
{
	fprintf(out, "Usage: isol8 info\n\n"
		     "Shows the daemon's version, its Docker engine and the state of each image.\n\n"
		     "Flags:\n" ISOL8_CLI_CONN_HELP "  -h, --help         show this help\n");
}

static void print_info(const Isol8__V1__InfoResult *res)
{
	printf("isol8d       %s (instance %s)\n", res->version, res->instance_id);
	printf("docker       %s (API %s)\n", res->docker_version, res->docker_api_version);
	printf("executions   %d running\n", res->active_executions);
	if (res->sandboxes) {
		const Isol8__V1__InfoResult__Sandboxes *s = res->sandboxes;
		printf("sandboxes    %d live: %d clean, %d in use, %d starting, %d resetting, %d kept, %d in sessions, "
		       "%d removing (%s pools: %d)\n",
		       s->live, s->clean, s->in_use, s->starting, s->resetting, s->kept, s->sessions, s->removing,
		       s->strategy, s->pools);
		printf("             %lld created, %lld reused, %lld resets failed, %lld replaced\n",
		       (long long)s->created, (long long)s->reused, (long long)s->resets_failed, (long long)s->replaced);
	}
	for (size_t i = 0; i < res->n_kept; i++)
		printf("kept         %.12s %s (--persist; `isol8 cleanup` removes it)\n", res->kept[i]->container_id,
		       res->kept[i]->runtime);
	printf("images\n");
	for (size_t i = 0; i < res->n_images; i++) {
		const Isol8__V1__InfoResult__Image *img = res->images[i];
		printf("  %-8s %-24s %s\n", img->runtime, img->image,
		       !img->present ? "missing (run `isol8 setup`)"
		       : img->up_to_date ? "ready"
					 : "out of date (run `isol8 setup`)");
	}
}

int isol8_cli_info_main(int argc, char **argv)
{
	struct isol8_cli_conn conn = {0};
	Isol8__V1__InfoRequest req = ISOL8__V1__INFO_REQUEST__INIT;
	_cleanup_message_ Isol8__V1__InfoResult *res = NULL;
	_cleanup_channel_ struct isol8_rpc_channel *ch = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	bool help = false;
	int status;

	if (isol8_cli_parse_conn_only(&conn, &help, argc, argv, "info", false, &err) < 0)
		return isol8_cli_fail(&err);
	if (help) {
		isol8_cli_info_usage(stdout);
		return 0;
	}
	status = isol8_cli_open(&ch, &conn);
	if (status != 0)
		return status;
	if (isol8__v1__admin__info__call(ch, &req, &res, INFO_TIMEOUT_MS, &err) < 0)
		return isol8_cli_call_failed(&err, &conn);
	print_info(res);
	return 0;
}
