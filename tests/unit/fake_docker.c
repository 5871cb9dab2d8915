/* The fake Docker Engine: see fake_docker.h. */
#define _GNU_SOURCE
#include "fake_docker.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static size_t content_length(const char *head)
{
	const char *p = strcasestr(head, "\r\nContent-Length:");

	return p ? strtoul(p + 17, NULL, 10) : 0;
}

/* Reads one request (head and body) into buf. */
static void read_request(int fd, char *buf, size_t size)
{
	size_t len = 0, want = 0;
	char *end = NULL;

	buf[0] = '\0';
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL)
			want = (size_t)(end + 4 - buf) + content_length(buf);
		if (end != NULL && len >= want)
			break;
	}
}

static struct fake_route *match(struct fake_docker *f, const char *request)
{
	char method[16] = "", path[2048] = "";

	if (sscanf(request, "%15s %2047s", method, path) != 2)
		return NULL;
	for (size_t i = 0; i < f->n_routes; i++)
		if (strcmp(f->routes[i].method, method) == 0 && strstr(path, f->routes[i].path) != NULL)
			return &f->routes[i];
	return NULL;
}

static void answer(struct fake_docker *f, int fd)
{
	static char request[65536];
	char head[256];
	struct fake_route *r;
	const char *body;
	int status;

	read_request(fd, request, sizeof(request));
	r = match(f, request);
	if (r != NULL)
		atomic_fetch_add(&r->hits, 1);
	else
		atomic_fetch_add(&f->unmatched, 1);
	status = r ? r->status : 404;
	body = r ? (r->body ? r->body : "") : "{\"message\":\"no such route\"}";
	snprintf(head, sizeof(head), "HTTP/1.1 %d Fake\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n", status, strlen(body));
	if (send(fd, head, strlen(head), MSG_NOSIGNAL) >= 0 && body[0] != '\0')
		send(fd, body, strlen(body), MSG_NOSIGNAL);
}

static void *serve(void *arg)
{
	struct fake_docker *f = arg;

	while (!atomic_load(&f->stop)) {
		struct pollfd p = {f->listen_fd, POLLIN, 0};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		answer(f, fd);
		close(fd);
	}
	return NULL;
}

int fake_docker_start(struct fake_docker *f, const char *dir, const char *name)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	memset(f, 0, sizeof(*f));
	if ((size_t)snprintf(f->path, sizeof(f->path), "%s/%s", dir, name) >= sizeof(addr.sun_path))
		return -1;
	memcpy(addr.sun_path, f->path, strlen(f->path) + 1);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(f->listen_fd, 16) < 0)
		return -1;
	return pthread_create(&f->thread, NULL, serve, f) == 0 ? 0 : -1;
}

void fake_docker_route(struct fake_docker *f, const char *method, const char *path, int status, const char *body)
{
	if (f->n_routes == FAKE_DOCKER_ROUTES)
		abort(); /* a test's bug */
	f->routes[f->n_routes++] = (struct fake_route){method, path, status, body, 0};
}

int fake_docker_hits(struct fake_docker *f, const char *method, const char *path)
{
	for (size_t i = 0; i < f->n_routes; i++)
		if (strcmp(f->routes[i].method, method) == 0 && strcmp(f->routes[i].path, path) == 0)
			return atomic_load(&f->routes[i].hits);
	return -1;
}

void fake_docker_stop(struct fake_docker *f)
{
	atomic_store(&f->stop, true);
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
	unlink(f->path);
}
