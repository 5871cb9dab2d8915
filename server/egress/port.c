/*
 * Ports (egress.h): one unix socket per sandbox, its connections, and the
 * use bound to it with the decisions it keeps. Everything here runs on the
 * loop thread; the public functions marshal their work there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "egress/internal.h"

static void use_free(struct egress_use *use)
{
	if (use == NULL)
		return;
	isol8_egress_log_release(&use->log);
	free(use->execution_id);
	free(use);
}

void egress_port_close_conns(struct isol8_egress_port *port, const char *why)
{
	for (struct egress_conn *c = port->conns; c != NULL; c = c->next)
		if (c->reason[0] == '\0')
			snprintf(c->reason, sizeof(c->reason), "%s", why);
	while (port->conns != NULL)
		egress_conn_finish(port->conns);
}

void egress_port_free(struct isol8_egress_port *port)
{
	struct isol8_egress *eg = port->eg;

	egress_port_close_conns(port, "the proxy's socket closed");
	if (port->resume != NULL)
		event_free(port->resume);
	if (port->listener != NULL) {
		evconnlistener_free(port->listener);
		unlink(port->path);
	}
	if (port->prev != NULL)
		port->prev->next = port->next;
	else
		eg->ports = port->next;
	if (port->next != NULL)
		port->next->prev = port->prev;
	use_free(port->use);
	free(port->path);
	free(port->label);
	free(port);
}

long egress_use_add_entry(struct egress_use *use, const struct egress_conn *conn)
{
	struct isol8_egress_log *log = &use->log;
	struct isol8_egress_entry *e;

	if (!use->keep_log)
		return -1;
	if (log->n == ISOL8_EGRESS_LOG_MAX) {
		log->dropped++;
		return -1;
	}
	if (log->n == use->log_cap) {
		size_t cap = use->log_cap ? use->log_cap * 2 : 16;
		struct isol8_egress_entry *grown = realloc(log->entries, cap * sizeof(*grown));
		if (grown == NULL) {
			log->dropped++;
			return -1;
		}
		log->entries = grown;
		use->log_cap = cap;
	}
	e = &log->entries[log->n];
	memset(e, 0, sizeof(*e));
	e->host = strdup(conn->head.host);
	e->path = strdup(conn->path ? conn->path : "");
	if (e->host == NULL || e->path == NULL) {
		free(e->host);
		free(e->path);
		log->dropped++;
		return -1;
	}
	memcpy(e->timestamp, conn->timestamp, sizeof(e->timestamp));
	memcpy(e->method, conn->head.method, sizeof(e->method));
	e->allowed = conn->allowed;
	return (long)log->n++;
}

static void on_accept(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *addr, int len,
		      void *arg)
{
	(void)listener;
	(void)addr;
	(void)len;
	egress_conn_accept(arg, fd);
}

static void resume_accepting(evutil_socket_t fd, short what, void *arg)
{
	struct isol8_egress_port *port = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(port->listener);
}

/* Out of descriptors or memory: stop accepting for a moment rather than
 * spin on a listener that stays readable. */
static void on_accept_error(struct evconnlistener *listener, void *arg)
{
	static const struct timeval pause = {0, 100 * 1000};
	struct isol8_egress_port *port = arg;
	int e = EVUTIL_SOCKET_ERROR();

	egress_log(port->eg, ISOL8_LOG_WARN, "egress sandbox=%s cannot accept: %s", port->label, strerror(e));
	evconnlistener_disable(listener);
	evtimer_add(port->resume, &pause);
}

/* A unix socket listening on path, 0600, a stale file replaced. */
static int listen_unix(const char *path, struct isol8_error *err)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return isol8_error_set(err, ISOL8_E_INVALID, "egress socket path \"%s\" is longer than %zu bytes",
				       path, sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "egress socket \"%s\"", path);
	if (unlink(path) != 0 && errno != ENOENT)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || chmod(path, 0600) != 0 || listen(fd, 128) != 0)
		goto fail;
	return fd;
fail:
	isol8_error_errno(err, ISOL8_E_IO, errno, "egress socket \"%s\"", path);
	close(fd);
	return -err->code;
}

struct open_call {
	struct isol8_egress *eg;
	const char *path, *label;
	struct isol8_egress_port *port;
	struct isol8_error *err;
	int rc;
};

static void open_on_loop(void *arg)
{
	struct open_call *c = arg;
	struct isol8_egress_port *port = calloc(1, sizeof(*port));
	int fd;

	if (port == NULL || (port->path = strdup(c->path)) == NULL || (port->label = strdup(c->label)) == NULL) {
		c->rc = isol8_error_set(c->err, ISOL8_E_NOMEM, "egress socket \"%s\": out of memory", c->path);
		goto fail;
	}
	port->eg = c->eg;
	port->resume = evtimer_new(c->eg->base, resume_accepting, port);
	if (port->resume == NULL) {
		c->rc = isol8_error_set(c->err, ISOL8_E_NOMEM, "egress socket \"%s\": out of memory", c->path);
		goto fail;
	}
	fd = listen_unix(c->path, c->err);
	if (fd < 0) {
		c->rc = fd;
		goto fail;
	}
	port->listener = evconnlistener_new(c->eg->base, on_accept, port, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
					    -1, fd);
	if (port->listener == NULL) {
		close(fd);
		unlink(c->path);
		c->rc = isol8_error_set(c->err, ISOL8_E_NOMEM, "egress socket \"%s\": out of memory", c->path);
		goto fail;
	}
	evconnlistener_set_error_cb(port->listener, on_accept_error);
	port->next = c->eg->ports;
	if (port->next != NULL)
		port->next->prev = port;
	c->eg->ports = port;
	c->port = port;
	return;
fail:
	if (port != NULL) {
		if (port->resume != NULL)
			event_free(port->resume);
		free(port->path);
		free(port->label);
		free(port);
	}
}

int isol8_egress_port_open(struct isol8_egress *eg, const char *socket_path, const char *label,
			   struct isol8_egress_port **out, struct isol8_error *err)
{
	struct open_call c = {eg, socket_path, label ? label : "", NULL, err, 0};

	*out = NULL;
	egress_run_on_loop(eg, open_on_loop, &c);
	*out = c.port;
	return c.rc;
}

static void close_on_loop(void *arg)
{
	egress_port_free(arg);
}

void isol8_egress_port_close(struct isol8_egress_port *port)
{
	if (port != NULL)
		egress_run_on_loop(port->eg, close_on_loop, port);
}

struct bind_call {
	struct isol8_egress_port *port;
	const struct isol8_egress_use *use;
	struct isol8_error *err;
	int rc;
};

static void bind_on_loop(void *arg)
{
	struct bind_call *c = arg;
	struct egress_use *use;

	if (c->port->use != NULL) {
		c->rc = isol8_error_set(c->err, ISOL8_E_INTERNAL, "egress socket \"%s\" is in use already",
					c->port->path);
		return;
	}
	use = calloc(1, sizeof(*use));
	if (use == NULL || (use->execution_id = strdup(c->use->execution_id ? c->use->execution_id : "")) == NULL) {
		free(use);
		c->rc = isol8_error_set(c->err, ISOL8_E_NOMEM, "egress socket \"%s\": out of memory", c->port->path);
		return;
	}
	use->rules = c->use->rules;
	use->keep_log = c->use->keep_log;
	use->max_bytes = c->use->max_bytes;
	c->port->use = use;
}

int isol8_egress_bind(struct isol8_egress_port *port, const struct isol8_egress_use *use, struct isol8_error *err)
{
	struct bind_call c = {port, use, err, 0};

	egress_run_on_loop(port->eg, bind_on_loop, &c);
	return c.rc;
}

struct unbind_call {
	struct isol8_egress_port *port;
	struct isol8_egress_log *log;
};

static void unbind_on_loop(void *arg)
{
	struct unbind_call *c = arg;
	struct egress_use *use = c->port->use;

	if (use == NULL)
		return;
	egress_port_close_conns(c->port, "the execution ended");
	c->port->use = NULL;
	*c->log = use->log;
	memset(&use->log, 0, sizeof(use->log));
	use_free(use);
}

void isol8_egress_unbind(struct isol8_egress_port *port, struct isol8_egress_log *log)
{
	struct isol8_egress_log ignored;
	struct unbind_call c = {port, log ? log : &ignored};

	memset(c.log, 0, sizeof(*c.log));
	egress_run_on_loop(port->eg, unbind_on_loop, &c);
	if (log == NULL)
		isol8_egress_log_release(&ignored);
}

void isol8_egress_log_release(struct isol8_egress_log *log)
{
	if (log == NULL)
		return;
	for (size_t i = 0; i < log->n; i++) {
		free(log->entries[i].host);
		free(log->entries[i].path);
	}
	free(log->entries);
	memset(log, 0, sizeof(*log));
}
