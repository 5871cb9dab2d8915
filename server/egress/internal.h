/*
 * The egress proxy's insides, shared by its files (not for other modules).
 *
 *   proxy.c  the loop thread, calls marshalled to it, start and stop
 *   port.c   ports: listener, accept, bind/unbind, the use's log
 *   conn.c   one connection: the head, the decision, answers, the end
 *   dial.c   resolving (evdns) and dialing every address the guard permits
 *   pipe.c   the byte pipe of a tunnel or forwarded request: backpressure,
 *            half-close, idle timeout, the use's byte cap
 *
 * Every struct below is touched on the loop thread only, except the call
 * queue of struct isol8_egress (its lock).
 */
#ifndef ISOL8_EGRESS_INTERNAL_H
#define ISOL8_EGRESS_INTERNAL_H

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <pthread.h>

#include "egress/egress.h"
#include "egress/head.h"

/* Output a pipe lets pile up on one side before it stops reading the other. */
#define EGRESS_PIPE_HIGH (256 * 1024)

struct egress_call {
	void (*fn)(void *arg);
	void *arg;
	bool done;
	struct egress_call *next;
};

struct isol8_egress {
	struct isol8_egress_config cfg;
	struct event_base *base;
	struct evdns_base *dns;
	struct event *wake; /* runs the queued calls */
	pthread_t thread;
	pthread_mutex_t lock; /* calls, and every call's done */
	pthread_cond_t cond;
	struct egress_call *calls, **calls_tail;
	struct isol8_egress_port *ports;
};

struct egress_use {
	const struct isol8_egress_rules *rules;
	bool keep_log;
	int64_t max_bytes;
	char *execution_id;
	struct isol8_egress_log log;
	size_t log_cap;
};

struct isol8_egress_port {
	struct isol8_egress *eg;
	struct evconnlistener *listener;
	struct event *resume; /* accepting again after an accept error (EMFILE) */
	char *path, *label;
	struct egress_use *use;
	struct egress_conn *conns;
	int n_conns;
	struct isol8_egress_port *prev, *next;
};

enum egress_conn_state { CONN_HEAD, CONN_DIAL, CONN_PIPE, CONN_ANSWER };

struct egress_conn {
	struct isol8_egress_port *port;
	struct egress_conn *prev, *next;
	enum egress_conn_state state;
	struct bufferevent *client, *upstream;
	struct event *timer; /* the connect deadline, then the idle check */
	struct egress_use *use; /* when the head was read; NULL outside a use */
	struct isol8_egress_head head;
	char *path;     /* head.path copied, for the log */
	char *request;  /* the forwarded head of plain HTTP */
	size_t request_len;
	struct evdns_getaddrinfo_request *dns;
	struct evutil_addrinfo *addrs, *next_addr;
	int dial_errno;
	bool guard_permitted; /* an address passed the guard */
	char guard_why[128];  /* why the guard refused the first address it refused */
	bool decided;         /* a head was read: the end is logged */
	bool allowed;
	int status;           /* the proxy's own answer, 0 when it relayed */
	char reason[384];     /* why, for the answer and the log */
	char timestamp[32];
	int64_t request_ms, last_ms; /* when the head was read; the pipe's last bytes */
	bool client_paused, upstream_paused; /* reading stopped for backpressure */
	long entry;           /* index in use->log.entries, -1 when not kept */
	bool client_eof, upstream_eof, client_shut, upstream_shut;
};

/* proxy.c */
int egress_run_on_loop(struct isol8_egress *eg, void (*fn)(void *), void *arg);
void egress_log(struct isol8_egress *eg, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int64_t egress_now_ms(void);

/* port.c */
/* Closes every connection of port; why is logged for those without a reason. */
void egress_port_close_conns(struct isol8_egress_port *port, const char *why);
void egress_port_free(struct isol8_egress_port *port);
long egress_use_add_entry(struct egress_use *use, const struct egress_conn *conn);

/* conn.c */
void egress_conn_accept(struct isol8_egress_port *port, evutil_socket_t fd);
void egress_conn_answer(struct egress_conn *conn, int status, const char *reason);
void egress_conn_finish(struct egress_conn *conn);
void egress_conn_arm_timer(struct egress_conn *conn, int64_t ms);

/* dial.c */
void egress_dial_start(struct egress_conn *conn);
void egress_dial_cancel(struct egress_conn *conn);

/* pipe.c */
void egress_pipe_start(struct egress_conn *conn);
void egress_pipe_idle_check(struct egress_conn *conn);

#endif
