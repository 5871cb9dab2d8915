/* Connections to isol8d: the handle, its views with another key, and the
 * library's version. See client.h for the threading rule. */
#include "lib/client.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/target.h"

#define CONNECT_DEFAULT_MS 5000
#define TARGET_MAX 512

const char *isol8_version(void)
{
	return ISOL8_VERSION;
}

int isol8_client_execute_deadline(int64_t timeout_ms)
{
	if (timeout_ms <= 0 || timeout_ms > INT_MAX - ISOL8_CLIENT_DEADLINE_MARGIN_MS)
		return 0;
	return (int)timeout_ms + ISOL8_CLIENT_DEADLINE_MARGIN_MS;
}

/* The gRPC target for opts->target (NULL: the local daemon), whether it
 * asks for TLS, and the name messages give it. */
static int resolve(const char *target, char *grpc_target, size_t size, bool *tls, char **display,
		   struct isol8_error *err)
{
	int ret;

	*tls = false;
	if (target == NULL)
		ret = isol8_target_local(grpc_target, size, getuid(), getenv("ISOL8_SOCKET"), getenv("XDG_RUNTIME_DIR"),
					 err);
	else
		ret = isol8_target_parse("target", target, grpc_target, size, tls, err);
	if (ret < 0)
		return ret;
	*display = strdup(target != NULL ? target : grpc_target);
	if (*display == NULL)
		return isol8_client_nomem(err, "connecting");
	return 0;
}

static int open_channel(struct isol8_client *c, const char *grpc_target, bool tls,
			const struct isol8_client_options *opts, struct isol8_error *err)
{
	struct isol8_rpc_channel_config cfg = {
		.target = grpc_target, .api_key = opts->api_key, .tls_ca = opts->tls_ca, .tls = tls};
	int wait_ms = opts->connect_timeout_ms == 0 ? CONNECT_DEFAULT_MS : opts->connect_timeout_ms;
	int ret = isol8_rpc_channel_new(&c->channel, &cfg, err);

	if (ret == 0 && wait_ms > 0 && isol8_rpc_channel_wait_ready(c->channel, wait_ms, NULL) < 0)
		ret = isol8_error_set(err, ISOL8_E_UNAVAILABLE, "cannot reach isol8d at %s within %d ms", c->target,
				      wait_ms);
	return ret;
}

int isol8_client_new(struct isol8_client **out, const struct isol8_client_options *opts, struct isol8_error *err)
{
	static const struct isol8_client_options defaults = ISOL8_CLIENT_OPTIONS_INIT;
	char grpc_target[TARGET_MAX];
	struct isol8_client *c;
	bool tls;
	int ret;

	if (out == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "out is NULL");
	*out = NULL;
	if (opts == NULL)
		opts = &defaults;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return isol8_client_nomem(err, "connecting");
	ret = resolve(opts->target, grpc_target, sizeof(grpc_target), &tls, &c->target_owned, err);
	c->target = c->target_owned;
	if (ret == 0)
		ret = open_channel(c, grpc_target, tls, opts, err);
	if (ret < 0) {
		isol8_client_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

int isol8_client_with_key(struct isol8_client **out, struct isol8_client *base, const char *api_key,
			  struct isol8_error *err)
{
	struct isol8_client *c;
	int ret;

	if (out == NULL || base == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s is NULL", out == NULL ? "out" : "base");
	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return isol8_client_nomem(err, "making a client handle");
	c->target = base->target;
	ret = isol8_rpc_channel_with_key(&c->channel, base->channel, api_key, err);
	if (ret < 0) {
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

void isol8_client_free(struct isol8_client *c)
{
	if (c == NULL)
		return;
	isol8_rpc_channel_free(c->channel);
	free(c->target_owned);
	free(c);
}
