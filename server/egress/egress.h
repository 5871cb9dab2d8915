/*
 * The egress proxy of "filtered" networking (DESIGN section 5). A filtered
 * sandbox has no network interface but lo; its agent accepts connections on
 * 127.0.0.1:8118 and relays each one, as a byte stream, over a unix socket
 * in the sandbox's run directory (a "port" here) to this proxy. The proxy
 * reads one request head (`CONNECT host:port`, or an absolute-URL HTTP
 * request), checks the host against the use's blacklist, then its whitelist
 * (POSIX EREs; blacklist wins; an empty whitelist allows nothing), answers
 * 403 with a short reason when blocked, and only then resolves the host,
 * checks every address with the SSRF guard (guard.h) and dials. CONNECT is
 * then a byte tunnel (TLS stays end to end); plain HTTP is forwarded in
 * origin form, one request per connection (`Connection: close`).
 *
 * Thread model: one event-loop thread (libevent) owns every socket, the
 * resolver and the timers; no thread per connection. The functions below
 * are called from any thread; those that change a port run on the loop and
 * return when it has done so.
 *
 * Uses: a port serves connections only between isol8_egress_bind and
 * isol8_egress_unbind (one execution, or one phase of it); a connection
 * outside a use is answered 403. Unbinding closes every connection of the
 * use, so a pooled sandbox carries nothing from one use to the next.
 */
#ifndef ISOL8_EGRESS_H
#define ISOL8_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isol8/error.h"
#include "egress/guard.h"

/* Where the agent relays to, inside the sandbox (the run dir's mount). */
#define ISOL8_EGRESS_SOCKET_NAME "egress.sock"
/* What the sandbox's programs are told to use. */
#define ISOL8_EGRESS_PROXY_URL "http://127.0.0.1:8118"
#define ISOL8_EGRESS_LISTEN_PORT 8118
/* Decisions one use keeps for the result; later ones are counted only. */
#define ISOL8_EGRESS_LOG_MAX 1024

struct isol8_egress;      /* the proxy and its loop thread */
struct isol8_egress_port; /* one sandbox's unix socket */
struct isol8_egress_rules; /* compiled whitelist and blacklist */

struct isol8_egress_config {
	struct isol8_net_guard guard;  /* which addresses may be dialed */
	int64_t idle_timeout_ms;       /* a tunnel quiet both ways this long is closed (0: 60 s) */
	int64_t connect_timeout_ms;    /* reading the request head, resolving and dialing (0: 10 s) */
	int max_connections_per_port;  /* open connections of one sandbox (0: 64); past it 429 */
	/* Each decision, one line, at info (ALLOW) or warn (BLOCK), when its
	 * connection ends; may be NULL. Runs on the loop thread: it must not
	 * block, nor call the functions below (they would run at once, with no
	 * deadlock, but could free the connection being logged). */
	void (*log)(int level, const char *message);
};

/* Starts the loop thread. */
int isol8_egress_start(const struct isol8_egress_config *cfg, struct isol8_egress **out, struct isol8_error *err);
/* Closes every port and connection and joins the thread. Ports still open
 * are freed with it: do not close them afterwards. NULL is a no-op. */
void isol8_egress_stop(struct isol8_egress *eg);

/* Compiles the rules once per request. field names the list in errors:
 * `options.network_filter.whitelist[1]: "a(" is not a valid regular
 * expression (Unmatched ( or \()`. Matching is against the host name in
 * lower case, without port or brackets. */
int isol8_egress_rules_compile(const char *field_white, const char *const *whitelist, size_t n_white,
			       const char *field_black, const char *const *blacklist, size_t n_black,
			       struct isol8_egress_rules **out, struct isol8_error *err);
void isol8_egress_rules_free(struct isol8_egress_rules *rules);

enum isol8_egress_verdict {
	ISOL8_EGRESS_ALLOWED,
	ISOL8_EGRESS_BLACKLISTED,     /* a blacklist entry matched */
	ISOL8_EGRESS_NOT_WHITELISTED, /* no whitelist entry matched (or none given) */
};
enum isol8_egress_verdict isol8_egress_rules_check(const struct isol8_egress_rules *rules, const char *host);

/* Listens on socket_path (created 0600; a stale file there is replaced).
 * label names the sandbox in log lines. */
int isol8_egress_port_open(struct isol8_egress *eg, const char *socket_path, const char *label,
			   struct isol8_egress_port **out, struct isol8_error *err);
/* Closes the listener and every connection; frees the port. NULL is a no-op. */
void isol8_egress_port_close(struct isol8_egress_port *port);

struct isol8_egress_use {
	const struct isol8_egress_rules *rules; /* borrowed until unbind */
	bool keep_log;            /* keep the decisions for isol8_egress_unbind */
	int64_t max_bytes;        /* bytes both ways over the use (0: no cap); past it its connections close */
	const char *execution_id; /* for the log lines; copied */
};

/* Starts a use of port. ISOL8_E_INTERNAL when one is bound already. */
int isol8_egress_bind(struct isol8_egress_port *port, const struct isol8_egress_use *use, struct isol8_error *err);

struct isol8_egress_entry {
	char timestamp[32];   /* RFC 3339 UTC, when the request head was read */
	char method[16];      /* "CONNECT" or the HTTP method */
	char *host;
	char *path;           /* plain HTTP only; "" for CONNECT */
	bool allowed;         /* the rules and the guard let it through (a dial that failed stays allowed) */
	int64_t duration_ms;  /* from the request to the connection's end */
};

struct isol8_egress_log {
	struct isol8_egress_entry *entries;
	size_t n;
	size_t dropped;       /* decisions past ISOL8_EGRESS_LOG_MAX */
	uint64_t bytes;       /* bytes both ways over the use */
	bool capped;          /* max_bytes was reached */
};

/* Ends the use: closes every connection made during it and moves its
 * decisions (when keep_log; none otherwise) and its byte count into *log
 * (may be NULL). A port without a use is left as it is (*log zeroed). */
void isol8_egress_unbind(struct isol8_egress_port *port, struct isol8_egress_log *log);
void isol8_egress_log_release(struct isol8_egress_log *log);

#endif
