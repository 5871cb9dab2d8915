/*
 * `isol8 cleanup`: lists the isol8 containers (and with --images the isol8
 * images) it will remove, asks (y/N on a terminal; without one, --force is
 * needed), then removes them: through the local isol8d when one runs (it
 * keeps its pooled and running sandboxes), else through Docker directly.
 * With --host the remote daemon does it all.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/paths.h"
#include "cli/cli.h"
#include "cli/docker_local.h"
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
	fprintf(out, "Usage: isol8 cleanup [--images] [--force]\n\n"
		     "Removes isol8 containers (a running isol8d keeps its pooled and running\n"
		     "sandboxes), and with --images the isol8 images too; works with or without a\n"
		     "running daemon. Lists what it will remove and asks for confirmation on a\n"
		     "terminal; without one, pass --force.\n\nFlags:\n"
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

/* What a cleanup removes: isol8 containers (every other daemon's, and the
 * running daemon's kept ones) and, with --images, isol8 images. */
struct plan {
	struct isol8_cli_containers containers;
	struct isol8_cli_images images;
	char socket[PATH_MAX]; /* Docker's */
	bool daemon;           /* a local isol8d answers: it does the removing */
};

static void plan_free(struct plan *p)
{
	isol8_cli_containers_free(&p->containers);
	isol8_cli_images_free(&p->images);
}

/* 0 when the user said yes; 1 when refused; -1 when cancelled. */
static int confirm(const struct cleanup_args *a, const char *what)
{
	char answer[16];

	if (a->force)
		return 0;
	if (isatty(STDIN_FILENO) != 1) {
		isol8_cli_say("cleanup: no terminal to ask for confirmation on; pass --force to "
			      "remove without asking");
		return 1;
	}
	printf("Remove all these %s? [y/N] ", what);
	fflush(stdout);
	if (fgets(answer, sizeof(answer), stdin) == NULL ||
	    (strcasecmp(answer, "y\n") != 0 && strcasecmp(answer, "yes\n") != 0)) {
		printf("Cleanup cancelled\n");
		return -1;
	}
	return 0;
}

static const char *what_of(const struct cleanup_args *a)
{
	return a->images ? "containers and images" : "containers";
}

/* The daemon's cleanup: its kept sandboxes, other daemons' containers and,
 * with --images, the images; sessions stay. */
static int daemon_cleanup(const struct cleanup_args *a, struct isol8_client *c, struct isol8_cleanup_result **res)
{
	struct isol8_cleanup_options opts = ISOL8_CLEANUP_OPTIONS_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;

	opts.images = a->images;
	if (isol8_cleanup(c, &opts, res, &err) < 0)
		return isol8_cli_call_failed(&err, &a->conn);
	return 0;
}

/* --host: the remote daemon lists nothing beforehand; it removes and counts. */
static int cleanup_remote(const struct cleanup_args *a)
{
	_cleanup_client_ struct isol8_client *c = NULL;
	struct isol8_cleanup_result *res = NULL;
	int status;

	printf("The isol8d at %s removes its kept sandboxes and other daemons' isol8 "
	       "containers%s.\n",
	       a->conn.host, a->images ? ", and the isol8 images" : "");
	status = confirm(a, what_of(a));
	if (status != 0)
		return status < 0 ? 0 : status;
	status = isol8_cli_open(&c, &a->conn);
	if (status == 0)
		status = daemon_cleanup(a, c, &res);
	if (status != 0)
		return status;
	isol8_cli_log(ISOL8_CLI_DONE, "Removed %d container(s)", res->containers.removed);
	if (a->images)
		isol8_cli_log(ISOL8_CLI_DONE, "Removed %d image(s)", res->images.removed);
	isol8_cleanup_result_free(res);
	return 0;
}

/* With a local daemon: its pooled and running sandboxes stay (it removes
 * only its kept ones), so they are not listed. */
static int drop_daemon_own(struct plan *p, const struct cleanup_args *a, struct isol8_client *client)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_info *info = NULL;
	size_t keep = 0;

	if (isol8_info(client, &info, &err) < 0)
		return isol8_cli_call_failed(&err, &a->conn);
	for (size_t i = 0; i < p->containers.n; i++) {
		const struct isol8_cli_container *c = &p->containers.items[i];
		bool kept = false;

		for (size_t k = 0; k < info->n_kept && !kept; k++)
			kept = info->kept[k].container_id[0] != '\0' &&
			       strncmp(info->kept[k].container_id, c->id, strlen(info->kept[k].container_id)) == 0;
		if (kept || strcmp(c->instance, info->instance_id) != 0)
			p->containers.items[keep++] = *c;
	}
	p->containers.n = keep;
	isol8_info_free(info);
	return 0;
}

/* Another daemon that may still run (its own socket) keeps its sandboxes;
 * the containers of daemons that are gone are orphans. own: the local
 * daemon's socket when one answers (its kept sandboxes it removes itself),
 * else NULL. */
static void drop_live_daemons(struct plan *p, const char *own)
{
	size_t keep = 0;
	size_t skipped = 0;

	for (size_t i = 0; i < p->containers.n; i++) {
		const struct isol8_cli_container *c = &p->containers.items[i];

		if (c->owner[0] != '\0' && (own == NULL || strcmp(c->owner, own) != 0) &&
		    isol8_daemon_socket_alive(c->owner))
			skipped++;
		else
			p->containers.items[keep++] = *c;
	}
	p->containers.n = keep;
	if (skipped > 0)
		isol8_cli_log(ISOL8_CLI_INFO,
			      "Leaving %zu container(s) of other running isol8 daemons alone", skipped);
}

static int make_plan(struct plan *p, const struct cleanup_args *a, struct isol8_client **c)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	int status;

	if (isol8_cli_docker_socket(getenv("DOCKER_HOST"), p->socket, sizeof(p->socket), &err) <
		    0 ||
	    isol8_cli_docker_list_containers(p->socket, &p->containers, &err) < 0 ||
	    (a->images && isol8_cli_docker_list_images(p->socket, &p->images, &err) < 0))
		return isol8_cli_fail(&err);
	p->daemon = isol8_cli_daemon_running();
	if (!p->daemon) {
		drop_live_daemons(p, NULL);
		return 0;
	}
	status = isol8_cli_open(c, &a->conn);
	if (status == 0)
		status = drop_daemon_own(p, a, *c);
	if (status == 0) {
		char own[PATH_MAX];
		isol8_cli_local_socket(own, sizeof(own));
		drop_live_daemons(p, own);
	}
	return status;
}

static void print_plan(const struct plan *p)
{
	printf("\n");
	for (size_t i = 0; i < p->containers.n; i++) {
		const struct isol8_cli_container *c = &p->containers.items[i];
		time_t t = (time_t)c->created;
		char when[32] = "?";
		struct tm tm;

		if (localtime_r(&t, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		printf("  %-7s %.12s | %s | created %s\n",
		       strcmp(c->state, "running") == 0 ? "running" : "stopped", c->id, c->image,
		       when);
	}
	if (p->images.n > 0 && p->containers.n > 0)
		printf("\n");
	for (size_t i = 0; i < p->images.n; i++) {
		const char *id = p->images.items[i].id;

		if (strncmp(id, "sha256:", 7) == 0)
			id += 7;
		printf("  image   %.12s | %s\n", id, p->images.items[i].tags);
	}
	printf("\n");
	fflush(stdout);
}

static void say_removed(const char *what, int removed, int failed)
{
	if (failed == 0)
		isol8_cli_log(ISOL8_CLI_DONE, "Removed %d %s(s)", removed, what);
	else
		isol8_cli_log(ISOL8_CLI_WARN, "Removed %d %s(s), %d failed", removed, what, failed);
}

/* No daemon: remove through Docker, one by one, saying what failed. */
static int remove_direct(const struct plan *p)
{
	int removed = 0;
	int failed = 0;

	for (size_t i = 0; i < p->containers.n; i++) {
		struct isol8_error err = ISOL8_ERROR_INIT;

		if (isol8_cli_docker_remove_container(p->socket, p->containers.items[i].id, &err) ==
		    0) {
			removed++;
		} else if (err.code != ISOL8_E_NOT_FOUND) { /* gone meanwhile: fine */
			fprintf(stderr, "  Failed to remove %.12s: %s\n", p->containers.items[i].id,
				err.message);
			failed++;
		}
	}
	say_removed("container", removed, failed);
	if (p->images.n == 0)
		return failed == 0 ? 0 : ISOL8_CLI_EXIT_ERROR;
	int images_failed = 0;
	removed = 0;
	for (size_t i = 0; i < p->images.n; i++) {
		struct isol8_error err = ISOL8_ERROR_INIT;

		if (isol8_cli_docker_remove_image(p->socket, p->images.items[i].id, &err) == 0) {
			removed++;
		} else if (err.code != ISOL8_E_NOT_FOUND) {
			fprintf(stderr, "  Failed to remove image %s: %s\n",
				p->images.items[i].tags, err.message);
			images_failed++;
		}
	}
	say_removed("image", removed, images_failed);
	return failed + images_failed == 0 ? 0 : ISOL8_CLI_EXIT_ERROR;
}

/* A local daemon: it removes (its kept sandboxes, other daemons'
 * containers, the images), so it never loses a sandbox it is using. */
static int remove_by_daemon(const struct cleanup_args *a, struct isol8_client *c)
{
	struct isol8_cleanup_result *res = NULL;
	int status = daemon_cleanup(a, c, &res);

	if (status != 0)
		return status;
	say_removed("container", res->containers.removed, 0);
	if (a->images)
		say_removed("image", res->images.removed, 0);
	isol8_cleanup_result_free(res);
	return 0;
}

int isol8_cli_cleanup_main(int argc, char **argv)
{
	struct cleanup_args a = {0};
	__attribute__((cleanup(plan_free))) struct plan p = {0};
	_cleanup_client_ struct isol8_client *c = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int status;

	if (parse(&a, argc, argv, &err) < 0)
		return isol8_cli_fail(&err);
	if (a.help) {
		isol8_cli_cleanup_usage(stdout);
		return 0;
	}
	if (a.conn.host != NULL)
		return cleanup_remote(&a);
	status = make_plan(&p, &a, &c);
	if (status != 0)
		return status;
	if (p.containers.n == 0 && p.images.n == 0) {
		isol8_cli_log(ISOL8_CLI_INFO, "%s", a.images ? "No isol8 containers or images found"
							     : "No isol8 containers found");
		return 0;
	}
	if (a.images)
		isol8_cli_log(ISOL8_CLI_INFO, "Found %zu isol8 container(s) and %zu image(s)",
			      p.containers.n, p.images.n);
	else
		isol8_cli_log(ISOL8_CLI_INFO, "Found %zu isol8 container(s)", p.containers.n);
	print_plan(&p);
	status = confirm(&a, what_of(&a));
	if (status != 0)
		return status < 0 ? 0 : status;
	return p.daemon ? remove_by_daemon(&a, c) : remove_direct(&p);
}
