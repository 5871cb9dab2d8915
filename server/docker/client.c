/* The client handle (socket choice, DOCKER_HOST) and the engine-wide calls:
 * ping and version. */
#include <stdlib.h>
#include <string.h>

#include "docker/docker_internal.h"
#include "base/util.h"

#define UNIX_SCHEME "unix://"

int isol8_docker_host_socket(const char *docker_host, const char **path, struct isol8_error *err)
{
	const char *sep;

	if (docker_host == NULL || docker_host[0] == '\0') {
		*path = ISOL8_DOCKER_DEFAULT_SOCKET;
		return 0;
	}
	if (strncmp(docker_host, UNIX_SCHEME, strlen(UNIX_SCHEME)) == 0) {
		*path = docker_host + strlen(UNIX_SCHEME);
		if ((*path)[0] != '/')
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "docker: DOCKER_HOST \"%s\" must name an absolute socket path", docker_host);
		return 0;
	}
	sep = strstr(docker_host, "://");
	if (sep == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "docker: DOCKER_HOST \"%s\" is not a unix:// socket address", docker_host);
	return isol8_error_set(err, ISOL8_E_INVALID,
			       "docker: DOCKER_HOST scheme \"%.*s\" is not supported (only unix://)",
			       (int)(sep - docker_host), docker_host);
}

int isol8_docker_new(struct isol8_docker **out, const char *socket_path, struct isol8_error *err)
{
	_cleanup_free_ struct isol8_docker *d = NULL;
	const char *path = socket_path;
	int r;

	*out = NULL;
	if (path == NULL) {
		r = isol8_docker_host_socket(getenv("DOCKER_HOST"), &path, err);
		if (r < 0)
			return r;
	}
	if (path[0] == '\0' || strlen(path) > ISOL8_DOCKER_SOCKET_PATH_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "docker: socket path \"%s\" is empty or longer than %u bytes",
				       path, ISOL8_DOCKER_SOCKET_PATH_MAX);
	d = calloc(1, sizeof(*d));
	if (d == NULL || (d->socket_path = strdup(path)) == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "docker: out of memory");
	*out = ISOL8_TAKE(d);
	return 0;
}

void isol8_docker_free(struct isol8_docker *d)
{
	if (d == NULL)
		return;
	free(d->socket_path);
	free(d);
}

const char *isol8_docker_socket_path(const struct isol8_docker *d)
{
	return d->socket_path;
}

int isol8_docker_ping(struct isol8_docker *d, struct isol8_error *err)
{
	_cleanup_response_ struct isol8_docker_response resp = {0};
	const struct isol8_docker_request req = {.method = "GET", .path = "/_ping",
						 .timeout_ms = ISOL8_DOCKER_PING_TIMEOUT_MS};
	int r;

	r = isol8_docker_http(d, &req, &resp, err);
	if (r < 0)
		return r;
	return isol8_docker_check_status(&resp, err);
}

int isol8_docker_version(struct isol8_docker *d, struct isol8_docker_version *out, struct isol8_error *err)
{
	const struct isol8_docker_request req = {.method = "GET", .path = "/version"};
	_cleanup_cjson_ cJSON *json = NULL;
	const char *version, *api;
	int r;

	memset(out, 0, sizeof(*out));
	r = isol8_docker_request_json(d, &req, &json, err);
	if (r < 0)
		return r;
	version = isol8_json_string(json, "Version");
	api = isol8_json_string(json, "ApiVersion");
	if (version == NULL || api == NULL)
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "docker: /version lacks Version or ApiVersion");
	r = isol8_json_copy(out->version, sizeof(out->version), version, "Version", err);
	if (r == 0)
		r = isol8_json_copy(out->api_version, sizeof(out->api_version), api, "ApiVersion", err);
	return r;
}
