/* isol8-gateway: the original isol8 HTTP API (REST, SSE, WebSocket) in
 * front of isol8d. See server.c for how it works. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/paths.h"
#include "gateway/args.h"
#include "gateway/gateway.h"

static void ready(int fd, unsigned port)
{
	char line[16];
	int n = snprintf(line, sizeof(line), "%u\n", port);

	if (write(fd, line, (size_t)n) != n)
		isol8_log(ISOL8_LOG_WARN, "--ready-fd %d: cannot write the port", fd);
	close(fd);
}

static void describe_upstream(const struct gw_config *cfg, char *buf, size_t size)
{
	const char *env = getenv("ISOL8_SOCKET");
	char path[512];

	if (cfg->upstream != NULL)
		snprintf(buf, size, "%s", cfg->upstream);
	else if (isol8_default_socket_path(path, sizeof(path), getuid(), getenv("XDG_RUNTIME_DIR"), env) == 0)
		snprintf(buf, size, "unix:%s", path);
	else
		snprintf(buf, size, "the local isol8d socket");
}

int main(int argc, char **argv)
{
	static struct gw_server srv;
	struct gw_config cfg;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char upstream[600];
	sigset_t sigs;
	int sig = 0;

	if (gw_args_parse(argc, argv, &cfg, &err) < 0) {
		fprintf(stderr, "isol8-gateway: %s\n", err.message);
		return 2;
	}
	if (cfg.help) {
		fputs(gw_usage, stdout);
		return 0;
	}
	if (cfg.version) {
		printf("isol8-gateway %s\n", ISOL8_VERSION);
		return 0;
	}
	isol8_log_setup(cfg.debug ? ISOL8_LOG_DEBUG : ISOL8_LOG_INFO, cfg.log_json, "isol8-gateway");
	/* every thread inherits this mask: only sigwait below takes the signals */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (gw_server_start(&srv, &cfg, &err) < 0) {
		fprintf(stderr, "isol8-gateway: %s\n", err.message);
		return 1;
	}
	describe_upstream(&cfg, upstream, sizeof(upstream));
	fprintf(stderr, "isol8-gateway: listening on http://%s%s%s:%u (upstream %s)\n",
		strchr(cfg.listen_host, ':') ? "[" : "", cfg.listen_host, strchr(cfg.listen_host, ':') ? "]" : "",
		srv.port, upstream);
	if (cfg.ready_fd >= 0)
		ready(cfg.ready_fd, srv.port);
	sigdelset(&sigs, SIGPIPE);
	while (sig != SIGINT && sig != SIGTERM) {
		if (sigwait(&sigs, &sig) != 0)
			break;
	}
	isol8_log(ISOL8_LOG_INFO, "%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	gw_server_stop(&srv);
	return 0;
}
