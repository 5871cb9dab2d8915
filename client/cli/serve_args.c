/* `isol8 serve`'s settings: see serve_args.h. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/options.h"
#include "cli/serve_args.h"

enum { OPT_PORT = 256, OPT_KEY, OPT_HOST, OPT_GRPC_PORT, OPT_DEBUG };

static int parse_port(const char *what, const char *text, int *out, struct isol8_error *err)
{
	int64_t v;
	int ret = isol8_cli_parse_int(what, text, 1, 65535, "a port (1 to 65535)", &v, err);

	if (ret == 0)
		*out = (int)v;
	return ret;
}

static const char *given(const char *v)
{
	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The HTTP port when no --port was given. */
static int port_from_env(const struct isol8_serve_env *env, int *out, struct isol8_error *err)
{
	if (given(env->isol8_port))
		return parse_port("ISOL8_PORT", env->isol8_port, out, err);
	if (given(env->port))
		return parse_port("PORT", env->port, out, err);
	*out = ISOL8_SERVE_DEFAULT_PORT;
	return 0;
}

int isol8_serve_parse(struct isol8_serve_args *a, int argc, char **argv, const struct isol8_serve_env *env,
		      struct isol8_error *err)
{
	static const struct option longopts[] = {
		{"port", required_argument, NULL, OPT_PORT},   {"key", required_argument, NULL, OPT_KEY},
		{"host", required_argument, NULL, OPT_HOST},   {"grpc-port", required_argument, NULL, OPT_GRPC_PORT},
		{"debug", no_argument, NULL, OPT_DEBUG},       {"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *port = NULL;
	int c, ret = 0;

	*a = (struct isol8_serve_args){.host = "0.0.0.0"};
	isol8_cli_flags_reset();
	while ((c = isol8_cli_flags_next(argc, argv, ":h", longopts, "serve", err)) != -1) {
		if (c == '?')
			return -ISOL8_E_INVALID;
		if (c == 'h')
			a->help = true;
		else if (c == OPT_PORT)
			port = optarg;
		else if (c == OPT_KEY)
			a->key = optarg;
		else if (c == OPT_HOST)
			a->host = optarg;
		else if (c == OPT_GRPC_PORT)
			ret = parse_port("--grpc-port", optarg, &a->grpc_port, err);
		else if (c == OPT_DEBUG)
			a->debug = true;
		if (ret < 0)
			return ret;
	}
	if (optind < argc)
		return isol8_error_set(err, ISOL8_E_INVALID, "unexpected argument \"%s\"", argv[optind]);
	if (a->help)
		return 0;
	if (a->host[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "--host: an empty address");
	ret = port ? parse_port("--port", port, &a->port, err) : port_from_env(env, &a->port, err);
	if (ret < 0)
		return ret;
	if (a->grpc_port != 0 && a->grpc_port == a->port)
		return isol8_error_set(err, ISOL8_E_INVALID, "--grpc-port: %d is the HTTP port too", a->port);
	if (!given(a->key))
		a->key = given(env->api_key);
	if (a->key == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "isol8 serve needs an API key: pass --key KEY or set ISOL8_API_KEY (clients then "
				       "send \"Authorization: Bearer KEY\")");
	return 0;
}

int isol8_serve_next_free(const char *host, int from, int skip, bool (*is_free)(const char *host, int port))
{
	for (int p = from; p <= 65535 && p < from + ISOL8_SERVE_PORT_SEARCH; p++)
		if (p != skip && is_free(host, p))
			return p;
	return 0;
}

void isol8_serve_address(const char *host, int port, char *buf, size_t size)
{
	bool v6 = strchr(host, ':') != NULL;

	snprintf(buf, size, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
}
