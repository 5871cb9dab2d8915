/*
 * The generic gRPC binding runtime for protobuf-c messages, server and client.
 *
 * Generated code (protoc-gen-isol8rpc, see plugin.c) emits, per service, a
 * table of struct isol8_rpc_method rows plus typed wrappers; this runtime does
 * the rest once: completion-queue threads, the per-call state machine, byte
 * buffers <-> protobuf-c, status, metadata, deadlines and cancellation.
 *
 * Threads (server): N completion-queue threads only move bytes and accept
 * calls. Every accepted call is handed to a worker thread that runs the
 * method's handler; the handler blocks freely (reads, writes, long
 * executions) and never runs on a queue thread. Each call owns a private
 * completion queue, so a handler's blocking operations wait only on it.
 *
 * Ownership: messages returned by read functions belong to the caller and are
 * freed with protobuf_c_message_free_unpacked(msg, NULL). Messages passed to
 * write functions stay the caller's.
 */
#ifndef ISOL8_RPC_H
#define ISOL8_RPC_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isol8/error.h"

/* One method of a service: a row of a generated table. */
struct isol8_rpc_method {
	const char *path; /* "/isol8.v1.Isol8/Execute" */
	const ProtobufCMessageDescriptor *input;
	const ProtobufCMessageDescriptor *output;
	bool client_streaming;
	bool server_streaming;
};

struct isol8_rpc_service {
	const char *name; /* "isol8.v1.Isol8" */
	size_t n_methods;
	const struct isol8_rpc_method *methods;
};

/* Largest message either side accepts (bytes). */
#define ISOL8_RPC_MAX_MESSAGE (64u * 1024u * 1024u)

/* ---------------------------------------------------------------- server */

struct isol8_rpc_server;
struct isol8_rpc_call;

/* Runs on a worker thread. It must end the call with isol8_rpc_call_finish()
 * exactly once (the runtime finishes with INTERNAL if it returns without). */
typedef void (*isol8_rpc_handler_fn)(struct isol8_rpc_call *call, void *userdata);

struct isol8_rpc_server_config {
	int queue_threads;   /* completion-queue threads, default 2 */
	int max_calls;       /* calls in flight; past it: RESOURCE_EXHAUSTED. default 256 */
	int reserved_calls;  /* calls in flight of reserved routes, counted apart. default 32 */
};
#define ISOL8_RPC_SERVER_CONFIG_INIT {2, 256, 32}

int isol8_rpc_server_new(struct isol8_rpc_server **out, const struct isol8_rpc_server_config *cfg,
			 struct isol8_error *err);

/* addr: "unix:/path" or "HOST:PORT". With TLS files (PEM paths, all NULL for
 * plaintext) the port serves TLS. On TCP, *bound_port receives the port (useful
 * with port 0); may be NULL. Call before start. A unix socket gets mode 0600
 * before anyone can connect (see isol8_rpc_unix_prepare for what is refused);
 * a TCP port another process listens on is refused ("address already in
 * use"): SO_REUSEPORT is off. */
int isol8_rpc_server_listen(struct isol8_rpc_server *srv, const char *addr, const char *tls_cert,
			    const char *tls_key, int *bound_port, struct isol8_error *err);

/* Makes ready the directory of a unix socket path for a server: creates it
 * 0700 when missing; an existing one must be owned by this uid and not
 * writable by group or others; the path must be free or hold a socket
 * (anything else is refused, never removed). isol8_rpc_server_listen on
 * "unix:PATH" checks the same, and replaces a stale socket there: call this
 * first when something else (a lock file) goes into the directory. */
int isol8_rpc_unix_prepare(const char *path, struct isol8_error *err);

/* True when a listen address reaches this host only: unix sockets,
 * 127.0.0.0/8, ::1 (also v4-mapped) and "localhost". */
bool isol8_rpc_addr_is_loopback(const char *addr);

/* Routes a method to a handler. Unrouted paths answer UNIMPLEMENTED. Call before start. */
int isol8_rpc_server_route(struct isol8_rpc_server *srv, const struct isol8_rpc_method *method,
			   isol8_rpc_handler_fn handler, void *userdata, struct isol8_error *err);

/* Gives a routed method the reserved budget (reserved_calls) instead of
 * max_calls, so that health checks and admin calls are still answered while
 * ordinary calls fill theirs. Call before start. */
int isol8_rpc_server_reserve(struct isol8_rpc_server *srv, const char *path, struct isol8_error *err);

int isol8_rpc_server_start(struct isol8_rpc_server *srv, struct isol8_error *err);

/* Stops accepting, cancels calls still running after grace_ms, waits for every
 * handler to return. Safe to call once from any non-handler thread. */
void isol8_rpc_server_shutdown(struct isol8_rpc_server *srv, int grace_ms);

/* Frees a server that is shut down (or never started). */
void isol8_rpc_server_free(struct isol8_rpc_server *srv);

/* Number of calls currently being handled. */
int isol8_rpc_server_active_calls(struct isol8_rpc_server *srv);

/* -- inside a handler */

const struct isol8_rpc_method *isol8_rpc_call_method(struct isol8_rpc_call *call);

/* For methods without client streaming: the request, already read and unpacked.
 * Owned by the call. */
const ProtobufCMessage *isol8_rpc_call_request(struct isol8_rpc_call *call);

/* For client-streaming methods: next request message into *out (caller frees).
 * Returns 1 with a message, 0 at the client's end of stream, negative on
 * error or cancellation (err filled). One thread may read while another
 * writes or finishes (bidirectional calls); never two reads at once. The
 * handler returns only once no read is in flight. */
int isol8_rpc_call_read(struct isol8_rpc_call *call, ProtobufCMessage **out, struct isol8_error *err);

/* The same, giving the client at most idle_ms for the message: past it the
 * call ends with DEADLINE_EXCEEDED "no <what> came for <N> s" (what the
 * client sees, and err says) and the stream is over. */
int isol8_rpc_call_read_within(struct isol8_rpc_call *call, ProtobufCMessage **out, int idle_ms, const char *what,
			       struct isol8_error *err);

/* Sends one response message (the single reply of a unary method, or one of a
 * stream). Blocks until gRPC has taken it. Negative if the call is cancelled
 * or broken. */
int isol8_rpc_call_write(struct isol8_rpc_call *call, const ProtobufCMessage *msg,
			 struct isol8_error *err);

/* Ends the call with a status: ok (code 0) or an isol8 error code mapped to a
 * gRPC status, with a message. */
void isol8_rpc_call_finish(struct isol8_rpc_call *call, int isol8_code, const char *message);

/* Cancels the call (the client sees CANCELLED unless a status went out
 * already): a read or write in flight on another thread fails at once. */
void isol8_rpc_call_cancel(struct isol8_rpc_call *call);

/* True once the client cancelled or the deadline passed; cheap, never blocks. */
bool isol8_rpc_call_cancelled(struct isol8_rpc_call *call);

/* Value of a request metadata key (lower case, e.g. "authorization"), copied
 * into buf (NUL-terminated). Returns its length, -1 if absent, -2 if present
 * but not shorter than size. */
int isol8_rpc_call_metadata(struct isol8_rpc_call *call, const char *key, char *buf, size_t size);

/* True when the call came over a unix socket listener. */
bool isol8_rpc_call_is_local(struct isol8_rpc_call *call);

/* Absolute deadline in ms of CLOCK_MONOTONIC (isol8_now_ms), or INT64_MAX. */
int64_t isol8_rpc_call_deadline_ms(struct isol8_rpc_call *call);

/* ---------------------------------------------------------------- client */

struct isol8_rpc_channel;
struct isol8_rpc_stream;

struct isol8_rpc_channel_config {
	const char *target;   /* "unix:/path" or "HOST:PORT" */
	const char *api_key;  /* sent as "authorization: Bearer <key>" when set */
	const char *tls_ca;   /* PEM path of a CA to trust: enables TLS; NULL = plaintext */
	bool tls;             /* TLS without tls_ca: trust the system's CAs */
};

int isol8_rpc_channel_new(struct isol8_rpc_channel **out, const struct isol8_rpc_channel_config *cfg,
			  struct isol8_error *err);

/* A view of base: the same connection (its gRPC channel, shared, never
 * copied), sending api_key (NULL = none) instead of base's key with every
 * call. One allocation, no connection of its own; any thread may make one
 * and use it while others use base or other views. base must outlive it;
 * free it with isol8_rpc_channel_free (which leaves base's connection). */
int isol8_rpc_channel_with_key(struct isol8_rpc_channel **out, struct isol8_rpc_channel *base, const char *api_key,
			       struct isol8_error *err);

void isol8_rpc_channel_free(struct isol8_rpc_channel *ch);

/* Waits up to timeout_ms for the channel to connect. 0 when ready, else
 * ISOL8_E_UNAVAILABLE naming the target. */
int isol8_rpc_channel_wait_ready(struct isol8_rpc_channel *ch, int timeout_ms, struct isol8_error *err);

/* Unary call. timeout_ms <= 0 means no deadline. A non-OK status becomes an
 * error whose code is mapped back from the gRPC status and whose message is
 * the server's status message. */
int isol8_rpc_unary(struct isol8_rpc_channel *ch, const struct isol8_rpc_method *method,
		    const ProtobufCMessage *request, ProtobufCMessage **response, int timeout_ms,
		    struct isol8_error *err);

/* Streaming calls (any of client/server/bidi). For server streaming pass the
 * request to start and then read; for client streaming pass NULL, write, then
 * close_send and read the single reply. */
int isol8_rpc_stream_start(struct isol8_rpc_stream **out, struct isol8_rpc_channel *ch,
			   const struct isol8_rpc_method *method, const ProtobufCMessage *request,
			   int timeout_ms, struct isol8_error *err);
/* One thread may read while another writes or closes (bidirectional
 * calls); never two reads or two writes at once. */
int isol8_rpc_stream_write(struct isol8_rpc_stream *st, const ProtobufCMessage *msg,
			   struct isol8_error *err);
int isol8_rpc_stream_close_send(struct isol8_rpc_stream *st, struct isol8_error *err);
/* 1 with a message, 0 at end of stream with OK status, negative with the
 * call's status as the error. */
int isol8_rpc_stream_read(struct isol8_rpc_stream *st, ProtobufCMessage **out, struct isol8_error *err);
/* Cancels the call if still open: a write or read waiting on another
 * thread fails at once. The stream is still to be freed. */
void isol8_rpc_stream_cancel(struct isol8_rpc_stream *st);
/* Cancels the call if still open, and frees it. */
void isol8_rpc_stream_free(struct isol8_rpc_stream *st);

#endif
