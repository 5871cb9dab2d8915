/*
 * One connection from a sandbox (egress.h): read the request head, decide
 * (a use bound? blacklist, whitelist), answer a refusal or hand over to
 * dial.c and pipe.c, and at the end log the decision once and record its
 * duration in the use's log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/log.h"
#include "base/util.h"
#include "egress/internal.h"

static const struct {
	int status;
	const char *text;
} status_texts[] = {
	{400, "Bad Request"},    {403, "Forbidden"},   {408, "Request Timeout"},
	{429, "Too Many Requests"}, {431, "Request Header Fields Too Large"},
	{502, "Bad Gateway"},    {504, "Gateway Timeout"},
};

static const char *status_text(int status)
{
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(status_texts); i++)
		if (status_texts[i].status == status)
			return status_texts[i].text;
	return "Error";
}

static void on_timer(evutil_socket_t fd, short what, void *arg);
static void answer_drain(struct bufferevent *bev, void *arg);
static void answer_event(struct bufferevent *bev, short what, void *arg);

void egress_conn_arm_timer(struct egress_conn *conn, int64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(conn->timer, &tv);
}

/* host:port, or the URL of plain HTTP, as the log shows it. */
static void format_target(const struct egress_conn *conn, char *out, size_t size)
{
	const struct isol8_egress_head *h = &conn->head;
	const char *open = h->ipv6 ? "[" : "", *close = h->ipv6 ? "]" : "";

	if (h->connect)
		snprintf(out, size, "%s%s%s:%u", open, h->host, close, (unsigned)h->port);
	else if (h->port == 80)
		snprintf(out, size, "http://%s%s%s%s", open, h->host, close, conn->path);
	else
		snprintf(out, size, "http://%s%s%s:%u%s", open, h->host, close, (unsigned)h->port, conn->path);
}

static void log_end(struct egress_conn *conn, int64_t duration_ms)
{
	struct isol8_egress_port *port = conn->port;
	struct egress_use *use = conn->use ? conn->use : port->use;
	const char *exec = use ? use->execution_id : "-";
	char target[2400], why[400] = "";

	if (conn->status != 0)
		snprintf(why, sizeof(why), " (%d %s)", conn->status, conn->reason);
	else if (conn->reason[0] != '\0')
		snprintf(why, sizeof(why), " (%s)", conn->reason);
	if (!conn->decided) {
		if (conn->status != 0)
			egress_log(port->eg, ISOL8_LOG_WARN, "egress BLOCK sandbox=%s exec=%s%s", port->label, exec, why);
		return;
	}
	format_target(conn, target, sizeof(target));
	egress_log(port->eg, conn->allowed ? ISOL8_LOG_INFO : ISOL8_LOG_WARN, "egress %s sandbox=%s exec=%s %s %s %lldms%s",
		   conn->allowed ? "ALLOW" : "BLOCK", port->label, exec, conn->head.method, target,
		   (long long)duration_ms, why);
}

void egress_conn_finish(struct egress_conn *conn)
{
	struct isol8_egress_port *port = conn->port;
	int64_t duration_ms = conn->decided ? egress_now_ms() - conn->request_ms : 0;

	if (conn->use != NULL && conn->entry >= 0) {
		struct isol8_egress_entry *e = &conn->use->log.entries[conn->entry];
		e->allowed = conn->allowed;
		e->duration_ms = duration_ms;
	}
	log_end(conn, duration_ms);
	egress_dial_cancel(conn);
	if (conn->client != NULL)
		bufferevent_free(conn->client);
	if (conn->upstream != NULL)
		bufferevent_free(conn->upstream);
	if (conn->timer != NULL)
		event_free(conn->timer);
	if (conn->addrs != NULL)
		evutil_freeaddrinfo(conn->addrs);
	free(conn->request);
	free(conn->path);
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		port->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	port->n_conns--;
	free(conn);
}

/* A refusal is a lingering close: once the answer is written the proxy
 * shuts its side and reads (and drops) what the program still sends until
 * it closes, so that bytes it sent unread (a request behind a 429, a body
 * behind a 403) do not turn the close into a reset that loses the answer. */
static void answer_written(struct bufferevent *bev, void *arg)
{
	struct egress_conn *conn = arg;

	if (shutdown(bufferevent_getfd(bev), SHUT_WR) != 0) {
		egress_conn_finish(conn);
		return;
	}
	bufferevent_setcb(bev, answer_drain, NULL, answer_event, conn);
}

static void answer_drain(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	(void)arg;
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void answer_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	egress_conn_finish(arg);
}

void egress_conn_answer(struct egress_conn *conn, int status, const char *reason)
{
	char response[512];
	int n;

	conn->status = status;
	snprintf(conn->reason, sizeof(conn->reason), "%s", reason);
	egress_dial_cancel(conn);
	if (conn->upstream != NULL) {
		bufferevent_free(conn->upstream);
		conn->upstream = NULL;
	}
	n = snprintf(response, sizeof(response),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s\n",
		     status, status_text(status), strlen(conn->reason) + 1, conn->reason);
	conn->state = CONN_ANSWER;
	evbuffer_drain(bufferevent_get_input(conn->client), evbuffer_get_length(bufferevent_get_input(conn->client)));
	bufferevent_setcb(conn->client, answer_drain, answer_written, answer_event, conn);
	bufferevent_setwatermark(conn->client, EV_WRITE, 0, 0);
	bufferevent_setwatermark(conn->client, EV_READ, 0, 0);
	if (n < 0 || (size_t)n >= sizeof(response) || bufferevent_write(conn->client, response, (size_t)n) != 0 ||
	    bufferevent_enable(conn->client, EV_READ | EV_WRITE) != 0) {
		egress_conn_finish(conn);
		return;
	}
	egress_conn_arm_timer(conn, conn->port->eg->cfg.connect_timeout_ms);
}

/* The origin-form path, for the log and the use's entries (cut long). */
static char *copy_path(const struct isol8_egress_head *h)
{
	size_t len = h->path_len < 2048 ? h->path_len : 2048;
	bool slash = h->connect || (len > 0 && h->path[0] == '/');
	char *p = malloc(len + 2);

	if (p == NULL)
		return NULL;
	if (h->connect) {
		p[0] = '\0';
		return p;
	}
	snprintf(p, len + 2, "%s%.*s", slash ? "" : "/", (int)len, h->path);
	return p;
}

/* What a sandbox's program reads for each verdict of the rules. */
static const char *const verdict_refusals[] = {
	[ISOL8_EGRESS_ALLOWED] = NULL,
	[ISOL8_EGRESS_BLACKLISTED] = "blocked by the blacklist",
	[ISOL8_EGRESS_NOT_WHITELISTED] = "not in the whitelist",
};

static const char *refusal(struct egress_conn *conn)
{
	struct egress_use *use = conn->use;
	const char *why;

	if (use == NULL)
		return "no execution is using this sandbox's network";
	why = verdict_refusals[isol8_egress_rules_check(use->rules, conn->head.host)];
	if (why == NULL && use->log.capped)
		why = "the execution's network byte limit was reached";
	return why;
}

static void decide(struct egress_conn *conn)
{
	struct evbuffer *in = bufferevent_get_input(conn->client);
	const char *why;

	conn->decided = true;
	conn->request_ms = egress_now_ms();
	isol8_utc_timestamp(conn->timestamp, sizeof(conn->timestamp));
	conn->use = conn->port->use;
	conn->path = copy_path(&conn->head);
	if (conn->path == NULL) {
		conn->decided = false;
		egress_conn_answer(conn, 502, "out of memory");
		return;
	}
	why = refusal(conn);
	conn->allowed = why == NULL;
	if (conn->use != NULL)
		conn->entry = egress_use_add_entry(conn->use, conn);
	if (why != NULL) {
		egress_conn_answer(conn, 403, why);
		return;
	}
	if (!conn->head.connect) {
		conn->request = malloc(ISOL8_EGRESS_HEAD_MAX + 512);
		if (conn->request == NULL) {
			egress_conn_answer(conn, 502, "out of memory");
			return;
		}
		conn->request_len = isol8_egress_head_forward(&conn->head, conn->request, ISOL8_EGRESS_HEAD_MAX + 512);
		if (conn->request_len == 0) {
			egress_conn_answer(conn, 431, "request head larger than 16384 bytes");
			return;
		}
	}
	evbuffer_drain(in, conn->head.head_len);
	bufferevent_disable(conn->client, EV_READ);
	conn->state = CONN_DIAL;
	egress_conn_arm_timer(conn, conn->port->eg->cfg.connect_timeout_ms);
	egress_dial_start(conn);
}

static void head_read(struct bufferevent *bev, void *arg)
{
	struct egress_conn *conn = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	const char *bytes;
	char why[160];
	int rc;

	if (len > ISOL8_EGRESS_HEAD_MAX)
		len = ISOL8_EGRESS_HEAD_MAX;
	bytes = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	if (bytes == NULL && len > 0) {
		egress_conn_finish(conn);
		return;
	}
	rc = isol8_egress_head_parse(bytes ? bytes : "", len, &conn->head, why, sizeof(why));
	if (rc == ISOL8_EGRESS_HEAD_MORE)
		return;
	if (rc != ISOL8_EGRESS_HEAD_DONE) {
		egress_conn_answer(conn, rc, why);
		return;
	}
	decide(conn);
}

static void head_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	egress_conn_finish(arg);
}

static void head_timed_out(struct egress_conn *conn)
{
	char why[96];

	snprintf(why, sizeof(why), "no request head within %lld ms", (long long)conn->port->eg->cfg.connect_timeout_ms);
	egress_conn_answer(conn, 408, why);
}

static void dial_timed_out(struct egress_conn *conn)
{
	const struct isol8_egress_head *h = &conn->head;
	char why[384];

	snprintf(why, sizeof(why), "timed out connecting to %s%s%s:%u", h->ipv6 ? "[" : "", h->host, h->ipv6 ? "]" : "",
		 (unsigned)h->port);
	egress_conn_answer(conn, 504, why);
}

/* What the connection's one timer means in each state. */
static void (*const on_deadline[])(struct egress_conn *conn) = {
	[CONN_HEAD] = head_timed_out,
	[CONN_DIAL] = dial_timed_out,
	[CONN_PIPE] = egress_pipe_idle_check,
	[CONN_ANSWER] = egress_conn_finish,
};

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct egress_conn *conn = arg;

	(void)fd;
	(void)what;
	on_deadline[conn->state](conn);
}

void egress_conn_accept(struct isol8_egress_port *port, evutil_socket_t fd)
{
	struct isol8_egress *eg = port->eg;
	struct egress_conn *conn = calloc(1, sizeof(*conn));
	char why[96];

	if (conn == NULL || (conn->timer = evtimer_new(eg->base, on_timer, conn)) == NULL ||
	    (conn->client = bufferevent_socket_new(eg->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (conn != NULL && conn->timer != NULL)
			event_free(conn->timer);
		free(conn);
		evutil_closesocket(fd);
		egress_log(eg, ISOL8_LOG_WARN, "egress sandbox=%s: out of memory accepting a connection", port->label);
		return;
	}
	conn->port = port;
	conn->entry = -1;
	conn->state = CONN_HEAD;
	conn->next = port->conns;
	if (conn->next != NULL)
		conn->next->prev = conn;
	port->conns = conn;
	port->n_conns++;
	if (port->n_conns > eg->cfg.max_connections_per_port) {
		snprintf(why, sizeof(why), "too many connections from this sandbox (at most %d)",
			 eg->cfg.max_connections_per_port);
		egress_conn_answer(conn, 429, why);
		return;
	}
	bufferevent_setcb(conn->client, head_read, NULL, head_event, conn);
	bufferevent_setwatermark(conn->client, EV_READ, 0, ISOL8_EGRESS_HEAD_MAX);
	bufferevent_enable(conn->client, EV_READ);
	egress_conn_arm_timer(conn, eg->cfg.connect_timeout_ms);
}
