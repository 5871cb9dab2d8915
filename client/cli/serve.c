/*
 * `isol8 serve`: isol8d and isol8-gateway together, the original's
 * one-command server. serve picks the ports (the HTTP one asked for, or the
 * next free one: offered on a terminal, taken and printed otherwise; a free
 * one for gRPC), makes a private directory for isol8d's unix socket, starts
 * isol8d (the key in its environment, TCP on the gRPC port), waits for its
 * socket, starts the gateway on it (--ready-fd tells when it listens),
 * prints both addresses, then waits: SIGINT or SIGTERM stops both (gateway
 * first) and exits 0; a child that dies stops the other and exits 1 naming
 * it. The children run in process groups of their own and die with serve.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "cli/output.h"
#include "cli/serve_args.h"
#include "cli/serve_proc.h"

#define EXIT_USAGE 2
#define READY_WAIT_MS 60000
#define STOP_GRACE_MS 15000

#ifndef ISOL8D_BUILD_PATH
#define ISOL8D_BUILD_PATH NULL
#endif
#ifndef ISOL8_GATEWAY_BUILD_PATH
#define ISOL8_GATEWAY_BUILD_PATH NULL
#endif

void isol8_cli_serve_usage(FILE *out)
{
	fprintf(out, "Usage: isol8 serve [--port N] [--key KEY] [--host ADDR] [--grpc-port N] [--debug]\n\n"
		     "Runs isol8d and isol8-gateway together: the original's HTTP API on --port and\n"
		     "isol8's gRPC API beside it, both needing the key (\"Authorization: Bearer KEY\").\n"
		     "Stops both on Ctrl-C or SIGTERM, and when either dies.\n\n"
		     "Flags:\n"
		     "  --port N       HTTP port (default $ISOL8_PORT, else $PORT, else 3000); when it is\n"
		     "                 taken, the next free one (asked on a terminal)\n"
		     "  --key KEY      API key (default $ISOL8_API_KEY); required\n"
		     "  --host ADDR    address both listen on (default 0.0.0.0)\n"
		     "  --grpc-port N  gRPC port (default: the first free one after the HTTP port)\n"
		     "  --debug        log each request (both programs)\n"
		     "  -h, --help     show this help\n");
}

/* Whether a TCP listener could bind host:port now. */
static bool port_free(const char *host, int port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char service[8];
	bool ok = false;
	int one = 1;

	snprintf(service, sizeof(service), "%d", port);
	if (getaddrinfo(host, service, &hints, &ai) != 0)
		return false;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		ok = bind(fd, ai->ai_addr, ai->ai_addrlen) == 0;
		close(fd);
	}
	freeaddrinfo(ai);
	return ok;
}

/* The HTTP port: the one asked for, else the next free one (asked on a terminal). */
static int choose_http_port(const struct isol8_serve_args *a, int *out)
{
	char answer[16] = "";
	int next;

	*out = a->port;
	if (port_free(a->host, a->port))
		return 0;
	next = isol8_serve_next_free(a->host, a->port + 1, a->grpc_port, port_free);
	if (next == 0) {
		isol8_cli_say("serve: port %d is in use, and so are the %d after it", a->port, ISOL8_SERVE_PORT_SEARCH);
		return ISOL8_CLI_EXIT_ERROR;
	}
	if (isatty(STDIN_FILENO) && isatty(STDERR_FILENO)) {
		fprintf(stderr, "port %d is in use; use %d instead? [Y/n] ", a->port, next);
		fflush(stderr);
		if (fgets(answer, sizeof(answer), stdin) == NULL || (answer[0] != '\n' && answer[0] != 'y' &&
								       answer[0] != 'Y')) {
			isol8_cli_say("serve: port %d is in use; not started", a->port);
			return ISOL8_CLI_EXIT_ERROR;
		}
	} else {
		printf("isol8 serve: port %d is in use; using %d\n", a->port, next);
		fflush(stdout);
	}
	*out = next;
	return 0;
}

static int choose_grpc_port(const struct isol8_serve_args *a, int http_port, int *out)
{
	if (a->grpc_port != 0) {
		*out = a->grpc_port;
		if (port_free(a->host, a->grpc_port))
			return 0;
		isol8_cli_say("serve: --grpc-port %d is in use", a->grpc_port);
		return ISOL8_CLI_EXIT_ERROR;
	}
	*out = isol8_serve_next_free(a->host, http_port + 1, http_port, port_free);
	if (*out == 0) {
		isol8_cli_say("serve: no free port for gRPC after %d", http_port);
		return ISOL8_CLI_EXIT_ERROR;
	}
	return 0;
}

static bool socket_answers(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd, ret;

	if (strlen(path) >= sizeof(addr.sun_path))
		return false;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	ret = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	close(fd);
	return ret == 0;
}

static void sleep_ms(int ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&t, NULL);
}

/* Everything serve runs, for its stop. */
struct serve {
	struct isol8_serve_args args;
	int http_port, grpc_port;
	char dir[64];        /* private: isol8d's socket and run dir */
	char socket[128];
	struct isol8_serve_child daemon, gateway;
};

/* A child that ended while serve waited for it: says so, and how. */
static int child_gone(const struct isol8_serve_child *c, const char *doing)
{
	char how[64];

	isol8_serve_describe_end(c, how, sizeof(how));
	isol8_cli_say("serve: %s %s %s", c->name, how, doing);
	return ISOL8_CLI_EXIT_ERROR;
}

static int start_daemon(struct serve *s)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char binary[PATH_MAX], listen[300];
	char *argv[] = {"isol8d", "--socket", s->socket, "--listen", listen, "--log-level",
			s->args.debug ? "debug" : "info", NULL};

	isol8_serve_address(s->args.host, s->grpc_port, listen, sizeof(listen));
	isol8_serve_find("isol8d", "ISOL8D", ISOL8D_BUILD_PATH, binary, sizeof(binary));
	/* the key in its environment, not on a command line any user can read */
	if (isol8_serve_spawn(&s->daemon, binary, argv, -1, "ISOL8_API_KEY", s->args.key, &err) < 0)
		return isol8_cli_fail(&err);
	for (int waited = 0; !socket_answers(s->socket); waited += 50) {
		if (isol8_serve_reaped(&s->daemon))
			return child_gone(&s->daemon, "while starting");
		if (waited >= READY_WAIT_MS) {
			isol8_cli_say("serve: isol8d did not answer on %s within %d s", s->socket, READY_WAIT_MS / 1000);
			return ISOL8_CLI_EXIT_ERROR;
		}
		sleep_ms(50);
	}
	return 0;
}

/* Waits for the gateway's "PORT\n" on fd. */
static int gateway_ready(struct serve *s, int fd)
{
	char line[16];
	size_t len = 0;

	for (int waited = 0; waited < READY_WAIT_MS; waited += 100) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 100) > 0) {
			ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
			if (n > 0)
				len += (size_t)n;
			if (n <= 0 || memchr(line, '\n', len) != NULL || len == sizeof(line) - 1)
				break;
		}
		if (isol8_serve_reaped(&s->gateway))
			return child_gone(&s->gateway, "while starting");
	}
	line[len] = '\0';
	if (atoi(line) != s->http_port) {
		if (isol8_serve_reaped(&s->gateway))
			return child_gone(&s->gateway, "while starting");
		isol8_cli_say("serve: isol8-gateway did not report listening on port %d", s->http_port);
		return ISOL8_CLI_EXIT_ERROR;
	}
	return 0;
}

static int start_gateway(struct serve *s)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char binary[PATH_MAX], listen[300], upstream[160], ready[16];
	char *argv[] = {"isol8-gateway", "--listen", listen, "--upstream", upstream, "--key", (char *)s->args.key,
			"--ready-fd", ready, s->args.debug ? "--debug" : NULL, NULL};
	int pipe_fd[2], ret;

	if (pipe2(pipe_fd, O_CLOEXEC) < 0) {
		isol8_cli_say("serve: cannot make a pipe: %s", strerror(errno));
		return ISOL8_CLI_EXIT_ERROR;
	}
	isol8_serve_address(s->args.host, s->http_port, listen, sizeof(listen));
	snprintf(upstream, sizeof(upstream), "unix:%s", s->socket);
	snprintf(ready, sizeof(ready), "%d", pipe_fd[1]);
	isol8_serve_find("isol8-gateway", "ISOL8_GATEWAY", ISOL8_GATEWAY_BUILD_PATH, binary, sizeof(binary));
	ret = isol8_serve_spawn(&s->gateway, binary, argv, pipe_fd[1], NULL, NULL, &err);
	close(pipe_fd[1]);
	ret = ret < 0 ? isol8_cli_fail(&err) : gateway_ready(s, pipe_fd[0]);
	close(pipe_fd[0]);
	return ret;
}

/* Until a stop signal (0) or a child's end (1, naming it). */
static int wait_for_end(struct serve *s, const sigset_t *signals)
{
	struct timespec tick = {0, 200 * 1000000};

	for (;;) {
		int sig = sigtimedwait(signals, NULL, &tick);
		if (sig == SIGINT || sig == SIGTERM) {
			printf("isol8 serve: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
			fflush(stdout);
			return 0;
		}
		if (isol8_serve_reaped(&s->gateway))
			return child_gone(&s->gateway, "(stopping isol8d)");
		if (isol8_serve_reaped(&s->daemon))
			return child_gone(&s->daemon, "(stopping isol8-gateway)");
	}
}

static void remove_dir(struct serve *s)
{
	char path[160];

	if (s->dir[0] == '\0')
		return;
	unlink(s->socket);
	/* what isol8d leaves beside its socket */
	snprintf(path, sizeof(path), "%s.lock", s->socket);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sandboxes", s->dir);
	rmdir(path);
	rmdir(s->dir);
}

static int run(struct serve *s, const sigset_t *signals)
{
	char http[300], grpc[300];
	int ret;

	snprintf(s->dir, sizeof(s->dir), "/tmp/isol8-serve.XXXXXX");
	if (mkdtemp(s->dir) == NULL) {
		isol8_cli_say("serve: cannot make a directory for isol8d's socket: %s", strerror(errno));
		s->dir[0] = '\0';
		return ISOL8_CLI_EXIT_ERROR;
	}
	snprintf(s->socket, sizeof(s->socket), "%s/isol8.sock", s->dir);
	ret = start_daemon(s);
	if (ret == 0)
		ret = start_gateway(s);
	if (ret != 0)
		return ret;
	isol8_serve_address(s->args.host, s->http_port, http, sizeof(http));
	isol8_serve_address(s->args.host, s->grpc_port, grpc, sizeof(grpc));
	printf("isol8 serve: HTTP on http://%s, gRPC on %s\n", http, grpc);
	fflush(stdout);
	return wait_for_end(s, signals);
}

int isol8_cli_serve_main(int argc, char **argv)
{
	const struct isol8_serve_env env = {getenv("ISOL8_PORT"), getenv("PORT"), getenv("ISOL8_API_KEY")};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct serve s = {.daemon = {"isol8d", 0, 0}, .gateway = {"isol8-gateway", 0, 0}};
	sigset_t signals;
	int ret;

	if (isol8_serve_parse(&s.args, argc, argv, &env, &err) < 0) {
		isol8_cli_fail(&err);
		return EXIT_USAGE;
	}
	if (s.args.help) {
		isol8_cli_serve_usage(stdout);
		return 0;
	}
	/* before the signals are blocked: Ctrl-C at the port question just ends serve */
	ret = choose_http_port(&s.args, &s.http_port);
	if (ret == 0)
		ret = choose_grpc_port(&s.args, s.http_port, &s.grpc_port);
	if (ret != 0)
		return ret;
	/* the stop signals are taken by sigtimedwait, never by a handler */
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	ret = run(&s, &signals);
	/* the gateway first: it holds connections to isol8d */
	isol8_serve_stop(&s.gateway, STOP_GRACE_MS);
	isol8_serve_stop(&s.daemon, STOP_GRACE_MS);
	remove_dir(&s);
	return ret;
}
