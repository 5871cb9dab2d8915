/*
 * Internals of the Docker client shared by its files: the client struct,
 * the HTTP transport (http.c), the JSON helpers (json.c) and the URL helpers.
 * Not for use outside server/docker/ (tests excepted).
 *
 * Threads: struct isol8_docker is immutable after isol8_docker_new(), so any
 * number of threads may issue requests at once; each request owns its curl
 * easy handle and its buffers.
 */
#ifndef ISOL8_DOCKER_INTERNAL_H
#define ISOL8_DOCKER_INTERNAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "docker/docker.h"

#define ISOL8_DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"
/* Ordinary requests give up after this long; image builds have no limit. */
#define ISOL8_DOCKER_REQUEST_TIMEOUT_MS 120000L
/* A ping answers at once or Docker is in trouble: health checks stay quick. */
#define ISOL8_DOCKER_PING_TIMEOUT_MS 2000L
/* Longest socket path a sockaddr_un holds. */
#define ISOL8_DOCKER_SOCKET_PATH_MAX 107u

struct isol8_docker {
	char *socket_path;
};

static inline void isol8_cjson_deletep(cJSON **p)
{
	cJSON_Delete(*p);
}
#define _cleanup_cjson_ __attribute__((cleanup(isol8_cjson_deletep)))

/* ---- transport (http.c) ---- */

/* Called with each complete line of a streamed 2xx body (without the
 * newline). A negative return stops the transfer with that error. */
typedef int (*isol8_docker_line_fn)(const char *line, size_t len, void *userdata);

struct isol8_docker_request {
	const char *method;       /* "GET", "POST", "DELETE" */
	const char *path;         /* after the API version, e.g. "/containers/json?all=1" */
	const char *content_type; /* NULL when there is no body */
	const void *body;
	size_t body_len;              /* with body_from_fd: the bytes to send from body_fd */
	bool body_from_fd;            /* stream the body from body_fd instead of body */
	int body_fd;
	isol8_docker_line_fn on_line; /* stream a 2xx body line by line instead of keeping it */
	void *userdata;
	bool no_timeout;
	long timeout_ms;              /* 0: ISOL8_DOCKER_REQUEST_TIMEOUT_MS (connecting too, when shorter) */
};

struct isol8_docker_response {
	long status;
	char *body; /* NUL-terminated; NULL when streamed or empty */
	size_t len;
};

void isol8_docker_response_release(struct isol8_docker_response *r);
#define _cleanup_response_ __attribute__((cleanup(isol8_docker_response_release)))

/* Sends one request. Returns 0 once an HTTP response arrived (any status)
 * and fills *resp; negative when the socket cannot be reached
 * (ISOL8_E_UNAVAILABLE), the body passes ISOL8_DOCKER_MAX_BODY
 * (ISOL8_E_PROTOCOL) or on_line failed. */
int isol8_docker_http(const struct isol8_docker *d, const struct isol8_docker_request *req,
		      struct isol8_docker_response *resp, struct isol8_error *err);

/* 0 for a 2xx status; otherwise the error for it, carrying Docker's
 * "message": 404 NOT_FOUND, 400 INVALID, 409 PRECONDITION, others IO. */
int isol8_docker_check_status(const struct isol8_docker_response *resp, struct isol8_error *err);

/* Docker's "message" of an error body, copied into buf ("" if none). */
void isol8_docker_error_message(const struct isol8_docker_response *resp, char *buf, size_t size);

/* Sends a body-less request; a response with status `tolerated` (0: none)
 * counts as success, as does any 2xx. */
int isol8_docker_request_simple(const struct isol8_docker *d, const char *method, const char *path, long tolerated,
				struct isol8_error *err);

/* A request whose 2xx response body is JSON: sends it, checks the status
 * and parses the body into *out (caller deletes). */
int isol8_docker_request_json(const struct isol8_docker *d, const struct isol8_docker_request *req,
			      cJSON **out, struct isol8_error *err);

/* ---- URL helpers (url.c) ---- */

/* Percent-encodes everything but RFC 3986 unreserved characters (caller
 * frees); NULL when out of memory. */
char *isol8_docker_url_escape(const char *s);

/* printf into a new string (caller frees); NULL and an error on failure. */
char *isol8_docker_format(struct isol8_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The URL-escaped JSON {"label":[label_filter]} into *out (caller frees). */
int isol8_docker_label_filters(const char *label_filter, char **out, struct isol8_error *err);

/* base (a list endpoint, maybe with a query) plus the label filter if not
 * NULL, into *out (caller frees). */
int isol8_docker_list_path(const char *base, const char *label_filter, char **out, struct isol8_error *err);

/* GET base (plus the label filter), which must answer a JSON array: the
 * array into *out (caller frees; "what" names the collection in errors). */
int isol8_docker_list_fetch(struct isol8_docker *d, const char *base, const char *what, const char *label_filter,
			    cJSON **out, struct isol8_error *err);

/* Lists a collection: GET base (plus the label filter) must answer a JSON
 * array; cb gets each item's "Id" and name_of(item) ("what" names the
 * collection in errors). Used for containers and images. */
int isol8_docker_list(struct isol8_docker *d, const char *base, const char *what, const char *label_filter,
		      const char *(*name_of)(const cJSON *item), isol8_docker_container_fn cb, void *userdata,
		      struct isol8_error *err);

/* "/<collection>/<escaped ref><suffix>" into *out (caller frees), after
 * checking ref ("what" names it in errors, e.g. "container id"). */
int isol8_docker_object_path(const char *collection, const char *what, const char *ref, const char *suffix,
			     char **out, struct isol8_error *err);

/* Checks an id or name that goes into a URL path: non-empty, bounded. */
int isol8_docker_check_ref(const char *what, const char *ref, struct isol8_error *err);

/* ---- JSON helpers (json.c) ---- */

/* The string member `name` of obj, or NULL if absent or not a string. */
const char *isol8_json_string(const cJSON *obj, const char *name);

/* Member `name` of obj as a bool / int; false / 0 if absent or mistyped. */
bool isol8_json_bool(const cJSON *obj, const char *name);
int isol8_json_int(const cJSON *obj, const char *name);

/* Copies src into buf; ISOL8_E_PROTOCOL naming `what` if it does not fit. */
int isol8_json_copy(char *buf, size_t size, const char *src, const char *what, struct isol8_error *err);

/* ---- container spec (spec_json.c) ---- */

/* The create body for a spec into *out (caller frees). */
int isol8_docker_spec_to_json(const struct isol8_container_spec *spec, char **out, struct isol8_error *err);

/* ---- DOCKER_HOST (client.c) ---- */

/* The socket path for a DOCKER_HOST value: NULL/"" -> the default socket,
 * "unix://PATH" -> PATH, any other scheme -> ISOL8_E_INVALID naming it.
 * *path points into docker_host or at a constant. */
int isol8_docker_host_socket(const char *docker_host, const char **path, struct isol8_error *err);

#endif
