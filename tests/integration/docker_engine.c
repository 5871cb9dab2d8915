/*
 * Integration test of the Docker client against the real engine
 * ($DOCKER_HOST or /var/run/docker.sock; it must be running).
 * Usage: integration_docker PROBE  (PROBE: the static docker_probe binary)
 *
 * Builds a FROM-scratch image holding the probe, runs sandbox-like
 * containers from it and removes everything it made. Names carry the pid so
 * parallel runs do not collide.
 */
#define _GNU_SOURCE
#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "docker/docker.h"
#include "docker/seccomp.h"
#include "docker/tar.h"

static const char *probe_path;
static char *probe_data;
static size_t probe_len;
static struct isol8_docker *docker;
static char tag[64], label_value[64], label_filter[96], container_name[64];
static char image_id[128];
static char container_id[65];

/* ---- helpers ---- */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	char *buf = NULL;
	long size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)size)) != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		buf = NULL;
	}
	if (buf != NULL)
		*len = (size_t)size;
	fclose(f);
	return buf;
}

static void count_line(const char *line, void *userdata)
{
	(void)line;
	(*(int *)userdata)++;
}

static int build_probe_image(const char *dockerfile, const char *image_tag, int *lines, struct isol8_error *err)
{
	const struct isol8_build_file files[] = {
		{.name = "Dockerfile", .data = dockerfile, .len = strlen(dockerfile)},
		{.name = "bin/probe", .data = probe_data, .len = probe_len, .mode = 0755},
	};
	const struct isol8_label labels[] = {{"isol8.test", label_value}};
	const struct isol8_label args[] = {{"GREETING", "hello"}};

	return isol8_docker_image_build(docker, image_tag, files, 2, labels, 1, args, 1, count_line, lines, err);
}

static struct isol8_container_spec sandbox_spec(const char *const *entrypoint, const char *seccomp)
{
	static const struct isol8_tmpfs tmpfs[] = {{"/tmp", "rw,noexec,size=16m"}, {"/sandbox", "rw,exec,size=32m"}};
	static const char *const env[] = {"HOME=/sandbox", NULL};
	static struct isol8_label labels[2];

	labels[0] = (struct isol8_label){"isol8.test", label_value};
	labels[1] = (struct isol8_label){"isol8.kind", "sandbox"};
	struct isol8_container_spec spec = {
		.image = tag, .entrypoint = entrypoint, .env = env, .user = "0:0", .working_dir = "/sandbox",
		.tmpfs = tmpfs, .n_tmpfs = 2, .memory_bytes = 64 << 20, .memory_swap_bytes = 64 << 20,
		.nano_cpus = 500000000, .pids_limit = 16, .readonly_rootfs = true, .network_mode = "none",
		.no_new_privileges = true, .seccomp = seccomp, .cap_drop_all = true, .labels = labels,
		.n_labels = 2, .network_disabled = true,
	};
	return spec;
}

/* Polls until the container stops; 0 when it did within timeout_ms. */
static int wait_stopped(const char *id, struct isol8_docker_container_state *state, int timeout_ms)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		if (isol8_docker_container_inspect(docker, id, state, &err) < 0)
			return -1;
		if (!state->running)
			return 0;
		usleep(20000);
	}
	return -1;
}

struct found {
	const char *want;
	bool seen;
	char name[128];
};

static void find_id(const char *id, const char *name, void *userdata)
{
	struct found *f = userdata;

	if (strcmp(id, f->want) == 0) {
		f->seen = true;
		snprintf(f->name, sizeof(f->name), "%s", name);
	}
}

/* ---- tests, in order ---- */

static void test_ping_version(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_docker_version v;

	CU_ASSERT_EQUAL_FATAL(isol8_docker_ping(docker, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_docker_version(docker, &v, &err), 0);
	CU_ASSERT(v.version[0] != '\0');
	CU_ASSERT(strncmp(v.api_version, "1.", 2) == 0 && atoi(v.api_version + 2) >= 41);
	printf("\n  engine %s, API %s ", v.version, v.api_version);
}

static void *ping_many(void *arg)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_docker_version v;
	intptr_t failures = 0;

	(void)arg;
	for (int i = 0; i < 25; i++)
		if (isol8_docker_ping(docker, &err) < 0 || isol8_docker_version(docker, &v, &err) < 0)
			failures++;
	return (void *)failures;
}

static void test_threads_share_client(void)
{
	pthread_t threads[4];
	void *failures;

	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i], NULL, ping_many, NULL), 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], &failures);
		CU_ASSERT_PTR_NULL(failures);
	}
}

static void test_build_and_inspect_image(void)
{
	static const char dockerfile[] = "FROM scratch\n"
					 "ARG GREETING\n"
					 "LABEL isol8.greeting=$GREETING\n"
					 "COPY bin/probe /probe\n"
					 "ENTRYPOINT [\"/probe\"]\n";
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct found found = {0};
	char value[64];
	int lines = 0;

	CU_ASSERT_EQUAL_FATAL(build_probe_image(dockerfile, tag, &lines, &err), 0);
	CU_ASSERT(lines > 0);
	CU_ASSERT_EQUAL_FATAL(
		isol8_docker_image_inspect(docker, tag, image_id, sizeof(image_id), "isol8.test", value, sizeof(value), &err),
		0);
	CU_ASSERT(strncmp(image_id, "sha256:", 7) == 0);
	CU_ASSERT_STRING_EQUAL(value, label_value);
	CU_ASSERT_EQUAL(isol8_docker_image_inspect(docker, tag, NULL, 0, "isol8.greeting", value, sizeof(value), &err),
			0);
	CU_ASSERT_STRING_EQUAL(value, "hello");
	CU_ASSERT_EQUAL(isol8_docker_image_inspect(docker, tag, NULL, 0, "no.such.label", value, sizeof(value), &err), 0);
	CU_ASSERT_STRING_EQUAL(value, "");

	found.want = image_id;
	CU_ASSERT_EQUAL(isol8_docker_image_list(docker, label_filter, find_id, &found, &err), 0);
	CU_ASSERT(found.seen);
	CU_ASSERT_STRING_EQUAL(found.name, tag);
}

static void test_container_lifecycle(void)
{
	static const char *const entrypoint[] = {"/probe", "sleep", NULL};
	struct isol8_container_spec spec = sandbox_spec(entrypoint, isol8_seccomp_strict_profile);
	struct isol8_docker_container_state state;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct found found = {.want = container_id};

	spec.name = container_name;
	CU_ASSERT_EQUAL_FATAL(isol8_docker_container_create(docker, &spec, container_id, &err), 0);
	CU_ASSERT_EQUAL(strlen(container_id), 64);
	CU_ASSERT_EQUAL_FATAL(isol8_docker_container_start(docker, container_id, &err), 0);
	CU_ASSERT_EQUAL(isol8_docker_container_start(docker, container_id, &err), 0); /* already running */
	CU_ASSERT_EQUAL_FATAL(isol8_docker_container_inspect(docker, container_id, &state, &err), 0);
	CU_ASSERT(state.running);
	CU_ASSERT(state.pid > 0);

	CU_ASSERT_EQUAL(isol8_docker_container_list(docker, label_filter, find_id, &found, &err), 0);
	CU_ASSERT(found.seen);
	CU_ASSERT_STRING_EQUAL(found.name, container_name);

	CU_ASSERT_EQUAL(isol8_docker_container_kill(docker, container_id, "SIGKILL", &err), 0);
	CU_ASSERT_EQUAL_FATAL(wait_stopped(container_id, &state, 10000), 0);
	CU_ASSERT_EQUAL(state.exit_code, 137);
	CU_ASSERT(!state.oom_killed);
	CU_ASSERT_EQUAL(isol8_docker_container_kill(docker, container_id, NULL, &err), 0); /* not running */

	CU_ASSERT_EQUAL(isol8_docker_container_remove(docker, container_id, true, &err), 0);
	CU_ASSERT_EQUAL(isol8_docker_container_remove(docker, container_id, true, &err), 0);
	CU_ASSERT_EQUAL(err.code, 0);
	CU_ASSERT_EQUAL(isol8_docker_container_inspect(docker, container_id, &state, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "No such container"));
	container_id[0] = '\0';
}

/* Runs `/probe userns` under seccomp; its exit status. */
static int run_userns_probe(const char *seccomp)
{
	static const char *const entrypoint[] = {"/probe", "userns", NULL};
	struct isol8_container_spec spec = sandbox_spec(entrypoint, seccomp);
	struct isol8_docker_container_state state = {.exit_code = -1};
	struct isol8_error err = ISOL8_ERROR_INIT;
	char id[65];

	if (isol8_docker_container_create(docker, &spec, id, &err) < 0)
		return -1;
	if (isol8_docker_container_start(docker, id, &err) == 0 && wait_stopped(id, &state, 10000) < 0)
		state.exit_code = -1;
	if (err.code != 0)
		fprintf(stderr, "probe container: %s\n", err.message);
	isol8_docker_container_remove(docker, id, true, NULL);
	return state.exit_code;
}

static void test_strict_seccomp_blocks_user_namespaces(void)
{
	CU_ASSERT_EQUAL(run_userns_probe(isol8_seccomp_strict_profile), 0);
	/* the same probe without the profile makes both namespaces */
	CU_ASSERT_EQUAL(run_userns_probe("unconfined"), 3);
}

static void test_create_errors(void)
{
	static const char *const entrypoint[] = {"/probe", NULL};
	struct isol8_container_spec spec = sandbox_spec(entrypoint, NULL);
	struct isol8_error err = ISOL8_ERROR_INIT;
	char id[65];

	spec.image = "isol8-test/no-such-image:never";
	CU_ASSERT_EQUAL(isol8_docker_container_create(docker, &spec, id, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no-such-image"));
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_docker_container_start(docker, "isol8-test-no-such-container", &err), -ISOL8_E_NOT_FOUND);
}

static void test_build_failure(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char bad_tag[80];
	int lines = 0;

	snprintf(bad_tag, sizeof(bad_tag), "%s-bad", tag);
	CU_ASSERT(build_probe_image("FROM scratch\nBOGUS instruction\n", bad_tag, &lines, &err) < 0);
	CU_ASSERT(err.code != 0);
	CU_ASSERT_PTR_NOT_NULL(strcasestr(err.message, "bogus"));
	printf("\n  build failure: %s ", err.message);
	isol8_error_clear(&err);
	CU_ASSERT(build_probe_image("FROM scratch\nCOPY missing-file /x\n", bad_tag, &lines, &err) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "missing-file"));
	printf("\n  build failure: %s ", err.message);
}

static void test_remove_image(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_docker_image_remove(docker, tag, true, &err), 0);
	CU_ASSERT_EQUAL(isol8_docker_image_inspect(docker, tag, NULL, 0, NULL, NULL, 0, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "No such image"));
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_docker_image_remove(docker, tag, true, &err), -ISOL8_E_NOT_FOUND);
	image_id[0] = '\0';
}

static void test_import_image(void)
{
	static const char *const changes[] = {"LABEL isol8.test=imported", "CMD [\"/probe\"]", NULL};
	const struct isol8_build_file files[] = {{.name = "probe", .data = probe_data, .len = probe_len, .mode = 0755}};
	struct isol8_error err = ISOL8_ERROR_INIT;
	char import_tag[96], id[128], label[64];
	char path[] = "/tmp/isol8-import-XXXXXX";
	void *tar = NULL;
	size_t tar_len = 0;
	int lines = 0, fd;

	snprintf(import_tag, sizeof(import_tag), "%s-imported", tag);
	CU_ASSERT_EQUAL_FATAL(isol8_tar_write(files, 1, &tar, &tar_len, &err), 0);
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	unlink(path);
	CU_ASSERT_EQUAL_FATAL(write(fd, tar, tar_len), (ssize_t)tar_len);
	free(tar);
	lseek(fd, 0, SEEK_SET);
	CU_ASSERT_EQUAL(isol8_docker_image_import(docker, import_tag, fd, tar_len, changes, count_line, &lines, &err), 0);
	close(fd);
	CU_ASSERT(lines > 0);
	CU_ASSERT_EQUAL(isol8_docker_image_inspect(docker, import_tag, id, sizeof(id), "isol8.test", label,
						   sizeof(label), &err), 0);
	CU_ASSERT_STRING_EQUAL(label, "imported");
	CU_ASSERT_EQUAL(isol8_docker_image_remove(docker, import_tag, true, &err), 0);

	/* a body that is not a tar: Docker's error comes back, no image is made */
	static const char junk[] = "this is not a tar archive, and not gzip either";
	char junk_path[] = "/tmp/isol8-junk-XXXXXX";
	fd = mkstemp(junk_path);
	CU_ASSERT_FATAL(fd >= 0);
	unlink(junk_path);
	CU_ASSERT_EQUAL_FATAL(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	lseek(fd, 0, SEEK_SET);
	isol8_error_clear(&err);
	CU_ASSERT_NOT_EQUAL(isol8_docker_image_import(docker, import_tag, fd, sizeof(junk), NULL, NULL, NULL, &err), 0);
	close(fd);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "docker"));
	printf("\n  import of junk: %s ", err.message);
	isol8_docker_image_remove(docker, import_tag, true, &(struct isol8_error)ISOL8_ERROR_INIT);
}

/* ---- suite ---- */

static int suite_init(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	snprintf(tag, sizeof(tag), "isol8-test/docker:%d", (int)getpid());
	snprintf(label_value, sizeof(label_value), "docker-%d", (int)getpid());
	snprintf(label_filter, sizeof(label_filter), "isol8.test=%s", label_value);
	snprintf(container_name, sizeof(container_name), "isol8-test-docker-%d", (int)getpid());
	probe_data = read_file(probe_path, &probe_len);
	if (probe_data == NULL) {
		fprintf(stderr, "cannot read the probe binary %s\n", probe_path);
		return -1;
	}
	if (isol8_docker_new(&docker, NULL, &err) < 0 || isol8_docker_ping(docker, &err) < 0) {
		fprintf(stderr, "this test needs a running Docker engine: %s\n", err.message);
		return -1;
	}
	return 0;
}

static int suite_cleanup(void)
{
	if (docker != NULL && container_id[0] != '\0')
		isol8_docker_container_remove(docker, container_id, true, NULL);
	if (docker != NULL && image_id[0] != '\0')
		isol8_docker_image_remove(docker, tag, true, NULL);
	isol8_docker_free(docker);
	free(probe_data);
	return 0;
}

int main(int argc, char **argv)
{
	CU_pSuite suite;
	unsigned failures;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PROBE_BINARY\n", argv[0]);
		return 2;
	}
	probe_path = argv[1];
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	suite = CU_add_suite("docker_engine", suite_init, suite_cleanup);
	CU_add_test(suite, "ping and version", test_ping_version);
	CU_add_test(suite, "one client, many threads", test_threads_share_client);
	CU_add_test(suite, "build and inspect an image", test_build_and_inspect_image);
	CU_add_test(suite, "sandbox container lifecycle", test_container_lifecycle);
	CU_add_test(suite, "strict seccomp blocks user namespaces", test_strict_seccomp_blocks_user_namespaces);
	CU_add_test(suite, "create and start errors", test_create_errors);
	CU_add_test(suite, "failed build carries Docker's message", test_build_failure);
	CU_add_test(suite, "remove the image", test_remove_image);
	CU_add_test(suite, "import a root file system", test_import_image);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failures == 0 ? 0 : 1;
}
