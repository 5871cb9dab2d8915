/*
 * Server internals shared by server.c (lifecycle, queue threads),
 * server_accept.c (accepting calls, handing them to workers) and
 * server_call.c (what a handler does with its call).
 *
 * Threads and locking:
 * - Routes are written only before start, then read-only: no lock.
 * - srv->lock guards active_calls, the worker lists and `stopping`.
 * - A call belongs to its worker thread, which may hand its reads to one
 *   more thread (read_done is that thread's then). Its private completion
 *   queue is a pluck queue: each plucks the tag of the one operation it
 *   waits for (reads and the rest have distinct tags); isol8_rpc_call_cancelled() plucks only the RECV_CLOSE_ON_SERVER tag,
 *   under call->close_lock, so several threads may ask safely.
 */
#ifndef ISOL8_RPC_SERVER_INTERNAL_H
#define ISOL8_RPC_SERVER_INTERNAL_H

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <pthread.h>
#include <stdbool.h>

#include "rpc/rpc.h"
#include "rpc/rpc_gen.h"

/* Outstanding grpc_server_request_call per queue thread. */
#define ISOL8_RPC_REQUESTS_PER_QUEUE 4

struct isol8_rpc_route {
	const struct isol8_rpc_method *method;
	isol8_rpc_invoke_fn invoke;
	isol8_rpc_generic_fn fn;
	void *userdata;
	bool reserved;            /* counted against reserved_calls */
};

/* A handler thread, listed so shutdown can join it. */
struct isol8_rpc_worker {
	pthread_t thread;
	struct isol8_rpc_worker *next;
};

/* A server completion queue and the thread that polls it. */
struct isol8_rpc_queue {
	struct isol8_rpc_server *srv;
	grpc_completion_queue *cq;
	pthread_t thread;
	bool running; /* thread started */
};

struct isol8_rpc_server {
	grpc_server *server;
	struct isol8_rpc_server_config cfg;
	struct isol8_rpc_queue *queues; /* cfg.queue_threads of them, made at start */
	int n_queues;
	struct isol8_rpc_route *routes;
	size_t n_routes;
	bool started;
	bool shut_down;

	pthread_mutex_t lock;
	pthread_cond_t idle;             /* signalled when active_calls drops */
	int active_calls;                /* handed to workers, not yet done */
	int active_reserved;             /* of those, on reserved routes */
	bool stopping;                   /* shutdown began: accept nothing */
	struct isol8_rpc_worker *finished; /* workers that ended, to join */
};

struct isol8_rpc_call {
	struct isol8_rpc_server *srv;
	grpc_completion_queue *queue; /* the server queue the request was posted on */
	const struct isol8_rpc_route *route;

	grpc_call *call;
	grpc_completion_queue *cq; /* private pluck queue */
	grpc_call_details details;
	grpc_metadata_array metadata;
	ProtobufCMessage *request; /* methods without client streaming */

	pthread_mutex_t close_lock;
	int cancelled;  /* written by gRPC when the close batch completes */
	bool closed;    /* close batch completed and plucked */

	bool close_started;
	bool initial_metadata_sent;
	bool finished;
	bool read_done;
	int writes;
	bool is_local;
	int64_t deadline_ms;
	struct isol8_rpc_worker *worker;

	char tag_close; /* addresses used as completion tags (a request's tag is the call) */
	char tag_op;    /* writes, the status */
	char tag_read;  /* reads, which may wait while a write is in flight */
};

/* server_accept.c */
struct isol8_rpc_call *isol8_rpc_call_new(struct isol8_rpc_server *srv, grpc_completion_queue *queue);
void isol8_rpc_call_free(struct isol8_rpc_call *c);
/* Posts c as a request for the next call on its queue; frees c on failure. */
void isol8_rpc_request_post(struct isol8_rpc_call *c);
/* A request completed with a new call: route it, reject it or run it. */
void isol8_rpc_accept(struct isol8_rpc_call *c);
/* Joins workers that ended (under no lock). */
void isol8_rpc_workers_join(struct isol8_rpc_server *srv);

/* server_listen.c */
/* Listens on the unix socket `path` (see isol8_rpc_unix_prepare), bound
 * under a private name, made 0600, then renamed onto path. */
int isol8_rpc_listen_unix(grpc_server *server, const char *path, grpc_server_credentials *creds,
			  struct isol8_error *err);
/* The error for a TCP address gRPC could not listen on, with the reason
 * found by binding it once ("address already in use"). Always negative. */
int isol8_rpc_listen_tcp_failure(const char *addr, struct isol8_error *err);

/* server_call.c */
/* Runs one batch on the call and waits for it; true on success. */
bool isol8_rpc_call_batch(struct isol8_rpc_call *c, const grpc_op *ops, size_t n);
/* Starts RECV_CLOSE_ON_SERVER (first thing on every call). */
bool isol8_rpc_call_start_close(struct isol8_rpc_call *c);
/* Waits for the close batch (cancelling the call if it lingers). */
void isol8_rpc_call_wait_close(struct isol8_rpc_call *c);
/* Sends a status (and initial metadata if not yet sent). */
void isol8_rpc_call_send_status(struct isol8_rpc_call *c, int grpc_status, const char *message);

#endif
