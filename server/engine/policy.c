/* The operator's policy: see policy.h. */
#include "engine/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

static int64_t host_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n;
}

void isol8_policy_init(struct isol8_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->max_timeout_ms = 3600000;
	p->max_memory = 8LL << 30;
	p->max_nano_cpus = host_cpus() * 1000000000LL;
	p->max_pids = ISOL8_MAX_PIDS;
	p->max_output = ISOL8_MAX_OUTPUT_LIMIT;
	p->max_sandbox_size = 8LL << 30;
	p->max_tmp_size = 8LL << 30;
	snprintf(p->max_memory_text, sizeof(p->max_memory_text), "8g");
	snprintf(p->max_sandbox_text, sizeof(p->max_sandbox_text), "8g");
	snprintf(p->max_tmp_text, sizeof(p->max_tmp_text), "8g");
	p->local_is_trusted = true;
}

int isol8_policy_copy(struct isol8_policy *dst, const struct isol8_policy *src, struct isol8_error *err)
{
	*dst = *src;
	dst->allowed_images = NULL;
	dst->n_allowed_images = 0;
	if (src->n_allowed_images == 0)
		return 0;
	dst->allowed_images = calloc(src->n_allowed_images, sizeof(*dst->allowed_images));
	if (dst->allowed_images == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	for (; dst->n_allowed_images < src->n_allowed_images; dst->n_allowed_images++) {
		char *copy = strdup(src->allowed_images[dst->n_allowed_images]);
		if (copy == NULL) {
			isol8_policy_release(dst);
			return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
		}
		dst->allowed_images[dst->n_allowed_images] = copy;
	}
	return 0;
}

void isol8_policy_release(struct isol8_policy *p)
{
	for (size_t i = 0; i < p->n_allowed_images; i++)
		free(p->allowed_images[i]);
	free(p->allowed_images);
	p->allowed_images = NULL;
	p->n_allowed_images = 0;
}

bool isol8_policy_applies(const struct isol8_policy *p, bool local)
{
	return !(local && p->local_is_trusted);
}

/* bytes as "8g", "512m", "64k" where exact, else a number of bytes. */
static const char *size_text(int64_t bytes, const char *written, char *buf, size_t size)
{
	static const struct {
		int shift;
		char unit;
	} units[] = {{40, 't'}, {30, 'g'}, {20, 'm'}, {10, 'k'}};

	if (written != NULL && written[0] != '\0')
		return written;
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(units); i++)
		if (bytes > 0 && bytes % (1LL << units[i].shift) == 0) {
			snprintf(buf, size, "%lld%c", (long long)(bytes >> units[i].shift), units[i].unit);
			return buf;
		}
	snprintf(buf, size, "%lld", (long long)bytes);
	return buf;
}

static int above_size(const char *field, int64_t value, const char *asked, int64_t max, const char *max_written,
		      struct isol8_error *err)
{
	char a[32], b[32];

	if (value <= max)
		return 0;
	return isol8_error_set(err, ISOL8_E_PERMISSION, "%s: %s is above this server's limit of %s", field,
			       size_text(value, asked, a, sizeof(a)), size_text(max, max_written, b, sizeof(b)));
}

static int check_ceilings(const struct isol8_policy *p, const Isol8__V1__ExecutionOptions *o,
			  const struct isol8_exec_options *opts, struct isol8_error *err)
{
	const struct isol8_container_options *c = &opts->container;
	int ret;

	if (opts->timeout_ms > p->max_timeout_ms)
		return isol8_error_set(err, ISOL8_E_PERMISSION, "timeout_ms: %lld is above this server's limit of %lld ms",
				       (long long)opts->timeout_ms, (long long)p->max_timeout_ms);
	ret = above_size("options.memory_limit", c->memory_bytes, o ? o->memory_limit : NULL, p->max_memory,
			 p->max_memory_text, err);
	if (ret == 0 && c->nano_cpus > p->max_nano_cpus)
		ret = isol8_error_set(err, ISOL8_E_PERMISSION, "options.cpu_limit: %.9g is above this server's limit of %.9g",
				      (double)c->nano_cpus / 1e9, (double)p->max_nano_cpus / 1e9);
	if (ret == 0 && c->pids_limit > p->max_pids)
		ret = isol8_error_set(err, ISOL8_E_PERMISSION, "options.pids_limit: %lld is above this server's limit of %lld",
				      (long long)c->pids_limit, (long long)p->max_pids);
	if (ret == 0 && opts->max_output > p->max_output)
		ret = isol8_error_set(err, ISOL8_E_PERMISSION,
				      "options.max_output_size: %lld is above this server's limit of %lld bytes",
				      (long long)opts->max_output, (long long)p->max_output);
	if (ret == 0)
		ret = above_size("options.sandbox_size", c->sandbox_size, o ? o->sandbox_size : NULL, p->max_sandbox_size,
				 p->max_sandbox_text, err);
	if (ret == 0)
		ret = above_size("options.tmp_size", c->tmp_size, o ? o->tmp_size : NULL, p->max_tmp_size,
				 p->max_tmp_text, err);
	return ret;
}

static bool image_allowed(const struct isol8_policy *p, const char *image)
{
	for (size_t i = 0; i < p->n_allowed_images; i++)
		if (strcmp(p->allowed_images[i], image) == 0)
			return true;
	return false;
}

/* What a request asks beyond the daemon's defaults that weakens the sandbox. */
static int check_permissions(const struct isol8_policy *p, const struct isol8_exec_defaults *d,
			     const struct isol8_exec_options *opts, struct isol8_error *err)
{
	const struct isol8_container_options *c = &opts->container, *def = &d->container;
	static const char denied[] = "is not allowed by this server's policy";

	if (c->network == ISOL8_NET_HOST && def->network != ISOL8_NET_HOST && !p->allow_host_network)
		return isol8_error_set(err, ISOL8_E_PERMISSION, "options.network: \"host\" %s (policy.allowHostNetwork)",
				       denied);
	if (c->seccomp == ISOL8_SECCOMP_UNCONFINED && def->seccomp != ISOL8_SECCOMP_UNCONFINED &&
	    !p->allow_seccomp_unconfined)
		return isol8_error_set(err, ISOL8_E_PERMISSION,
				       "options.seccomp: \"unconfined\" %s (policy.allowSeccompUnconfined)", denied);
	if (c->seccomp == ISOL8_SECCOMP_CUSTOM && !(def->seccomp == ISOL8_SECCOMP_CUSTOM &&
						   c->seccomp_profile == def->seccomp_profile) &&
	    !p->allow_seccomp_custom)
		return isol8_error_set(err, ISOL8_E_PERMISSION,
				       "options.seccomp: \"custom\" with the caller's profile %s "
				       "(policy.allowSeccompCustom)",
				       denied);
	if (!c->readonly_rootfs && def->readonly_rootfs && !p->allow_writable_root)
		return isol8_error_set(err, ISOL8_E_PERMISSION,
				       "options.readonly_root_fs: a writable root file system %s (policy.allowWritableRoot)",
				       denied);
	if (c->image != NULL && !image_allowed(p, c->image))
		return isol8_error_set(err, ISOL8_E_PERMISSION,
				       "options.image: \"%s\" is not one of this server's allowed images "
				       "(policy.allowedImages)",
				       c->image);
	return 0;
}

int isol8_policy_check(const struct isol8_policy *p, const struct isol8_exec_defaults *d,
		       const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_options *opts,
		       struct isol8_error *err)
{
	int ret = check_permissions(p, d, opts, err);

	if (ret == 0)
		ret = check_ceilings(p, req->options, opts, err);
	return ret;
}
