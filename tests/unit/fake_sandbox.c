/* The fake sandbox backend: see fake_sandbox.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_sandbox.h"
#include "runner.h"

struct fake fake;

int fake_number(const struct isol8_sandbox *sb)
{
	return atoi(sb->container_id + 1);
}

static int fake_create(void *ctx, const struct isol8_container_options *opts, struct isol8_sandbox *out,
		       struct isol8_error *err)
{
	struct fake *f = ctx;
	int id;

	if (f->create_ms)
		usleep((unsigned)f->create_ms * 1000u);
	pthread_mutex_lock(&f->lock);
	if (f->fail_create) {
		pthread_mutex_unlock(&f->lock);
		return isol8_error_set(err, ISOL8_E_NOT_FOUND, "image \"%s\" is missing", opts->image_suffix);
	}
	id = ++f->next_id;
	f->created++;
	pthread_mutex_unlock(&f->lock);
	memset(out, 0, sizeof(*out));
	out->launcher_fd = -1;
	out->runtime = opts->runtime;
	snprintf(out->container_id, sizeof(out->container_id), "c%d", id);
	snprintf(out->id, sizeof(out->id), "s%d", id);
	return 0;
}

static int fake_reset(void *ctx, struct isol8_sandbox *sb, struct isol8_error *err)
{
	struct fake *f = ctx;
	int ret = 0;

	pthread_mutex_lock(&f->lock);
	f->resets++;
	if (f->fail_reset_of == fake_number(sb))
		ret = isol8_error_set(err, ISOL8_E_IO, "reset: not clean afterwards");
	pthread_mutex_unlock(&f->lock);
	return ret;
}

static int fake_destroy(void *ctx, struct isol8_sandbox *sb, struct isol8_error *err)
{
	struct fake *f = ctx;

	(void)sb;
	(void)err;
	pthread_mutex_lock(&f->lock);
	f->destroyed++;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static int fake_ping(void *ctx, struct isol8_sandbox *sb, int timeout_ms, struct isol8_error *err)
{
	struct fake *f = ctx;
	int ret = 0;

	(void)timeout_ms;
	pthread_mutex_lock(&f->lock);
	if (f->dead == fake_number(sb))
		ret = isol8_error_set(err, ISOL8_E_UNAVAILABLE, "agent did not answer");
	pthread_mutex_unlock(&f->lock);
	return ret;
}

int fake_get(const int *field)
{
	int v;
	pthread_mutex_lock(&fake.lock);
	v = *field;
	pthread_mutex_unlock(&fake.lock);
	return v;
}

struct isol8_container_options options(const char *runtime)
{
	return (struct isol8_container_options){.runtime = runtime, .image_suffix = runtime,
						.memory_bytes = 512 << 20, .nano_cpus = 1000000000, .pids_limit = 64,
						.sandbox_size = 1 << 20, .tmp_size = 1 << 20, .readonly_rootfs = true};
}

struct isol8_registry *registry(enum isol8_pool_strategy strategy, int executions, int sandboxes, int warm)
{
	struct isol8_registry_config cfg = {0};
	struct isol8_registry *r = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;

	pthread_mutex_destroy(&fake.lock);
	memset(&fake, 0, sizeof(fake));
	pthread_mutex_init(&fake.lock, NULL);
	cfg.ops = (struct isol8_sandbox_ops){fake_create, fake_reset, fake_destroy, fake_ping, &fake};
	cfg.strategy = strategy;
	cfg.max_executions = executions;
	cfg.max_waiting = 4;
	cfg.max_sandboxes = sandboxes;
	cfg.max_warm = warm;
	cfg.workers = 2;
	CU_ASSERT_EQUAL_FATAL(isol8_registry_new(&r, &cfg, NULL, &err), 0);
	return r;
}

