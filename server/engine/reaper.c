/*
 * The reaper: removes used sandboxes on its own thread, so an execution's
 * result goes back to the client without waiting for Docker to delete the
 * container (tens of milliseconds). Executions queue sandboxes here; the
 * reaper thread is the only one that dequeues. isol8_reaper_stop drains the
 * queue before it returns, so a daemon that stops leaves nothing behind.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

struct reap_item {
	struct isol8_sandbox sandbox;
	struct reap_item *next;
};

static void *reaper_main(void *arg)
{
	struct isol8_reaper *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (r->head == NULL && !r->stopping)
			pthread_cond_wait(&r->wake, &r->lock);
		if (r->head == NULL)
			break;
		struct reap_item *item = r->head;
		r->head = item->next;
		if (r->head == NULL)
			r->tail = NULL;
		pthread_mutex_unlock(&r->lock);
		struct isol8_error err = ISOL8_ERROR_INIT;
		isol8_sandbox_destroy(r->env, &item->sandbox, &err);
		free(item);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int isol8_reaper_start(struct isol8_reaper *r, const struct isol8_sandbox_env *env, struct isol8_error *err)
{
	memset(r, 0, sizeof(*r));
	r->env = env;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	if (pthread_create(&r->thread, NULL, reaper_main, r) != 0) {
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		return isol8_error_set(err, ISOL8_E_NOMEM, "cannot start the sandbox reaper thread");
	}
	r->running = true;
	return 0;
}

void isol8_reaper_add(struct isol8_reaper *r, const struct isol8_sandbox *sb)
{
	struct reap_item *item = malloc(sizeof(*item));

	if (item == NULL || !r->running) {
		/* no memory for the queue: remove it now, on the caller's thread */
		struct isol8_error err = ISOL8_ERROR_INIT;
		struct isol8_sandbox copy = *sb;
		free(item);
		isol8_sandbox_destroy(r->env, &copy, &err);
		return;
	}
	item->sandbox = *sb;
	item->next = NULL;
	pthread_mutex_lock(&r->lock);
	if (r->tail)
		r->tail->next = item;
	else
		r->head = item;
	r->tail = item;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

void isol8_reaper_stop(struct isol8_reaper *r)
{
	if (!r->running)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	r->running = false;
}
