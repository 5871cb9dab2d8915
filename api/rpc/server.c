/*
 * Server lifecycle: create, listen, route, start, shut down, free; and the
 * completion-queue threads. A queue thread only waits for new calls on its
 * server queue and hands each one to isol8_rpc_accept (server_accept.c),
 * which starts a worker thread for it; it then posts a fresh request so the
 * queue always has ISOL8_RPC_REQUESTS_PER_QUEUE of them outstanding.
 *
 * Shutdown (the order gRPC needs for a clean exit): stop accepting and wait
 * up to grace_ms for calls to end, then cancel the rest and wait; wait for
 * every worker; destroy the grpc_server; shut down, drain and destroy the
 * server queues. grpc_init in new and grpc_shutdown_blocking in free pair up.
 */
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc_codec.h"
#include "rpc/rpc_server_internal.h"
#include "base/util.h"

#define QUEUE_THREADS_MAX 64
#define MAX_CALLS_MAX 65536

static int config_check(struct isol8_rpc_server_config *cfg, struct isol8_error *err)
{
	struct isol8_rpc_server_config defaults = ISOL8_RPC_SERVER_CONFIG_INIT;

	if (cfg->queue_threads == 0)
		cfg->queue_threads = defaults.queue_threads;
	if (cfg->max_calls == 0)
		cfg->max_calls = defaults.max_calls;
	if (cfg->reserved_calls == 0)
		cfg->reserved_calls = defaults.reserved_calls;
	if (cfg->queue_threads < 0 || cfg->queue_threads > QUEUE_THREADS_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "queue_threads must be 1..%d, not %d",
				       QUEUE_THREADS_MAX, cfg->queue_threads);
	if (cfg->max_calls < 0 || cfg->max_calls > MAX_CALLS_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "max_calls must be 1..%d, not %d", MAX_CALLS_MAX,
				       cfg->max_calls);
	if (cfg->reserved_calls < 0 || cfg->reserved_calls > MAX_CALLS_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "reserved_calls must be 1..%d, not %d", MAX_CALLS_MAX,
				       cfg->reserved_calls);
	return 0;
}

int isol8_rpc_server_new(struct isol8_rpc_server **out, const struct isol8_rpc_server_config *cfg,
			 struct isol8_error *err)
{
	struct isol8_rpc_server_config defaults = ISOL8_RPC_SERVER_CONFIG_INIT;
	struct isol8_rpc_server *srv;
	struct isol8_rpc_args args;
	grpc_arg server_args[ISOL8_ARRAY_LEN(args.args) + 1];
	grpc_channel_args channel_args;
	int ret;

	*out = NULL;
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory creating the server");
	srv->cfg = cfg ? *cfg : defaults;
	ret = config_check(&srv->cfg, err);
	if (ret < 0) {
		free(srv);
		return ret;
	}
	grpc_init();
	isol8_rpc_args_init(&args);
	/* gRPC sets SO_REUSEPORT by default: a second server on a port would share
	 * its clients with the first instead of failing to start. */
	server_args[0] = args.args[0];
	server_args[1] = args.args[1];
	server_args[2].type = GRPC_ARG_INTEGER;
	server_args[2].key = (char *)GRPC_ARG_ALLOW_REUSEPORT;
	server_args[2].value.integer = 0;
	channel_args.num_args = ISOL8_ARRAY_LEN(server_args);
	channel_args.args = server_args;
	srv->server = grpc_server_create(&channel_args, NULL);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->idle, NULL);
	*out = srv;
	return 0;
}

static bool addr_is_unix(const char *addr)
{
	return strncmp(addr, "unix:", 5) == 0 || strncmp(addr, "unix-abstract:", 14) == 0;
}

/* The text after the last ':' is a decimal port from 0 to 65535 (gRPC
 * itself would wrap 99999 around to another port). */
static bool tcp_port_valid(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	unsigned long port = 0;

	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) > 5)
		return false;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	return port <= 65535;
}

static int tls_credentials(grpc_server_credentials **creds, const char *cert, const char *key,
			   struct isol8_error *err)
{
	char *cert_pem = NULL, *key_pem = NULL;
	grpc_ssl_pem_key_cert_pair pair;

	if (isol8_rpc_read_pem(cert, &cert_pem, err) < 0 || isol8_rpc_read_pem(key, &key_pem, err) < 0) {
		free(cert_pem);
		return isol8_error_prefix(err, "TLS");
	}
	pair.private_key = key_pem;
	pair.cert_chain = cert_pem;
	*creds = grpc_ssl_server_credentials_create(NULL, &pair, 1, 0, NULL);
	free(cert_pem);
	free(key_pem);
	if (*creds == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "TLS: cannot use certificate '%s' and key '%s'",
				       cert, key);
	return 0;
}

int isol8_rpc_server_listen(struct isol8_rpc_server *srv, const char *addr, const char *tls_cert,
			    const char *tls_key, int *bound_port, struct isol8_error *err)
{
	grpc_server_credentials *creds;
	int port, ret;

	if (srv->started)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "listen after the server started");
	if (addr == NULL || addr[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "listen address is empty");
	if ((tls_cert == NULL) != (tls_key == NULL))
		return isol8_error_set(err, ISOL8_E_INVALID, "TLS needs both a certificate and a key");
	if (!addr_is_unix(addr) && !tcp_port_valid(addr))
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "listen address '%s' must be HOST:PORT with a port from 0 to 65535", addr);
	if (tls_cert != NULL) {
		ret = tls_credentials(&creds, tls_cert, tls_key, err);
		if (ret < 0)
			return ret;
	} else {
		creds = grpc_insecure_server_credentials_create();
	}
	if (strncmp(addr, "unix:", 5) == 0) {
		port = 0;
		ret = isol8_rpc_listen_unix(srv->server, addr + 5, creds, err);
	} else {
		port = grpc_server_add_http2_port(srv->server, addr, creds);
		ret = port > 0 || addr_is_unix(addr) ? 0 : isol8_rpc_listen_tcp_failure(addr, err);
		if (port <= 0 && ret == 0)
			ret = isol8_error_set(err, ISOL8_E_IO, "cannot listen on %s", addr);
	}
	grpc_server_credentials_release(creds);
	if (ret < 0)
		return ret;
	if (bound_port != NULL)
		*bound_port = addr_is_unix(addr) ? 0 : port;
	return 0;
}

static void invoke_generic(struct isol8_rpc_call *call, isol8_rpc_generic_fn fn, void *userdata)
{
	isol8_rpc_handler_fn handler = (isol8_rpc_handler_fn)fn;

	handler(call, userdata);
}

int isol8_rpc_server_route_typed(struct isol8_rpc_server *srv, const struct isol8_rpc_method *method,
				 isol8_rpc_invoke_fn invoke, isol8_rpc_generic_fn fn, void *userdata,
				 struct isol8_error *err)
{
	struct isol8_rpc_route *grown;

	if (srv->started)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "route after the server started");
	if (method == NULL || method->path == NULL || fn == NULL)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "route needs a method and a handler");
	for (size_t i = 0; i < srv->n_routes; i++)
		if (strcmp(srv->routes[i].method->path, method->path) == 0)
			return isol8_error_set(err, ISOL8_E_INTERNAL, "method %s is routed twice", method->path);
	grown = realloc(srv->routes, (srv->n_routes + 1) * sizeof(*srv->routes));
	if (grown == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory routing %s", method->path);
	srv->routes = grown;
	srv->routes[srv->n_routes++] = (struct isol8_rpc_route){method, invoke, fn, userdata, false};
	return 0;
}

int isol8_rpc_server_reserve(struct isol8_rpc_server *srv, const char *path, struct isol8_error *err)
{
	if (srv->started)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "reserve after the server started");
	for (size_t i = 0; i < srv->n_routes; i++) {
		if (strcmp(srv->routes[i].method->path, path) == 0) {
			srv->routes[i].reserved = true;
			return 0;
		}
	}
	return isol8_error_set(err, ISOL8_E_INTERNAL, "reserve: method %s is not routed", path);
}

int isol8_rpc_server_route(struct isol8_rpc_server *srv, const struct isol8_rpc_method *method,
			   isol8_rpc_handler_fn handler, void *userdata, struct isol8_error *err)
{
	return isol8_rpc_server_route_typed(srv, method, invoke_generic, (isol8_rpc_generic_fn)handler,
					    userdata, err);
}

/* Handles every event of a server queue until it is shut down. */
static void queue_drain(struct isol8_rpc_queue *q)
{
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(q->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		struct isol8_rpc_call *c = ev.tag, *next;

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			return;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		if (!ev.success) { /* the server is shutting down */
			isol8_rpc_call_free(c);
			continue;
		}
		isol8_rpc_accept(c);
		next = isol8_rpc_call_new(q->srv, q->cq);
		if (next != NULL)
			isol8_rpc_request_post(next);
	}
}

static void *queue_main(void *arg)
{
	queue_drain(arg);
	return NULL;
}

static int queues_start(struct isol8_rpc_server *srv, struct isol8_error *err)
{
	for (int i = 0; i < srv->n_queues; i++) {
		struct isol8_rpc_queue *q = &srv->queues[i];

		for (int r = 0; r < ISOL8_RPC_REQUESTS_PER_QUEUE; r++) {
			struct isol8_rpc_call *c = isol8_rpc_call_new(srv, q->cq);

			if (c == NULL)
				return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory starting the server");
			isol8_rpc_request_post(c);
		}
		if (pthread_create(&q->thread, NULL, queue_main, q) != 0)
			return isol8_error_set(err, ISOL8_E_NOMEM, "cannot start a queue thread");
		q->running = true;
	}
	return 0;
}

int isol8_rpc_server_start(struct isol8_rpc_server *srv, struct isol8_error *err)
{
	if (srv->started)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "server started twice");
	srv->queues = calloc((size_t)srv->cfg.queue_threads, sizeof(*srv->queues));
	if (srv->queues == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory starting the server");
	srv->n_queues = srv->cfg.queue_threads;
	for (int i = 0; i < srv->n_queues; i++) {
		srv->queues[i].srv = srv;
		srv->queues[i].cq = grpc_completion_queue_create_for_next(NULL);
		grpc_server_register_completion_queue(srv->server, srv->queues[i].cq, NULL);
	}
	grpc_server_start(srv->server);
	srv->started = true;
	/* On failure the caller shuts down and frees; both handle a partial start. */
	return queues_start(srv, err);
}

static void wait_for_calls(struct isol8_rpc_server *srv, int grace_ms)
{
	static char shutdown_tag;
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_event ev;

	grpc_server_shutdown_and_notify(srv->server, cq, &shutdown_tag);
	ev = grpc_completion_queue_pluck(cq, &shutdown_tag, isol8_rpc_deadline(grace_ms > 0 ? grace_ms : 1),
					 NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT) {
		grpc_server_cancel_all_calls(srv->server);
		grpc_completion_queue_pluck(cq, &shutdown_tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	}
	isol8_rpc_queue_destroy(cq);

	pthread_mutex_lock(&srv->lock);
	while (srv->active_calls > 0)
		pthread_cond_wait(&srv->idle, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
	isol8_rpc_workers_join(srv);
}

void isol8_rpc_server_shutdown(struct isol8_rpc_server *srv, int grace_ms)
{
	if (srv == NULL || !srv->started || srv->shut_down)
		return;
	srv->shut_down = true;
	pthread_mutex_lock(&srv->lock);
	srv->stopping = true;
	pthread_mutex_unlock(&srv->lock);

	wait_for_calls(srv, grace_ms);
	pthread_mutex_lock(&srv->lock);
	grpc_server_destroy(srv->server);
	srv->server = NULL;
	pthread_mutex_unlock(&srv->lock);
	for (int i = 0; i < srv->n_queues; i++)
		grpc_completion_queue_shutdown(srv->queues[i].cq);
	for (int i = 0; i < srv->n_queues; i++) {
		struct isol8_rpc_queue *q = &srv->queues[i];

		if (q->running)
			pthread_join(q->thread, NULL);
		else
			queue_drain(q);
		grpc_completion_queue_destroy(q->cq);
	}
	free(srv->queues);
	srv->queues = NULL;
	srv->n_queues = 0;
}

/* A server that never started may still hold listeners, and gRPC destroys a
 * server with listeners only after a shutdown: run one on a private queue. */
static void shutdown_unstarted(grpc_server *server)
{
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	int tag;

	grpc_server_register_completion_queue(server, cq, NULL);
	grpc_server_shutdown_and_notify(server, cq, &tag);
	grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_server_destroy(server);
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
}

void isol8_rpc_server_free(struct isol8_rpc_server *srv)
{
	if (srv == NULL)
		return;
	isol8_rpc_server_shutdown(srv, 0);
	if (srv->server != NULL && !srv->started)
		shutdown_unstarted(srv->server);
	else if (srv->server != NULL)
		grpc_server_destroy(srv->server);
	free(srv->routes);
	pthread_cond_destroy(&srv->idle);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
	grpc_shutdown_blocking();
}

int isol8_rpc_server_active_calls(struct isol8_rpc_server *srv)
{
	int n;

	pthread_mutex_lock(&srv->lock);
	n = srv->active_calls;
	pthread_mutex_unlock(&srv->lock);
	return n;
}
