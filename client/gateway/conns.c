/*
 * Slow senders of headers. MHD closes a connection idle for the request
 * timeout, but a client that sends a header line now and then is never
 * idle: it could hold a connection for hours, and a few hundred such
 * sockets fill --max-connections before any request reaches the gateway.
 *
 * So every connection is tracked from its start (MHD's connection
 * notifications, MHD's thread): it is busy from the first call of a
 * request (its headers are in) to that request's end, and otherwise
 * waiting since it opened or since its last request ended. Once a second
 * the ticker shuts down the socket of one waiting longer than the request
 * timeout; MHD then sees the end and closes it. A body has its own
 * deadline (server.c), a stream or an upgraded WebSocket none.
 *
 * The list is under srv->conns_lock. MHD calls the "closed" notification
 * before it closes the socket, so a socket shut down under the lock is
 * never one that MHD has closed (and the system given to someone else).
 */
#include <stdlib.h>
#include <sys/socket.h>

#include "base/log.h"
#include "base/util.h"
#include "gateway/gateway.h"

struct gw_conn {
	int fd;
	int64_t since_ms; /* opened, or its last request ended */
	bool busy;        /* a request's headers are in */
	bool cut;         /* shut down already */
	struct gw_conn *prev, *next;
};

void gw_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	struct gw_server *srv = cls;
	struct gw_conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		c = calloc(1, sizeof(*c));
		if (c == NULL || info == NULL) { /* untracked: MHD's idle timeout still holds */
			free(c);
			*socket_context = NULL;
			return;
		}
		c->fd = info->connect_fd;
		c->since_ms = isol8_now_ms();
		pthread_mutex_lock(&srv->conns_lock);
		c->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = c;
		srv->conns = c;
		pthread_mutex_unlock(&srv->conns_lock);
		*socket_context = c;
		return;
	}
	if (c == NULL)
		return;
	pthread_mutex_lock(&srv->conns_lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&srv->conns_lock);
	free(c);
	*socket_context = NULL;
}

static struct gw_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

void gw_conn_request(struct gw_server *srv, struct MHD_Connection *conn, bool busy)
{
	struct gw_conn *c = conn_of(conn);

	if (c == NULL)
		return;
	pthread_mutex_lock(&srv->conns_lock);
	c->busy = busy;
	c->since_ms = isol8_now_ms();
	pthread_mutex_unlock(&srv->conns_lock);
}

void gw_conn_sweep(struct gw_server *srv, int64_t now)
{
	pthread_mutex_lock(&srv->conns_lock);
	for (struct gw_conn *c = srv->conns; c != NULL; c = c->next) {
		if (c->busy || c->cut || now - c->since_ms <= srv->cfg.request_timeout_ms)
			continue;
		isol8_log(ISOL8_LOG_DEBUG, "a connection sent no whole request in %lld ms: closed",
			  (long long)srv->cfg.request_timeout_ms);
		shutdown(c->fd, SHUT_RDWR);
		c->cut = true;
	}
	pthread_mutex_unlock(&srv->conns_lock);
}
