/*
 * The gateway's shared state: the server, one HTTP call, the helpers
 * handlers use to answer. See server.c for the threads and the rules of
 * who touches what.
 */
#ifndef ISOL8_GATEWAY_GATEWAY_H
#define ISOL8_GATEWAY_GATEWAY_H

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "gateway/args.h"
#include "gateway/buf.h"
#include "gateway/routes.h"
#include "isol8/isol8.h"

/* Most handlers running at once (each on a thread of GW_WORKER_STACK bytes);
 * past it a call answers 429. Never more than --max-connections. */
#define GW_MAX_WORKERS 512
#define GW_WORKER_STACK (256u << 10)
/* An SSE stream holds at most this much unsent output (plus one event)
 * before its worker stops reading the execution's events. */
#define GW_STREAM_BUFFER (64u << 10)
/* A comment goes out on a stream silent for this long. */
#define GW_KEEPALIVE_MS 15000
/* How long one upstream health answer serves GET /health. */
#define GW_HEALTH_FRESH_MS 500
/* GET /file returns files up to this size (base64 in one JSON body). */
#define GW_MAX_DOWNLOAD (64u << 20)

struct gw_sse;
struct gw_ws_hub;

struct gw_server {
	struct gw_config cfg;
	struct MHD_Daemon *mhd;
	struct isol8_client *upstream; /* sends cfg.key, or no key */
	unsigned port;
	unsigned max_workers;

	pthread_mutex_t lock; /* guards what follows */
	pthread_cond_t changed;
	unsigned workers;
	bool stopping;
	struct gw_sse *streams; /* open SSE streams (the ticker's list) */
	pthread_t ticker;
	bool ticker_started;

	struct gw_ws_hub *ws;

	/* GET /health's upstream check, shared: one check in flight at a
	 * time, its answer reused for GW_HEALTH_FRESH_MS (isol8d answers only
	 * a few health checks at once; a load balancer's probes must not use
	 * them up). Under health_lock. */
	pthread_mutex_t health_lock;
	pthread_cond_t health_done;
	bool health_running;
	int64_t health_at_ms; /* when the last answer came; 0 = none */
	struct isol8_error health_err;
};

enum gw_call_state {
	GW_CALL_READING,  /* the body is coming in */
	GW_CALL_RUNNING,  /* suspended while a worker runs the handler */
	GW_CALL_READY,    /* the worker left status + body: queue them */
	GW_CALL_STREAM,   /* an SSE stream is ready to start, or started */
	GW_CALL_DONE,     /* a response is queued */
};

/* One HTTP request, from its headers to the end of its response. */
struct gw_call {
	struct gw_server *srv;
	struct MHD_Connection *conn;
	const struct gw_route *route;
	const char *method, *url; /* MHD's, valid for the request */
	char *param;              /* the ":id" of the route */
	char *token;              /* the caller's bearer token */
	char *query_session, *query_path;
	struct gw_buf body;
	bool too_large;
	size_t discarded;
	int64_t start_ms;
	int fd;
	enum gw_call_state state;
	/* the answer */
	unsigned status;
	struct gw_buf resp;
	char allow[64];
	bool stream_started;
	struct gw_sse *sse;
	/* set up by the worker */
	struct isol8_client *client;
	bool own_client;
	cJSON *json;
};

/* Answer helpers for handlers (worker thread). */
void gw_call_json(struct gw_call *call, unsigned status, struct gw_buf *body); /* takes body */
void gw_call_error(struct gw_call *call, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The status and message for err (mapped, fields renamed). */
void gw_call_fail(struct gw_call *call, const struct isol8_error *err);
/* The client for this caller's key (upstream with the caller's key, or the
 * gateway's own); 0 or an error answered already. */
int gw_call_client(struct gw_call *call);
/* The body parsed as a JSON object (absent body = NULL when allow_empty);
 * 0 or an error answered already. */
int gw_call_parse_body(struct gw_call *call, bool allow_empty);

/* Workers: a detached thread with a small stack; -1 when GW_MAX_WORKERS run
 * (or the thread cannot start). gw_worker_done is the thread's last call. */
int gw_worker_start(struct gw_server *srv, void *(*fn)(void *), void *arg);
void gw_worker_done(struct gw_server *srv);

/* MHD's callbacks (server.c). */
enum MHD_Result gw_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_size, void **con_cls);
void gw_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe);

/* Whether SIGTERM/SIGINT came (call.c). */
bool gw_server_stopping(struct gw_server *srv);

/* Server life (lifecycle.c). */
int gw_server_start(struct gw_server *srv, const struct gw_config *cfg, struct isol8_error *err);
void gw_server_stop(struct gw_server *srv);

/* SSE (sse.c). */
void gw_handle_execute_stream(struct gw_call *call);
enum MHD_Result gw_sse_respond(struct gw_call *call);
void gw_sse_call_ended(struct gw_call *call);
void *gw_sse_ticker(void *arg);
void gw_sse_cancel_all(struct gw_server *srv);

/* WebSocket (ws.c). */
enum MHD_Result gw_ws_upgrade(struct gw_call *call);
int gw_ws_hub_start(struct gw_server *srv, struct isol8_error *err);
void gw_ws_hub_stop(struct gw_server *srv);

#endif
