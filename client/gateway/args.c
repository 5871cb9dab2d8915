/* The command line: see args.h. */
#include "gateway/args.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char gw_usage[] =
	"Usage: isol8-gateway [OPTIONS]\n"
	"The REST/SSE/WebSocket gateway of isol8d: speaks the isol8 HTTP API.\n"
	"\n"
	"  --listen HOST:PORT        where to listen (default 127.0.0.1:3000; port 0 = a free one)\n"
	"  --upstream TARGET         isol8d: unix:/PATH, HOST:PORT, http(s)://HOST:PORT\n"
	"                            (default: the local daemon's socket)\n"
	"  --upstream-tls-ca FILE    PEM CA to trust for the upstream (enables TLS)\n"
	"  --key KEY                 the gateway's own key: callers must present it, and it is sent\n"
	"                            upstream; without it each caller's key is forwarded to isol8d\n"
	"  --max-body-size BYTES     largest request body (default 10m; k/m suffixes); POST /file\n"
	"                            takes a file of up to this size, base64 encoded\n"
	"  --no-cleanup              refuse POST /cleanup\n"
	"  --cleanup-key KEY         only this key may POST /cleanup (repeatable)\n"
	"  --max-connections N       open connections at most (default 1024)\n"
	"  --request-timeout-ms N    time a client has to send its request (default 30000)\n"
	"  --ready-fd FD             once listening, write the port and a newline to FD, close it\n"
	"  --debug                   log each request (method, path, status, duration)\n"
	"  --log-json                log JSON lines\n"
	"  --help, --version\n";

enum {
	OPT_LISTEN = 256,
	OPT_UPSTREAM,
	OPT_CA,
	OPT_KEY,
	OPT_BODY,
	OPT_NO_CLEANUP,
	OPT_CLEANUP_KEY,
	OPT_MAX_CONN,
	OPT_TIMEOUT,
	OPT_READY,
	OPT_DEBUG,
	OPT_LOG_JSON,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option OPTIONS[] = {
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"upstream", required_argument, NULL, OPT_UPSTREAM},
	{"upstream-tls-ca", required_argument, NULL, OPT_CA},
	{"key", required_argument, NULL, OPT_KEY},
	{"max-body-size", required_argument, NULL, OPT_BODY},
	{"no-cleanup", no_argument, NULL, OPT_NO_CLEANUP},
	{"cleanup-key", required_argument, NULL, OPT_CLEANUP_KEY},
	{"max-connections", required_argument, NULL, OPT_MAX_CONN},
	{"request-timeout-ms", required_argument, NULL, OPT_TIMEOUT},
	{"ready-fd", required_argument, NULL, OPT_READY},
	{"debug", no_argument, NULL, OPT_DEBUG},
	{"log-json", no_argument, NULL, OPT_LOG_JSON},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

static int parse_uint(const char *text, const char *what, unsigned long lo, unsigned long hi, unsigned long *out,
		      struct isol8_error *err)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || v < lo || v > hi)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" is not a number from %lu to %lu", what, text, lo,
				       hi);
	*out = v;
	return 0;
}

int gw_args_size(const char *text, const char *what, size_t *out, struct isol8_error *err)
{
	char *end;
	unsigned long long v;
	unsigned long long mul = 1;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (end != text && (*end == 'k' || *end == 'K') && end[1] == '\0')
		mul = 1024;
	else if (end != text && (*end == 'm' || *end == 'M') && end[1] == '\0')
		mul = 1024 * 1024;
	else if (*end != '\0')
		end = (char *)text;
	if (errno || end == text || text[0] == '-' || v == 0 || v > (1ull << 30) / mul)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: \"%s\" is not a size from 1 byte to 1024m (a number, or with k or m)", what,
				       text);
	*out = (size_t)(v * mul);
	return 0;
}

int gw_args_listen(const char *text, struct gw_config *cfg, struct isol8_error *err)
{
	const char *colon = strrchr(text, ':'), *host = text;
	size_t host_len;
	unsigned long port;

	if (colon == NULL || colon == text)
		return isol8_error_set(err, ISOL8_E_INVALID, "--listen: \"%s\" is not HOST:PORT", text);
	host_len = (size_t)(colon - text);
	if (host[0] == '[') {
		if (host_len < 3 || host[host_len - 1] != ']')
			return isol8_error_set(err, ISOL8_E_INVALID, "--listen: \"%s\" is not [ADDRESS]:PORT", text);
		host++;
		host_len -= 2;
	}
	if (host_len >= sizeof(cfg->listen_host))
		return isol8_error_set(err, ISOL8_E_INVALID, "--listen: the host is too long");
	if (parse_uint(colon + 1, "--listen", 0, 65535, &port, err) < 0)
		return -err->code;
	memcpy(cfg->listen_host, host, host_len);
	cfg->listen_host[host_len] = '\0';
	cfg->listen_port = (unsigned)port;
	return 0;
}

static int apply(int opt, const char *arg, struct gw_config *cfg, struct isol8_error *err)
{
	unsigned long v;

	switch (opt) {
	case OPT_LISTEN: return gw_args_listen(arg, cfg, err);
	case OPT_UPSTREAM: cfg->upstream = arg; return 0;
	case OPT_CA: cfg->upstream_tls_ca = arg; return 0;
	case OPT_KEY:
		if (*arg == '\0')
			return isol8_error_set(err, ISOL8_E_INVALID, "--key: empty");
		cfg->key = arg;
		return 0;
	case OPT_BODY: return gw_args_size(arg, "--max-body-size", &cfg->max_body_size, err);
	case OPT_NO_CLEANUP: cfg->cleanup_enabled = false; return 0;
	case OPT_CLEANUP_KEY:
		if (*arg == '\0')
			return isol8_error_set(err, ISOL8_E_INVALID, "--cleanup-key: empty");
		if (cfg->n_cleanup_keys == GW_MAX_CLEANUP_KEYS)
			return isol8_error_set(err, ISOL8_E_INVALID, "--cleanup-key: at most %d", GW_MAX_CLEANUP_KEYS);
		cfg->cleanup_keys[cfg->n_cleanup_keys++] = arg;
		return 0;
	case OPT_MAX_CONN:
		if (parse_uint(arg, "--max-connections", 1, 65536, &v, err) < 0)
			return -err->code;
		cfg->max_connections = (unsigned)v;
		return 0;
	case OPT_TIMEOUT:
		if (parse_uint(arg, "--request-timeout-ms", 100, 3600000, &v, err) < 0)
			return -err->code;
		cfg->request_timeout_ms = (unsigned)v;
		return 0;
	case OPT_READY:
		if (parse_uint(arg, "--ready-fd", 0, INT_MAX, &v, err) < 0)
			return -err->code;
		cfg->ready_fd = (int)v;
		return 0;
	case OPT_DEBUG: cfg->debug = true; return 0;
	case OPT_LOG_JSON: cfg->log_json = true; return 0;
	case OPT_HELP: cfg->help = true; return 0;
	case OPT_VERSION: cfg->version = true; return 0;
	default: return isol8_error_set(err, ISOL8_E_INVALID, "unknown option (see --help)");
	}
}

int gw_args_parse(int argc, char **argv, struct gw_config *cfg, struct isol8_error *err)
{
	int opt;

	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->listen_host, "127.0.0.1");
	cfg->listen_port = 3000;
	cfg->max_body_size = 10u << 20;
	cfg->cleanup_enabled = true;
	cfg->max_connections = 1024;
	cfg->request_timeout_ms = 30000;
	cfg->ready_fd = -1;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", OPTIONS, NULL)) != -1) {
		if (opt == '?')
			return isol8_error_set(err, ISOL8_E_INVALID, "unknown option \"%s\" (see --help)",
					       argv[optind - 1]);
		if (opt == ':')
			return isol8_error_set(err, ISOL8_E_INVALID, "\"%s\" needs a value", argv[optind - 1]);
		if (apply(opt, optarg, cfg, err) < 0)
			return -err->code;
	}
	if (optind < argc)
		return isol8_error_set(err, ISOL8_E_INVALID, "unexpected argument \"%s\" (see --help)", argv[optind]);
	if (!cfg->cleanup_enabled && cfg->n_cleanup_keys)
		return isol8_error_set(err, ISOL8_E_INVALID, "--no-cleanup and --cleanup-key do not go together");
	return 0;
}
