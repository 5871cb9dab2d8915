/*
 * The byte pipe between a sandbox's connection and the origin (egress.h),
 * for a CONNECT tunnel and for a forwarded plain HTTP request alike.
 *
 * Backpressure: bytes read on one side go to the other side's output; once
 * that output holds EGRESS_PIPE_HIGH bytes, the reading side is paused
 * until it drains to half. Half-close: an EOF on one side is passed on, once
 * its bytes are flushed, as shutdown(SHUT_WR) of the other; the connection
 * ends when both ways are done, or, for plain HTTP, when the origin's
 * answer has been flushed. A pipe quiet both ways for idle_timeout_ms ends.
 * Every byte counts to the use; past max_bytes all its connections close.
 */
#include <stdio.h>
#include <sys/socket.h>

#include "egress/internal.h"

static const char connect_ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

static struct bufferevent *other_side(struct egress_conn *conn, struct bufferevent *bev)
{
	return bev == conn->client ? conn->upstream : conn->client;
}

/* Counts n bytes to the use; past max_bytes it cuts *n to what is left,
 * marks the use capped and returns false (the caller closes its connections). */
static bool count_bytes(struct egress_conn *conn, size_t *n)
{
	struct egress_use *use = conn->use;

	if (use->max_bytes > 0 && use->log.bytes + *n > (uint64_t)use->max_bytes) {
		*n = (size_t)((uint64_t)use->max_bytes - use->log.bytes);
		use->log.bytes += *n;
		use->log.capped = true;
		return false;
	}
	use->log.bytes += *n;
	return true;
}

/* Moves what src has read to the other side's output; false when conn is gone. */
static bool move_bytes(struct egress_conn *conn, struct bufferevent *src)
{
	struct bufferevent *dst = other_side(conn, src);
	struct evbuffer *in = bufferevent_get_input(src), *out = bufferevent_get_output(dst);
	size_t n = evbuffer_get_length(in);
	bool within;

	if (n == 0)
		return true;
	within = count_bytes(conn, &n);
	evbuffer_remove_buffer(in, out, n);
	conn->last_ms = egress_now_ms();
	if (!within) {
		egress_port_close_conns(conn->port, "the execution's network byte limit was reached");
		return false;
	}
	if (evbuffer_get_length(out) >= EGRESS_PIPE_HIGH) {
		bufferevent_setwatermark(dst, EV_WRITE, EGRESS_PIPE_HIGH / 2, 0);
		bufferevent_disable(src, EV_READ);
		*(src == conn->client ? &conn->client_paused : &conn->upstream_paused) = true;
	}
	return true;
}

static void pipe_read(struct bufferevent *bev, void *arg)
{
	move_bytes(arg, bev);
}

static bool plain_http_done(struct egress_conn *conn)
{
	return !conn->head.connect && conn->upstream_eof &&
	       evbuffer_get_length(bufferevent_get_output(conn->client)) == 0;
}

/* Passes an EOF on once the bytes before it are out; false when conn is gone. */
static bool pass_eof(struct egress_conn *conn)
{
	if (plain_http_done(conn)) {
		egress_conn_finish(conn);
		return false;
	}
	if (conn->client_eof && !conn->upstream_shut &&
	    evbuffer_get_length(bufferevent_get_output(conn->upstream)) == 0) {
		shutdown(bufferevent_getfd(conn->upstream), SHUT_WR);
		conn->upstream_shut = true;
	}
	if (conn->upstream_eof && !conn->client_shut &&
	    evbuffer_get_length(bufferevent_get_output(conn->client)) == 0) {
		shutdown(bufferevent_getfd(conn->client), SHUT_WR);
		conn->client_shut = true;
	}
	if (conn->client_shut && conn->upstream_shut) {
		egress_conn_finish(conn);
		return false;
	}
	return true;
}

static void pipe_write(struct bufferevent *dst, void *arg)
{
	struct egress_conn *conn = arg;
	struct bufferevent *src = other_side(conn, dst);
	bool *paused = src == conn->client ? &conn->client_paused : &conn->upstream_paused;

	if (*paused) {
		*paused = false;
		bufferevent_setwatermark(dst, EV_WRITE, 0, 0);
		bufferevent_enable(src, EV_READ);
	}
	pass_eof(conn);
}

static void pipe_event(struct bufferevent *bev, short what, void *arg)
{
	struct egress_conn *conn = arg;

	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT) || !(what & BEV_EVENT_EOF)) {
		egress_conn_finish(conn);
		return;
	}
	if (!move_bytes(conn, bev))
		return;
	bufferevent_disable(bev, EV_READ);
	*(bev == conn->client ? &conn->client_eof : &conn->upstream_eof) = true;
	pass_eof(conn);
}

void egress_pipe_start(struct egress_conn *conn)
{
	struct isol8_egress *eg = conn->port->eg;
	struct bufferevent *client = conn->client, *upstream = conn->upstream;
	size_t n = conn->head.connect ? 0 : conn->request_len;
	int rc;

	conn->state = CONN_PIPE;
	conn->last_ms = egress_now_ms();
	egress_conn_arm_timer(conn, eg->cfg.idle_timeout_ms);
	if (conn->head.connect)
		rc = bufferevent_write(client, connect_ok, sizeof(connect_ok) - 1);
	else if (!count_bytes(conn, &n)) {
		egress_port_close_conns(conn->port, "the execution's network byte limit was reached");
		return;
	} else
		rc = bufferevent_write(upstream, conn->request, conn->request_len);
	if (rc != 0) {
		egress_conn_finish(conn);
		return;
	}
	bufferevent_setcb(client, pipe_read, pipe_write, pipe_event, conn);
	bufferevent_setcb(upstream, pipe_read, pipe_write, pipe_event, conn);
	bufferevent_setwatermark(client, EV_READ, 0, 0);
	bufferevent_enable(client, EV_READ | EV_WRITE);
	bufferevent_enable(upstream, EV_READ | EV_WRITE);
	move_bytes(conn, client); /* what the client sent after the head */
}

void egress_pipe_idle_check(struct egress_conn *conn)
{
	int64_t timeout = conn->port->eg->cfg.idle_timeout_ms, idle = egress_now_ms() - conn->last_ms;

	if (idle < timeout) {
		egress_conn_arm_timer(conn, timeout - idle);
		return;
	}
	snprintf(conn->reason, sizeof(conn->reason), "idle for %lld ms", (long long)idle);
	egress_conn_finish(conn);
}
