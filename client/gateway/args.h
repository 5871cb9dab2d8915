/* isol8-gateway's command line (see usage in args.c), parsed into a struct
 * with no I/O, so tests can check every flag and message. */
#ifndef ISOL8_GATEWAY_ARGS_H
#define ISOL8_GATEWAY_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "isol8/error.h"

#define GW_MAX_CLEANUP_KEYS 32

struct gw_config {
	char listen_host[256]; /* "127.0.0.1", "::1" (without brackets) */
	unsigned listen_port;  /* 0 = a free one */
	const char *upstream;  /* NULL = the local daemon's socket */
	const char *upstream_tls_ca;
	const char *key; /* the gateway's own key; NULL = forward the caller's */
	size_t max_body_size;
	bool cleanup_enabled;
	const char *cleanup_keys[GW_MAX_CLEANUP_KEYS];
	size_t n_cleanup_keys;
	unsigned max_connections;
	unsigned request_timeout_ms;
	int ready_fd; /* -1 = none */
	bool debug;
	bool log_json;
	bool help;
	bool version;
};

/* The usage text of --help. */
extern const char gw_usage[];

/* Parses argv (strings must outlive cfg). ISOL8_E_INVALID names the flag. */
int gw_args_parse(int argc, char **argv, struct gw_config *cfg, struct isol8_error *err);

/* "10m", "512k", "1048576" to bytes (1 to 1 GiB); what names the flag. */
int gw_args_size(const char *text, const char *what, size_t *out, struct isol8_error *err);

/* "HOST:PORT", "[V6]:PORT". */
int gw_args_listen(const char *text, struct gw_config *cfg, struct isol8_error *err);

#endif
