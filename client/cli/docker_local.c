/* The CLI's own Docker Engine API calls for `isol8 cleanup`: see docker_local.h. */
#include "cli/docker_local.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/util.h"

#define DEFAULT_SOCKET "/var/run/docker.sock"
#define API "/v1.41"
/* Listing and removing take a moment; a hung engine does not hang the CLI. */
#define CALL_TIMEOUT_S 60L

int isol8_cli_docker_socket(const char *docker_host, char *buf, size_t size,
			    struct isol8_error *err)
{
	const char *path = DEFAULT_SOCKET;

	if (docker_host != NULL && docker_host[0] != '\0') {
		if (strncmp(docker_host, "unix://", 7) != 0)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "DOCKER_HOST \"%s\": only unix:///PATH is supported",
					       docker_host);
		path = docker_host + 7;
		if (path[0] != '/')
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "DOCKER_HOST \"%s\" must name an absolute socket path",
					       docker_host);
	}
	if (snprintf(buf, size, "%s", path) >= (int)size)
		return isol8_error_set(err, ISOL8_E_INVALID, "DOCKER_HOST \"%s\": path too long",
				       docker_host);
	return 0;
}

static void copy_string(char *dst, size_t size, const cJSON *item)
{
	snprintf(dst, size, "%s", cJSON_IsString(item) ? item->valuestring : "");
}

static void json_freep(cJSON **j)
{
	cJSON_Delete(*j);
}

/* Parses a JSON array of objects into a new array of item_size items
 * (*items, caller frees; NULL when none). parse_item fills a zeroed item
 * from one object and says whether to keep it; "what" names the list in
 * errors. */
static int parse_list(const char *json, const char *what, size_t item_size,
		      bool (*parse_item)(const cJSON *obj, void *item), void **items, size_t *n,
		      struct isol8_error *err)
{
	__attribute__((cleanup(json_freep))) cJSON *root = cJSON_Parse(json);
	const cJSON *obj;
	unsigned char *buf;
	size_t cap;

	*items = NULL;
	*n = 0;
	if (!cJSON_IsArray(root))
		return isol8_error_set(err, ISOL8_E_PROTOCOL,
				       "docker: the %s list is not a JSON array", what);
	cap = (size_t)cJSON_GetArraySize(root);
	if (cap == 0)
		return 0;
	buf = calloc(cap, item_size);
	if (buf == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	cJSON_ArrayForEach(obj, root)
	{
		void *item = buf + *n * item_size;

		if (!cJSON_IsObject(obj) || *n == cap)
			continue;
		memset(item, 0, item_size);
		if (parse_item(obj, item))
			(*n)++;
	}
	*items = buf;
	return 0;
}

static bool parse_container(const cJSON *c, void *item)
{
	struct isol8_cli_container *it = item;
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(c, "Labels");
	const cJSON *created = cJSON_GetObjectItemCaseSensitive(c, "Created");

	copy_string(it->id, sizeof(it->id), cJSON_GetObjectItemCaseSensitive(c, "Id"));
	if (it->id[0] == '\0')
		return false;
	copy_string(it->image, sizeof(it->image), cJSON_GetObjectItemCaseSensitive(c, "Image"));
	copy_string(it->state, sizeof(it->state), cJSON_GetObjectItemCaseSensitive(c, "State"));
	copy_string(it->instance, sizeof(it->instance),
		    cJSON_GetObjectItemCaseSensitive(labels, "isol8.instance"));
	copy_string(it->owner, sizeof(it->owner),
		    cJSON_GetObjectItemCaseSensitive(labels, "isol8.owner"));
	it->created = cJSON_IsNumber(created) ? (int64_t)created->valuedouble : 0;
	return true;
}

int isol8_cli_docker_parse_containers(const char *json, struct isol8_cli_containers *out,
				      struct isol8_error *err)
{
	void *items;
	int ret = parse_list(json, "container", sizeof(*out->items), parse_container, &items,
			     &out->n, err);

	out->items = items;
	return ret;
}

/* Appends the image's isol8:* tags to it->tags; false when it has none. */
static bool isol8_tags(const cJSON *tags, struct isol8_cli_image *it)
{
	const cJSON *t;
	size_t used = 0;

	cJSON_ArrayForEach(t, tags)
	{
		int w;

		if (!cJSON_IsString(t) || strncmp(t->valuestring, "isol8:", 6) != 0 ||
		    used >= sizeof(it->tags))
			continue;
		w = snprintf(it->tags + used, sizeof(it->tags) - used, "%s%s",
			     used > 0 ? ", " : "", t->valuestring);
		if (w > 0)
			used += (size_t)w;
	}
	return used > 0;
}

static bool parse_image(const cJSON *img, void *item)
{
	struct isol8_cli_image *it = item;

	copy_string(it->id, sizeof(it->id), cJSON_GetObjectItemCaseSensitive(img, "Id"));
	return it->id[0] != '\0' &&
	       isol8_tags(cJSON_GetObjectItemCaseSensitive(img, "RepoTags"), it);
}

int isol8_cli_docker_parse_images(const char *json, struct isol8_cli_images *out,
				  struct isol8_error *err)
{
	void *items;
	int ret = parse_list(json, "image", sizeof(*out->items), parse_image, &items, &out->n,
			     err);

	out->items = items;
	return ret;
}

void isol8_cli_containers_free(struct isol8_cli_containers *l)
{
	free(l->items);
	*l = (struct isol8_cli_containers){0};
}

void isol8_cli_images_free(struct isol8_cli_images *l)
{
	free(l->items);
	*l = (struct isol8_cli_images){0};
}

/* ---------------------------------------------------------------- HTTP */

/* One HTTP/1.0 exchange over the unix socket: the engine answers and
 * closes, with no chunked encoding, so the response is all that is read
 * until EOF. Plain sockets rather than libcurl: linking libcurl would load
 * two dozen libraries into every CLI call for a verb that rarely needs it. */
static int exchange(const char *socket_path, const char *request, char **response, size_t *len,
		    struct isol8_error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int64_t deadline = isol8_now_ms() + CALL_TIMEOUT_S * 1000;
	_cleanup_close_ int fd = -1;
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return isol8_error_set(err, ISOL8_E_INVALID, "docker socket path too long: %s", socket_path);
	memcpy(addr.sun_path, socket_path, strlen(socket_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return isol8_error_errno(err, ISOL8_E_UNAVAILABLE, errno, "Docker is not running or not reachable at %s",
					 socket_path);
	if (isol8_write_full(fd, request, strlen(request)) < 0)
		return isol8_error_errno(err, ISOL8_E_UNAVAILABLE, errno, "docker: sending to %s", socket_path);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - isol8_now_ms();
		ssize_t got;

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			free(buf);
			return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "docker: no answer from %s in %ld s", socket_path,
					       CALL_TIMEOUT_S);
		}
		if (n + 65536 + 1 > cap) {
			char *p;
			if (cap > ISOL8_CLI_DOCKER_MAX_BODY) {
				free(buf);
				return isol8_error_set(err, ISOL8_E_EXHAUSTED, "docker: the answer passes %u MiB",
						       ISOL8_CLI_DOCKER_MAX_BODY / (1024 * 1024));
			}
			p = realloc(buf, cap = n + 65536 + 1);
			if (p == NULL) {
				free(buf);
				return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
			}
			buf = p;
		}
		got = read(fd, buf + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			return isol8_error_errno(err, ISOL8_E_UNAVAILABLE, errno, "docker: reading from %s", socket_path);
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (buf == NULL && (buf = strdup("")) == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	buf[n] = '\0';
	*response = buf;
	*len = n;
	return 0;
}

/* One call; *body_out (may be NULL) gets the body on 2xx. */
static int call(const char *socket, const char *method, const char *path, char **body_out,
		struct isol8_error *err)
{
	_cleanup_free_ char *response = NULL;
	char request[1200];
	const char *body;
	size_t len = 0;
	int status = 0, ret;

	if ((size_t)snprintf(request, sizeof(request), "%s %s%s HTTP/1.0\r\nHost: docker\r\n\r\n", method, API,
			     path) >= sizeof(request))
		return isol8_error_set(err, ISOL8_E_INVALID, "docker: request path too long");
	ret = exchange(socket, request, &response, &len, err);
	if (ret < 0)
		return ret;
	body = strstr(response, "\r\n\r\n");
	if (sscanf(response, "HTTP/1.%*d %d", &status) != 1 || body == NULL)
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "docker: %s %s: not an HTTP answer", method, path);
	body += 4;
	if (status < 200 || status > 299) {
		/* Docker's errors are {"message": "..."}. */
		__attribute__((cleanup(json_freep))) cJSON *j = cJSON_Parse(body);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
		int code = status == 404 ? ISOL8_E_NOT_FOUND : ISOL8_E_UNAVAILABLE;

		return isol8_error_set(err, code, "docker: %s %s: HTTP %d: %s", method, path, status,
				       cJSON_IsString(m) ? m->valuestring : "no message");
	}
	if (body_out != NULL && (*body_out = strdup(body)) == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	return 0;
}

int isol8_cli_docker_list_containers(const char *socket, struct isol8_cli_containers *out,
				     struct isol8_error *err)
{
	/* filters={"label":["isol8.managed=true"]}, URL-encoded */
	_cleanup_free_ char *body = NULL;
	int ret = call(socket, "GET",
		       "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22isol8.managed%3Dtrue%"
		       "22%5D%7D",
		       &body, err);

	if (ret < 0)
		return ret;
	return isol8_cli_docker_parse_containers(body, out, err);
}

int isol8_cli_docker_list_images(const char *socket, struct isol8_cli_images *out,
				 struct isol8_error *err)
{
	_cleanup_free_ char *body = NULL;
	int ret = call(socket, "GET", "/images/json", &body, err);

	if (ret < 0)
		return ret;
	return isol8_cli_docker_parse_images(body, out, err);
}

/* Ids come from Docker's own lists; anything else is refused, not sent. */
static int check_id(const char *id, struct isol8_error *err)
{
	const char *p = strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
	size_t hex = strspn(p, "0123456789abcdef");

	if (hex == 0 || p[hex] != '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "docker: \"%s\" is not an id", id);
	return 0;
}

/* DELETE /<collection>/<id><query>, for an id check_id accepts. */
static int remove_object(const char *socket, const char *collection, const char *id, const char *query,
			 struct isol8_error *err)
{
	char path[160];
	int ret = check_id(id, err);

	if (ret < 0)
		return ret;
	if (snprintf(path, sizeof(path), "/%s/%s%s", collection, id, query) >= (int)sizeof(path))
		return isol8_error_set(err, ISOL8_E_INVALID, "docker: id \"%s\" is too long", id);
	return call(socket, "DELETE", path, NULL, err);
}

int isol8_cli_docker_remove_container(const char *socket, const char *id,
				      struct isol8_error *err)
{
	return remove_object(socket, "containers", id, "?force=1&v=1", err);
}

int isol8_cli_docker_remove_image(const char *socket, const char *id, struct isol8_error *err)
{
	return remove_object(socket, "images", id, "?force=1", err);
}
