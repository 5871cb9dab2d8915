/*
 * Unit tests of the Docker client (server/docker): the container spec JSON,
 * the build-context tar writer, DOCKER_HOST handling, and the HTTP layer
 * against a fake engine: a thread on a unix socket answering one canned
 * response per connection.
 */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker/docker.h"
#include "docker/docker_internal.h"
#include "runner.h"
#include "docker/seccomp.h"
#include "docker/tar.h"

/* ---- helpers ---- */

static const char *json_str(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static void assert_string_array(const cJSON *obj, const char *name, const char *const *expected)
{
	const cJSON *array = cJSON_GetObjectItemCaseSensitive(obj, name);
	size_t n = 0;

	CU_ASSERT_FATAL(cJSON_IsArray(array));
	while (expected[n] != NULL)
		n++;
	CU_ASSERT_EQUAL(cJSON_GetArraySize(array), (int)n);
	for (size_t i = 0; i < n; i++) {
		const cJSON *item = cJSON_GetArrayItem(array, (int)i);
		CU_ASSERT(cJSON_IsString(item) && strcmp(item->valuestring, expected[i]) == 0);
	}
}

static double json_num(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	CU_ASSERT(cJSON_IsNumber(item));
	return cJSON_IsNumber(item) ? item->valuedouble : -1;
}

/* ---- container spec -> JSON ---- */

static const char *const entrypoint[] = {"/.isol8/agent", "--serve", NULL};
static const char *const command[] = {"python3", NULL};
static const char *const env[] = {"HOME=/sandbox", "LANG=C.UTF-8", NULL};
static const char *const binds[] = {"/run/isol8/s1:/.isol8/run", "/opt/isol8/agent:/.isol8/agent:ro", NULL};
static const char *const cap_add[] = {"SETUID", "SETGID", NULL};
static const struct isol8_tmpfs tmpfs[] = {{"/sandbox", "rw,exec,size=512m"}, {"/tmp", "rw,noexec,size=64m"}};
static const struct isol8_label labels[] = {{"isol8.sandbox", "1"}, {"isol8.pool", "python"}};
static const struct isol8_ulimit ulimits[] = {{"nofile", 1024, 4096}, {"core", 0, 0}};

static struct isol8_container_spec full_spec(void)
{
	struct isol8_container_spec spec = {
		.image = "isol8/python:1", .name = "isol8-s1", .entrypoint = entrypoint, .cmd = command, .env = env,
		.user = "0:0", .working_dir = "/sandbox", .binds = binds, .tmpfs = tmpfs, .n_tmpfs = 2,
		.memory_bytes = 512ll << 20, .memory_swap_bytes = 512ll << 20, .nano_cpus = 1500000000,
		.pids_limit = 128, .readonly_rootfs = true, .network_mode = "none", .no_new_privileges = true,
		.seccomp = isol8_seccomp_strict_profile, .cap_drop_all = true, .cap_add = cap_add,
		.labels = labels, .n_labels = 2, .network_disabled = true, .ulimits = ulimits, .n_ulimits = 2,
	};
	return spec;
}

static void test_spec_json_full(void)
{
	struct isol8_container_spec spec = full_spec();
	struct isol8_error err = ISOL8_ERROR_INIT;
	char *text = isol8_docker_container_spec_json(&spec, &err);
	cJSON *json, *host, *obj;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	json = cJSON_Parse(text);
	free(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	CU_ASSERT_STRING_EQUAL(json_str(json, "Image"), "isol8/python:1");
	CU_ASSERT_PTR_NULL(cJSON_GetObjectItemCaseSensitive(json, "name")); /* the name goes in the query */
	assert_string_array(json, "Entrypoint", entrypoint);
	assert_string_array(json, "Cmd", command);
	assert_string_array(json, "Env", env);
	CU_ASSERT_STRING_EQUAL(json_str(json, "User"), "0:0");
	CU_ASSERT_STRING_EQUAL(json_str(json, "WorkingDir"), "/sandbox");
	CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json, "NetworkDisabled")));
	obj = cJSON_GetObjectItemCaseSensitive(json, "Labels");
	CU_ASSERT_EQUAL(cJSON_GetArraySize(obj), 2);
	CU_ASSERT_STRING_EQUAL(json_str(obj, "isol8.sandbox"), "1");
	CU_ASSERT_STRING_EQUAL(json_str(obj, "isol8.pool"), "python");

	host = cJSON_GetObjectItemCaseSensitive(json, "HostConfig");
	CU_ASSERT_FATAL(cJSON_IsObject(host));
	assert_string_array(host, "Binds", binds);
	obj = cJSON_GetObjectItemCaseSensitive(host, "Tmpfs");
	CU_ASSERT_EQUAL(cJSON_GetArraySize(obj), 2);
	CU_ASSERT_STRING_EQUAL(json_str(obj, "/sandbox"), "rw,exec,size=512m");
	CU_ASSERT_STRING_EQUAL(json_str(obj, "/tmp"), "rw,noexec,size=64m");
	obj = cJSON_GetObjectItemCaseSensitive(host, "Ulimits");
	CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(obj), 2);
	CU_ASSERT_STRING_EQUAL(json_str(cJSON_GetArrayItem(obj, 0), "Name"), "nofile");
	CU_ASSERT_EQUAL(json_num(cJSON_GetArrayItem(obj, 0), "Soft"), 1024.0);
	CU_ASSERT_EQUAL(json_num(cJSON_GetArrayItem(obj, 0), "Hard"), 4096.0);
	CU_ASSERT_STRING_EQUAL(json_str(cJSON_GetArrayItem(obj, 1), "Name"), "core");
	CU_ASSERT_EQUAL(json_num(cJSON_GetArrayItem(obj, 1), "Hard"), 0.0);
	CU_ASSERT_EQUAL(json_num(host, "Memory"), 536870912.0);
	CU_ASSERT_EQUAL(json_num(host, "MemorySwap"), 536870912.0);
	CU_ASSERT_EQUAL(json_num(host, "NanoCpus"), 1500000000.0);
	CU_ASSERT_EQUAL(json_num(host, "PidsLimit"), 128.0);
	CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(host, "ReadonlyRootfs")));
	CU_ASSERT_STRING_EQUAL(json_str(host, "NetworkMode"), "none");
	assert_string_array(host, "CapDrop", (const char *const[]){"ALL", NULL});
	assert_string_array(host, "CapAdd", cap_add);

	obj = cJSON_GetObjectItemCaseSensitive(host, "SecurityOpt");
	CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(obj), 2);
	CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(obj, 0)->valuestring, "no-new-privileges");
	const char *seccomp = cJSON_GetArrayItem(obj, 1)->valuestring;
	CU_ASSERT(strncmp(seccomp, "seccomp=", 8) == 0);
	CU_ASSERT_STRING_EQUAL(seccomp + 8, isol8_seccomp_strict_profile);
	cJSON_Delete(json);
}

static void test_spec_json_minimal(void)
{
	struct isol8_container_spec spec = {.image = "img"};
	char *text = isol8_docker_container_spec_json(&spec, NULL);
	cJSON *json, *host;

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	json = cJSON_Parse(text);
	free(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	/* Image and an empty HostConfig, nothing else */
	CU_ASSERT_EQUAL(cJSON_GetArraySize(json), 2);
	CU_ASSERT_STRING_EQUAL(json_str(json, "Image"), "img");
	host = cJSON_GetObjectItemCaseSensitive(json, "HostConfig");
	CU_ASSERT(cJSON_IsObject(host) && cJSON_GetArraySize(host) == 0);
	cJSON_Delete(json);

	/* seccomp "unconfined" alone, without no-new-privileges */
	spec.seccomp = "unconfined";
	text = isol8_docker_container_spec_json(&spec, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	json = cJSON_Parse(text);
	free(text);
	assert_string_array(cJSON_GetObjectItemCaseSensitive(json, "HostConfig"), "SecurityOpt",
			    (const char *const[]){"seccomp=unconfined", NULL});
	cJSON_Delete(json);
}

static void test_spec_json_invalid(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_container_spec spec = {.image = ""};

	CU_ASSERT_PTR_NULL(isol8_docker_container_spec_json(&spec, &err));
	CU_ASSERT_EQUAL(err.code, ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "image"));

	isol8_error_clear(&err);
	spec = full_spec();
	spec.memory_bytes = INT64_MAX;
	CU_ASSERT_PTR_NULL(isol8_docker_container_spec_json(&spec, &err));
	CU_ASSERT_EQUAL(err.code, ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "memory_bytes"));

	isol8_error_clear(&err);
	spec = full_spec();
	spec.ulimits = (const struct isol8_ulimit[]){{"nofile", 8192, 4096}};
	spec.n_ulimits = 1;
	CU_ASSERT_PTR_NULL(isol8_docker_container_spec_json(&spec, &err));
	CU_ASSERT_EQUAL(err.code, ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "nofile"));
}

static bool names_contain(const cJSON *syscalls, const char *name, const char *action)
{
	const cJSON *rule, *n;

	cJSON_ArrayForEach(rule, syscalls) {
		if (action && strcmp(json_str(rule, "action"), action) != 0)
			continue;
		cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(rule, "names"))
			if (strcmp(n->valuestring, name) == 0)
				return true;
	}
	return false;
}

static void test_seccomp_profile(void)
{
	cJSON *json = cJSON_Parse(isol8_seccomp_strict_profile);
	cJSON *syscalls;

	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	CU_ASSERT_STRING_EQUAL(json_str(json, "defaultAction"), "SCMP_ACT_ALLOW");
	CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(json, "archMap")), 2);
	syscalls = cJSON_GetObjectItemCaseSensitive(json, "syscalls");
	for (const char *const *n = (const char *const[]){"mount", "unshare", "setns", "bpf", "ptrace",
							   "io_uring_setup", "kexec_load", "clone", NULL};
	     *n; n++)
		CU_ASSERT(names_contain(syscalls, *n, "SCMP_ACT_ERRNO"));
	CU_ASSERT(names_contain(syscalls, "socket", "SCMP_ACT_ERRNO"));
	CU_ASSERT(names_contain(syscalls, "socketpair", "SCMP_ACT_ERRNO"));
	CU_ASSERT(!names_contain(syscalls, "personality", NULL));
	CU_ASSERT(!names_contain(syscalls, "read", NULL));
	cJSON_Delete(json);
}

/* ---- tar writer ---- */

static char tmp_dir[64];

static int make_tmp_dir(void)
{
	strcpy(tmp_dir, "/tmp/isol8-test-docker-XXXXXX");
	return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *run_capture(const char *cmd)
{
	static char out[8192];
	FILE *p = popen(cmd, "r");
	size_t n;

	if (p == NULL)
		return NULL;
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	return pclose(p) == 0 ? out : NULL;
}

static void write_archive(const struct isol8_build_file *files, size_t n, char *path, size_t size)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	void *buf = NULL;
	size_t len = 0;
	FILE *f;

	CU_ASSERT_EQUAL_FATAL(isol8_tar_write(files, n, &buf, &len, &err), 0);
	CU_ASSERT_EQUAL(len % 512, 0);
	snprintf(path, size, "%s/context.tar", tmp_dir);
	f = fopen(path, "we");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
}

static void test_tar_readable(void)
{
	static char long_name[160];
	static const char probe[] = "\x7f" "ELF pretend binary";
	static const char dockerfile[] = "FROM scratch\nCOPY probe /probe\n";
	char path[128], cmd[512], expect[512];
	const char *listing;

	/* 60 + '/' + 90 chars: needs the ustar prefix field */
	memset(long_name, 'd', 60);
	long_name[60] = '/';
	memset(long_name + 61, 'f', 90);
	long_name[151] = '\0';
	const struct isol8_build_file files[] = {
		{.name = "Dockerfile", .data = dockerfile, .len = strlen(dockerfile)},
		{.name = "bin/probe", .data = probe, .len = sizeof(probe) - 1, .mode = 0755},
		{.name = "empty", .data = NULL, .len = 0, .mode = 0600},
		{.name = long_name, .data = "x", .len = 1},
	};
	write_archive(files, 4, path, sizeof(path));

	snprintf(cmd, sizeof(cmd), "tar --numeric-owner -tvf '%s'", path);
	listing = run_capture(cmd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(listing);
	CU_ASSERT_PTR_NOT_NULL(strstr(listing, "-rw-r--r-- 0/0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(listing, "-rwxr-xr-x 0/0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(listing, "-rw------- 0/0"));
	snprintf(expect, sizeof(expect), " %zu 1970-01-01 00:00 Dockerfile\n", strlen(dockerfile));
	CU_ASSERT_PTR_NOT_NULL(strstr(listing, expect));
	snprintf(expect, sizeof(expect), " %zu 1970-01-01 00:00 bin/probe\n", sizeof(probe) - 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(listing, expect));
	CU_ASSERT_PTR_NOT_NULL(strstr(listing, " 0 1970-01-01 00:00 empty\n"));
	snprintf(expect, sizeof(expect), " 1 1970-01-01 00:00 %s\n", long_name);
	CU_ASSERT_PTR_NOT_NULL(strstr(listing, expect));

	snprintf(cmd, sizeof(cmd), "tar -xOf '%s' Dockerfile", path);
	listing = run_capture(cmd);
	CU_ASSERT(listing != NULL && strcmp(listing, dockerfile) == 0);
}

static void test_tar_bad_names(void)
{
	static char too_long[300];
	static const char *const bad[] = {"", "/etc/passwd", "../x", "a/../../b", "a/..", too_long};
	struct isol8_error err = ISOL8_ERROR_INIT;
	void *buf;
	size_t len;

	memset(too_long, 'n', sizeof(too_long) - 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct isol8_build_file f = {.name = bad[i], .data = "x", .len = 1};
		isol8_error_clear(&err);
		CU_ASSERT_EQUAL(isol8_tar_write(&f, 1, &buf, &len, &err), -ISOL8_E_INVALID);
		CU_ASSERT_EQUAL(err.code, ISOL8_E_INVALID);
		CU_ASSERT_PTR_NULL(buf);
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "does not fit a tar header"));

	/* "..name" is a plain file name, not a parent reference */
	struct isol8_build_file ok = {.name = "a/..name", .data = "x", .len = 1};
	CU_ASSERT_EQUAL(isol8_tar_write(&ok, 1, &buf, &len, NULL), 0);
	free(buf);
}

/* ---- DOCKER_HOST and the socket ---- */

static void test_docker_host(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_docker *d = NULL;
	const char *path = NULL;

	CU_ASSERT_EQUAL(isol8_docker_host_socket(NULL, &path, &err), 0);
	CU_ASSERT_STRING_EQUAL(path, "/var/run/docker.sock");
	CU_ASSERT_EQUAL(isol8_docker_host_socket("unix:///run/user/1000/docker.sock", &path, &err), 0);
	CU_ASSERT_STRING_EQUAL(path, "/run/user/1000/docker.sock");

	CU_ASSERT_EQUAL(isol8_docker_host_socket("tcp://127.0.0.1:2375", &path, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "\"tcp\""));
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_docker_host_socket("unix://relative.sock", &path, &err), -ISOL8_E_INVALID);
	isol8_error_clear(&err);

	setenv("DOCKER_HOST", "ssh://user@host", 1);
	CU_ASSERT_EQUAL(isol8_docker_new(&d, NULL, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NULL(d);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "\"ssh\""));
	isol8_error_clear(&err);

	setenv("DOCKER_HOST", "unix:///tmp/other-docker.sock", 1);
	CU_ASSERT_EQUAL_FATAL(isol8_docker_new(&d, NULL, &err), 0);
	CU_ASSERT_STRING_EQUAL(isol8_docker_socket_path(d), "/tmp/other-docker.sock");
	isol8_docker_free(d);

	/* an explicit path wins over DOCKER_HOST */
	CU_ASSERT_EQUAL_FATAL(isol8_docker_new(&d, "/tmp/explicit.sock", &err), 0);
	CU_ASSERT_STRING_EQUAL(isol8_docker_socket_path(d), "/tmp/explicit.sock");
	isol8_docker_free(d);
	unsetenv("DOCKER_HOST");
}

static void test_ping_unreachable(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_docker *d = NULL;
	char path[128];

	snprintf(path, sizeof(path), "%s/no-such.sock", tmp_dir);
	CU_ASSERT_EQUAL_FATAL(isol8_docker_new(&d, path, &err), 0);
	CU_ASSERT_EQUAL(isol8_docker_ping(d, &err), -ISOL8_E_UNAVAILABLE);
	CU_ASSERT_EQUAL(err.code, ISOL8_E_UNAVAILABLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "No such file or directory"));
	isol8_docker_free(d);
}

/* ---- a fake engine ---- */

struct fake_engine {
	char path[128];
	int listen_fd;
	pthread_t thread;
	const char *response; /* sent as is */
	size_t filler;        /* then this many 'x' bytes */
	char request[16384];  /* what the client sent: head and body */
	size_t request_len;
};

static size_t content_length(const char *head)
{
	const char *p = strcasestr(head, "\r\nContent-Length:");

	return p ? strtoul(p + 17, NULL, 10) : 0;
}

static void read_request(struct fake_engine *f, int fd)
{
	char *end = NULL;
	size_t want = 0;

	while (f->request_len < sizeof(f->request) - 1) {
		ssize_t n = read(fd, f->request + f->request_len, sizeof(f->request) - 1 - f->request_len);
		if (n <= 0)
			break;
		f->request_len += (size_t)n;
		f->request[f->request_len] = '\0';
		if (end == NULL && (end = strstr(f->request, "\r\n\r\n")) != NULL)
			want = (size_t)(end + 4 - f->request) + content_length(f->request);
		if (end != NULL && f->request_len >= want)
			break;
	}
}

static void *fake_engine_serve(void *arg)
{
	struct fake_engine *f = arg;
	static char chunk[65536];
	int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return NULL;
	read_request(f, fd);
	if (send(fd, f->response, strlen(f->response), MSG_NOSIGNAL) >= 0) {
		memset(chunk, 'x', sizeof(chunk));
		for (size_t left = f->filler; left > 0;) {
			size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
			ssize_t w = send(fd, chunk, n, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			left -= (size_t)w;
		}
	}
	close(fd);
	return NULL;
}

static struct isol8_docker *fake_engine_start(struct fake_engine *f, const char *response, size_t filler)
{
	static int serial;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct isol8_docker *d = NULL;

	memset(f, 0, sizeof(*f));
	f->response = response;
	f->filler = filler;
	snprintf(f->path, sizeof(f->path), "%s/engine%d.sock", tmp_dir, serial++);
	strcpy(addr.sun_path, f->path);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(f->listen_fd >= 0);
	CU_ASSERT_FATAL(bind(f->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	CU_ASSERT_FATAL(listen(f->listen_fd, 1) == 0);
	CU_ASSERT_FATAL(pthread_create(&f->thread, NULL, fake_engine_serve, f) == 0);
	CU_ASSERT_FATAL(isol8_docker_new(&d, f->path, NULL) == 0);
	return d;
}

static void fake_engine_stop(struct fake_engine *f, struct isol8_docker *d)
{
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
	unlink(f->path);
	isol8_docker_free(d);
}

static const char *request_body(const struct fake_engine *f)
{
	const char *end = strstr(f->request, "\r\n\r\n");

	return end ? end + 4 : "";
}

static char *http_response(const char *status, const char *body)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf),
		 "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 status, strlen(body), body);
	return buf;
}

static void test_fake_error_message(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct fake_engine f;
	struct isol8_docker *d;

	d = fake_engine_start(&f, http_response("500 Internal Server Error",
						"{\"message\":\"OCI runtime create failed: boom\"}"), 0);
	CU_ASSERT(isol8_docker_container_start(d, "abc", &err) < 0);
	fake_engine_stop(&f, d);
	CU_ASSERT_EQUAL(err.code, ISOL8_E_IO);
	CU_ASSERT_STRING_EQUAL(err.message, "docker: OCI runtime create failed: boom");
	CU_ASSERT(strncmp(f.request, "POST /v1.41/containers/abc/start HTTP/1.1\r\n", 43) == 0);

	isol8_error_clear(&err);
	d = fake_engine_start(&f, http_response("404 Not Found", "{\"message\":\"No such container: abc\"}"), 0);
	CU_ASSERT_EQUAL(isol8_docker_container_inspect(d, "abc", &(struct isol8_docker_container_state){0}, &err),
			-ISOL8_E_NOT_FOUND);
	fake_engine_stop(&f, d);
	CU_ASSERT_STRING_EQUAL(err.message, "docker: No such container: abc");
}

static void test_fake_tolerated_statuses(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct fake_engine f;
	struct isol8_docker *d;

	d = fake_engine_start(&f, http_response("409 Conflict", "{\"message\":\"Container abc is not running\"}"), 0);
	CU_ASSERT_EQUAL(isol8_docker_container_kill(d, "abc", "SIGKILL", &err), 0);
	fake_engine_stop(&f, d);
	CU_ASSERT(strncmp(f.request, "POST /v1.41/containers/abc/kill?signal=SIGKILL ", 47) == 0);

	d = fake_engine_start(&f, http_response("404 Not Found", "{\"message\":\"No such container: abc\"}"), 0);
	CU_ASSERT_EQUAL(isol8_docker_container_remove(d, "abc", true, &err), 0);
	fake_engine_stop(&f, d);
	CU_ASSERT(strncmp(f.request, "DELETE /v1.41/containers/abc?force=1&v=1 ", 41) == 0);
	CU_ASSERT_EQUAL(err.code, 0);

	/* a 409 on remove that is not a concurrent removal is an error */
	d = fake_engine_start(&f, http_response("409 Conflict", "{\"message\":\"You cannot remove a running container\"}"), 0);
	CU_ASSERT_EQUAL(isol8_docker_container_remove(d, "abc", false, &err), -ISOL8_E_PRECONDITION);
	fake_engine_stop(&f, d);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "You cannot remove a running container"));
}

static void test_fake_body_limit(void)
{
	static char head[256];
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct fake_engine f;
	struct isol8_docker *d;

	/* announced by Content-Length */
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %u\r\n\r\n",
		 ISOL8_DOCKER_MAX_BODY + 1);
	d = fake_engine_start(&f, head, ISOL8_DOCKER_MAX_BODY + 1);
	CU_ASSERT_EQUAL(isol8_docker_version(d, &(struct isol8_docker_version){{0}}, &err), -ISOL8_E_PROTOCOL);
	fake_engine_stop(&f, d);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "exceeds 8388608 bytes"));

	/* unannounced: the body just keeps coming until the connection closes */
	isol8_error_clear(&err);
	d = fake_engine_start(&f, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
			      ISOL8_DOCKER_MAX_BODY + 1);
	CU_ASSERT_EQUAL(isol8_docker_version(d, &(struct isol8_docker_version){{0}}, &err), -ISOL8_E_PROTOCOL);
	fake_engine_stop(&f, d);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "exceeds 8388608 bytes"));

	/* exactly at the limit is fine as far as size goes (then it is not JSON) */
	isol8_error_clear(&err);
	d = fake_engine_start(&f, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", ISOL8_DOCKER_MAX_BODY);
	CU_ASSERT_EQUAL(isol8_docker_version(d, &(struct isol8_docker_version){{0}}, &err), -ISOL8_E_PROTOCOL);
	fake_engine_stop(&f, d);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no valid JSON"));
}

static void list_collect(const char *id, const char *name, void *userdata)
{
	char *seen = userdata;

	snprintf(seen + strlen(seen), 256 - strlen(seen), "%s:%s;", id, name);
}

static void test_fake_version_and_list(void)
{
	struct isol8_docker_version v;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct fake_engine f;
	struct isol8_docker *d;
	char seen[256] = "";

	d = fake_engine_start(&f, http_response("200 OK", "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\"}"), 0);
	CU_ASSERT_EQUAL(isol8_docker_version(d, &v, &err), 0);
	fake_engine_stop(&f, d);
	CU_ASSERT_STRING_EQUAL(v.version, "20.10.24");
	CU_ASSERT_STRING_EQUAL(v.api_version, "1.41");
	CU_ASSERT(strncmp(f.request, "GET /v1.41/version HTTP/1.1\r\n", 29) == 0);

	d = fake_engine_start(&f, http_response("200 OK", "[{\"Id\":\"aaa\",\"Names\":[\"/one\"]},{\"Id\":\"bbb\",\"Names\":[]}]"),
			      0);
	CU_ASSERT_EQUAL(isol8_docker_container_list(d, "isol8.sandbox=1", list_collect, seen, &err), 0);
	fake_engine_stop(&f, d);
	CU_ASSERT_STRING_EQUAL(seen, "aaa:one;bbb:;");
	CU_ASSERT(strncmp(f.request,
			  "GET /v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22isol8.sandbox%3D1%22%5D%7D ",
			  90) == 0);
}

static void test_fake_create(void)
{
	static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct isol8_container_spec spec = full_spec();
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct fake_engine f;
	struct isol8_docker *d;
	char got[65];
	cJSON *body;

	d = fake_engine_start(&f, http_response("201 Created", "{\"Id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"Warnings\":[]}"), 0);
	CU_ASSERT_EQUAL(isol8_docker_container_create(d, &spec, got, &err), 0);
	fake_engine_stop(&f, d);
	CU_ASSERT_STRING_EQUAL(got, id);
	CU_ASSERT(strncmp(f.request, "POST /v1.41/containers/create?name=isol8-s1 HTTP/1.1\r\n", 54) == 0);
	CU_ASSERT_PTR_NOT_NULL(strcasestr(f.request, "\r\nContent-Type: application/json\r\n"));
	body = cJSON_Parse(request_body(&f));
	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	CU_ASSERT_STRING_EQUAL(json_str(body, "Image"), "isol8/python:1");
	cJSON_Delete(body);

	/* an engine answering with something that is not a container id */
	d = fake_engine_start(&f, http_response("201 Created", "{\"Id\":\"short\"}"), 0);
	CU_ASSERT_EQUAL(isol8_docker_container_create(d, &spec, got, &err), -ISOL8_E_PROTOCOL);
	fake_engine_stop(&f, d);
}

static void collect_progress(const char *line, void *userdata)
{
	strncat(userdata, line, 255 - strlen(userdata));
	strncat(userdata, "|", 255 - strlen(userdata));
}

static void test_fake_build_stream(void)
{
	static const char stream[] =
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
		"{\"stream\":\"Step 1/2 : FROM scratch\\n\"}\r\n"
		"{\"stream\":\" ---\\u003e Running\\nsecond line\\n\"}\r\n"
		"{\"status\":\"Pulling\"}\r\n"
		"{\"stream\":\"\\u001b[91mfrom stderr\\u001b[0m\\u0007\\n\"}\r\n"
		"{\"errorDetail\":{\"message\":\"unknown instruction: BOGUS\"},\"error\":\"unknown instruction: BOGUS\"}\r\n";
	static const struct isol8_build_file files[] = {{.name = "Dockerfile", .data = "FROM scratch\n", .len = 13}};
	static const struct isol8_label label[] = {{"isol8.runtime", "python"}};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct fake_engine f;
	struct isol8_docker *d;
	char progress[256] = "";

	d = fake_engine_start(&f, stream, 0);
	CU_ASSERT_EQUAL(isol8_docker_image_build(d, "isol8/python:1", files, 1, label, 1, NULL, 0, collect_progress,
						 progress, &err),
			-ISOL8_E_IO);
	fake_engine_stop(&f, d);
	CU_ASSERT_STRING_EQUAL(progress, "Step 1/2 : FROM scratch| ---> Running|second line|Pulling|from stderr|");
	CU_ASSERT_STRING_EQUAL(err.message, "docker: build of \"isol8/python:1\" failed: unknown instruction: BOGUS");
	CU_ASSERT(strncmp(f.request,
			  "POST /v1.41/build?t=isol8%2Fpython%3A1&rm=1&forcerm=1&labels=%7B%22isol8.runtime%22%3A%22python%22%7D&buildargs=%7B%7D ",
			  117) == 0);
	CU_ASSERT_PTR_NOT_NULL(strcasestr(f.request, "\r\nContent-Type: application/x-tar\r\n"));
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"spec JSON carries every field", test_spec_json_full},
		{"spec JSON leaves unset fields out", test_spec_json_minimal},
		{"spec JSON rejects bad specs", test_spec_json_invalid},
		{"embedded seccomp profile", test_seccomp_profile},
		{"tar output is readable by tar", test_tar_readable},
		{"tar refuses bad names", test_tar_bad_names},
		{"DOCKER_HOST", test_docker_host},
		{"ping without a socket is UNAVAILABLE", test_ping_unreachable},
		{"engine error message", test_fake_error_message},
		{"kill 409 and remove 404 succeed", test_fake_tolerated_statuses},
		{"over-limit body refused", test_fake_body_limit},
		{"version and list", test_fake_version_and_list},
		{"container create", test_fake_create},
		{"build progress and error", test_fake_build_stream},
	};

	return isol8_test_run("docker", make_tmp_dir, remove_tmp_dir, tests, ISOL8_TESTS_LEN(tests));
}
