/*
 * Resolving and dialing an allowed host (egress.h). Names go to evdns
 * (the system's resolv.conf and hosts file) only after the rules allowed
 * them; every address is checked by the SSRF guard before a connect, and
 * each permitted one is tried in turn until one answers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "egress/internal.h"

static void dial_next(struct egress_conn *conn);

static void target_text(const struct egress_conn *conn, char *out, size_t size)
{
	const struct isol8_egress_head *h = &conn->head;

	snprintf(out, size, "%s%s%s:%u", h->ipv6 ? "[" : "", h->host, h->ipv6 ? "]" : "", (unsigned)h->port);
}

static void on_dial_event(struct bufferevent *bev, short what, void *arg)
{
	struct egress_conn *conn = arg;

	if (what & BEV_EVENT_CONNECTED) {
		egress_pipe_start(conn);
		return;
	}
	conn->dial_errno = EVUTIL_SOCKET_ERROR();
	bufferevent_free(bev);
	conn->upstream = NULL;
	dial_next(conn);
}

/* A non-blocking connect to addr; the bufferevent reports its end. */
static int connect_one(struct egress_conn *conn, const struct evutil_addrinfo *a)
{
	struct bufferevent *bev;
	int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);

	if (fd < 0) {
		conn->dial_errno = errno;
		return -1;
	}
	if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
		conn->dial_errno = errno;
		close(fd);
		return -1;
	}
	bev = bufferevent_socket_new(conn->port->eg->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		conn->dial_errno = ENOMEM;
		close(fd);
		return -1;
	}
	bufferevent_setcb(bev, NULL, NULL, on_dial_event, conn);
	if (bufferevent_socket_connect(bev, NULL, 0) != 0) {
		conn->dial_errno = ENOMEM;
		bufferevent_free(bev);
		return -1;
	}
	conn->upstream = bev;
	return 0;
}

static void dial_next(struct egress_conn *conn)
{
	const struct isol8_net_guard *guard = &conn->port->eg->cfg.guard;
	char why[384], target[300];

	while (conn->next_addr != NULL) {
		const struct evutil_addrinfo *a = conn->next_addr;
		char refused[128];

		conn->next_addr = a->ai_next;
		if (!isol8_net_guard_permits(guard, a->ai_addr, refused, sizeof(refused))) {
			if (conn->guard_why[0] == '\0')
				snprintf(conn->guard_why, sizeof(conn->guard_why), "%s", refused);
			continue;
		}
		conn->guard_permitted = true;
		if (connect_one(conn, a) == 0)
			return;
	}
	target_text(conn, target, sizeof(target));
	if (!conn->guard_permitted) {
		conn->allowed = false;
		snprintf(why, sizeof(why), "blocked: %s", conn->guard_why);
		egress_conn_answer(conn, 403, why);
		return;
	}
	snprintf(why, sizeof(why), "cannot connect to %s (%s)", target,
		 conn->dial_errno ? strerror(conn->dial_errno) : "connection failed");
	egress_conn_answer(conn, 502, why);
}

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg)
{
	struct egress_conn *conn = arg;
	char why[384];

	if (result == EVUTIL_EAI_CANCEL) { /* the connection is going: it cancelled */
		if (res != NULL)
			evutil_freeaddrinfo(res);
		return;
	}
	conn->dns = NULL;
	if (result != 0 || res == NULL) {
		snprintf(why, sizeof(why), "cannot resolve %s (%s)", conn->head.host,
			 result != 0 ? evutil_gai_strerror(result) : "no address");
		egress_conn_answer(conn, 502, why);
		return;
	}
	conn->addrs = res;
	conn->next_addr = res;
	dial_next(conn);
}

void egress_dial_start(struct egress_conn *conn)
{
	struct evutil_addrinfo hints = {0};
	struct evdns_getaddrinfo_request *req;
	char port[8];

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof(port), "%u", (unsigned)conn->head.port);
	/* NULL when on_resolved ran already (then conn may be gone). */
	req = evdns_getaddrinfo(conn->port->eg->dns, conn->head.host, port, &hints, on_resolved, conn);
	if (req != NULL)
		conn->dns = req;
}

void egress_dial_cancel(struct egress_conn *conn)
{
	struct evdns_getaddrinfo_request *req = conn->dns;

	if (req != NULL) {
		conn->dns = NULL;
		evdns_getaddrinfo_cancel(req);
	}
}
