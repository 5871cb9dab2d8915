/*
 * The egress proxy's loop thread (egress.h). One libevent base owns every
 * socket, the resolver and the timers. Other threads reach it through a
 * queue of calls: a caller links a call on its own stack, wakes the loop
 * and waits until the loop has run it. A call made on the loop thread
 * itself (from cfg->log, which runs there) runs at once, so it cannot
 * deadlock.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <event2/thread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "egress/internal.h"
#include "egress/testing.h"

static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static int threads_rc;

/* Where libevent's own warnings go (e.g. a nameserver not answering):
 * the log of the last proxy started with one, never stderr. */
static void (*_Atomic libevent_sink)(int level, const char *message);

static void libevent_log(int severity, const char *message)
{
	void (*sink)(int, const char *) = atomic_load(&libevent_sink);
	char line[512];

	if (sink == NULL || severity < EVENT_LOG_WARN)
		return;
	snprintf(line, sizeof(line), "egress: libevent: %s", message);
	sink(ISOL8_LOG_WARN, line);
}

static void use_pthreads(void)
{
	event_set_log_callback(libevent_log);
	threads_rc = evthread_use_pthreads();
}

int64_t egress_now_ms(void)
{
	return isol8_now_ms();
}

void egress_log(struct isol8_egress *eg, int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (eg->cfg.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	eg->cfg.log(level, line);
}

static void run_calls(evutil_socket_t fd, short what, void *arg)
{
	struct isol8_egress *eg = arg;
	struct egress_call *call, *next;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&eg->lock);
	call = eg->calls;
	eg->calls = NULL;
	eg->calls_tail = &eg->calls;
	pthread_mutex_unlock(&eg->lock);
	for (; call != NULL; call = next) {
		next = call->next;
		call->fn(call->arg);
		pthread_mutex_lock(&eg->lock);
		call->done = true; /* the caller may return, and its call go, from here on */
		pthread_cond_broadcast(&eg->cond);
		pthread_mutex_unlock(&eg->lock);
	}
}

int egress_run_on_loop(struct isol8_egress *eg, void (*fn)(void *), void *arg)
{
	struct egress_call call = {fn, arg, false, NULL};

	if (pthread_equal(pthread_self(), eg->thread)) {
		fn(arg);
		return 0;
	}
	pthread_mutex_lock(&eg->lock);
	*eg->calls_tail = &call;
	eg->calls_tail = &call.next;
	pthread_mutex_unlock(&eg->lock);
	event_active(eg->wake, EV_READ, 0);
	pthread_mutex_lock(&eg->lock);
	while (!call.done)
		pthread_cond_wait(&eg->cond, &eg->lock);
	pthread_mutex_unlock(&eg->lock);
	return 0;
}

static void *loop_main(void *arg)
{
	struct isol8_egress *eg = arg;

	pthread_setname_np(pthread_self(), "isol8-egress");
	event_base_loop(eg->base, EVLOOP_NO_EXIT_ON_EMPTY);
	/* What stopping made pending (cancelled lookups report it deferred). */
	event_base_loop(eg->base, EVLOOP_NONBLOCK);
	return NULL;
}

/* The loop thread takes no signals: the process's handlers run elsewhere,
 * and a write to a closed connection fails with EPIPE, never SIGPIPE. */
static int start_loop_thread(struct isol8_egress *eg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&eg->thread, NULL, loop_main, eg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void free_egress(struct isol8_egress *eg)
{
	if (eg->dns != NULL)
		evdns_base_free(eg->dns, 0);
	if (eg->wake != NULL)
		event_free(eg->wake);
	if (eg->base != NULL)
		event_base_free(eg->base);
	pthread_cond_destroy(&eg->cond);
	pthread_mutex_destroy(&eg->lock);
	free(eg);
}

static int check_config(const struct isol8_egress_config *cfg, struct isol8_error *err)
{
	if (cfg->idle_timeout_ms < 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "egress: idle_timeout_ms must not be negative");
	if (cfg->connect_timeout_ms < 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "egress: connect_timeout_ms must not be negative");
	if (cfg->max_connections_per_port < 0)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "egress: max_connections_per_port must not be negative");
	return 0;
}

static int make_resolver(struct isol8_egress *eg, const char *resolv_conf, const char *hosts,
			 struct isol8_error *err)
{
	int flags = DNS_OPTIONS_ALL;

	eg->dns = evdns_base_new(eg->base, 0);
	if (eg->dns == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "egress: cannot create the resolver");
	if (hosts != NULL)
		flags &= ~DNS_OPTION_HOSTSFILE;
	/* A missing or empty resolv.conf leaves libevent's default nameserver. */
	if (evdns_base_resolv_conf_parse(eg->dns, flags, resolv_conf) == 4)
		return isol8_error_set(err, ISOL8_E_NOMEM, "egress: out of memory reading \"%s\"", resolv_conf);
	if (hosts != NULL && evdns_base_load_hosts(eg->dns, hosts) != 0)
		return isol8_error_set(err, ISOL8_E_IO, "egress: cannot read hosts file \"%s\"", hosts);
	return 0;
}

int egress_start_with(const struct isol8_egress_config *cfg, const char *resolv_conf, const char *hosts,
		      struct isol8_egress **out, struct isol8_error *err)
{
	struct isol8_egress *eg;
	int rc;

	*out = NULL;
	rc = check_config(cfg, err);
	if (rc != 0)
		return rc;
	pthread_once(&threads_once, use_pthreads);
	if (threads_rc != 0)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "egress: libevent has no pthreads support");
	eg = calloc(1, sizeof(*eg));
	if (eg == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "egress: out of memory");
	pthread_mutex_init(&eg->lock, NULL);
	pthread_cond_init(&eg->cond, NULL);
	eg->calls_tail = &eg->calls;
	eg->cfg = *cfg;
	if (cfg->log != NULL)
		atomic_store(&libevent_sink, cfg->log);
	if (eg->cfg.idle_timeout_ms == 0)
		eg->cfg.idle_timeout_ms = 60000;
	if (eg->cfg.connect_timeout_ms == 0)
		eg->cfg.connect_timeout_ms = 10000;
	if (eg->cfg.max_connections_per_port == 0)
		eg->cfg.max_connections_per_port = 64;
	eg->base = event_base_new();
	if (eg->base == NULL) {
		rc = isol8_error_set(err, ISOL8_E_NOMEM, "egress: cannot create the event loop");
		goto fail;
	}
	eg->wake = event_new(eg->base, -1, 0, run_calls, eg);
	if (eg->wake == NULL) {
		rc = isol8_error_set(err, ISOL8_E_NOMEM, "egress: out of memory");
		goto fail;
	}
	rc = make_resolver(eg, resolv_conf, hosts, err);
	if (rc != 0)
		goto fail;
	rc = start_loop_thread(eg);
	if (rc != 0) {
		rc = isol8_error_errno(err, ISOL8_E_IO, rc, "egress: cannot start the loop thread");
		goto fail;
	}
	*out = eg;
	return 0;
fail:
	free_egress(eg);
	return rc;
}

int isol8_egress_start(const struct isol8_egress_config *cfg, struct isol8_egress **out, struct isol8_error *err)
{
	return egress_start_with(cfg, "/etc/resolv.conf", NULL, out, err);
}

static void stop_on_loop(void *arg)
{
	struct isol8_egress *eg = arg;

	while (eg->ports != NULL)
		egress_port_free(eg->ports);
	event_base_loopbreak(eg->base);
}

void isol8_egress_stop(struct isol8_egress *eg)
{
	if (eg == NULL)
		return;
	egress_run_on_loop(eg, stop_on_loop, eg);
	pthread_join(eg->thread, NULL);
	free_egress(eg);
}
