/* The server's start (listen address, upstream, MHD's options) and its
 * orderly stop: see server.c for what runs where. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "gateway/gateway.h"

/* ---- Start and stop ---------------------------------------------------- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	isol8_log(ISOL8_LOG_DEBUG, "libmicrohttpd: %s", line);
}

static int resolve_listen(const struct gw_config *cfg, struct sockaddr_storage *addr, bool *v6, struct isol8_error *err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res = NULL;
	char port[8];
	int rc;

	snprintf(port, sizeof(port), "%u", cfg->listen_port);
	rc = getaddrinfo(cfg->listen_host, port, &hints, &res);
	if (rc != 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "--listen: cannot resolve \"%s\": %s", cfg->listen_host,
				       gai_strerror(rc));
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	*v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return 0;
}

static int connect_upstream(struct gw_server *srv, struct isol8_error *err)
{
	struct isol8_client_options o = ISOL8_CLIENT_OPTIONS_INIT;

	o.target = srv->cfg.upstream;
	o.api_key = srv->cfg.key;
	o.tls_ca = srv->cfg.upstream_tls_ca;
	o.connect_timeout_ms = -1; /* isol8d may come up after us: /health says so meanwhile */
	if (isol8_client_new(&srv->upstream, &o, err) < 0)
		return isol8_error_prefix(err, "--upstream");
	return 0;
}

int gw_server_start(struct gw_server *srv, const struct gw_config *cfg, struct isol8_error *err)
{
	struct sockaddr_storage addr;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
	bool v6 = false;
	int ret;

	memset(srv, 0, sizeof(*srv));
	srv->cfg = *cfg;
	srv->max_workers = cfg->max_connections < GW_MAX_WORKERS ? cfg->max_connections : GW_MAX_WORKERS;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->changed, NULL);
	pthread_mutex_init(&srv->health_lock, NULL);
	pthread_cond_init(&srv->health_done, NULL);
	ret = resolve_listen(cfg, &addr, &v6, err);
	if (ret == 0)
		ret = connect_upstream(srv, err);
	if (ret == 0)
		ret = gw_ws_hub_start(srv, err);
	if (ret < 0)
		return ret;
	if (v6)
		flags |= MHD_USE_IPv6;
	srv->mhd = MHD_start_daemon(flags, (uint16_t)cfg->listen_port, NULL, NULL, gw_on_request, srv,
				    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
				    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				    MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
				    MHD_OPTION_CONNECTION_TIMEOUT, (cfg->request_timeout_ms + 999) / 1000,
				    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32u << 10),
				    MHD_OPTION_NOTIFY_COMPLETED, gw_on_completed, srv,
				    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
				    MHD_OPTION_END);
	if (srv->mhd == NULL)
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "--listen: cannot listen on %s:%u (in use, or not an "
								 "address of this host)",
				       cfg->listen_host, cfg->listen_port);
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : cfg->listen_port;
	if (pthread_create(&srv->ticker, NULL, gw_sse_ticker, srv) != 0)
		return isol8_error_set(err, ISOL8_E_NOMEM, "cannot start the stream ticker");
	srv->ticker_started = true;
	return 0;
}

/* Waits up to ms for every worker to end; whether they did. */
static bool wait_workers(struct gw_server *srv, int ms)
{
	int64_t until = isol8_now_ms() + ms;
	bool idle;

	pthread_mutex_lock(&srv->lock);
	while (srv->workers > 0 && isol8_now_ms() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&srv->changed, &srv->lock, &ts);
	}
	idle = srv->workers == 0;
	pthread_mutex_unlock(&srv->lock);
	return idle;
}

void gw_server_stop(struct gw_server *srv)
{
	MHD_socket listen_fd = srv->mhd ? MHD_quiesce_daemon(srv->mhd) : MHD_INVALID_SOCKET;
	bool idle;

	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	pthread_mutex_lock(&srv->lock);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->changed);
	pthread_mutex_unlock(&srv->lock);
	gw_sse_cancel_all(srv);
	gw_ws_hub_stop(srv);
	if (srv->ticker_started)
		pthread_join(srv->ticker, NULL);
	/* unary calls cannot be cancelled: give them a moment, then leave */
	idle = wait_workers(srv, 5000);
	if (!idle) {
		isol8_log(ISOL8_LOG_WARN, "%u calls still running at exit", srv->workers);
		return; /* MHD may not stop with suspended connections: the process exit closes them */
	}
	if (srv->mhd)
		MHD_stop_daemon(srv->mhd);
	srv->mhd = NULL;
	isol8_client_free(srv->upstream);
	srv->upstream = NULL;
}
