/* Unit tests of the engine's clean-up and health check against a fake
 * Docker Engine: what is removed, what is left, each failure counted and
 * named in one line, the others going on; the ping's answer kept for a
 * second; an unreachable Docker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "fake_docker.h"
#include "runner.h"

static char tmp_dir[64];

static int make_tmp_dir(void)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/isol8-cleanup.XXXXXX");
	return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* An engine on docker_socket that starts no sandbox by itself. */
static struct isol8_engine *engine(const char *docker_socket)
{
	char run_dir[128];
	struct isol8_engine_config cfg = {0};
	struct isol8_engine *e = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;

	snprintf(run_dir, sizeof(run_dir), "%s/run", tmp_dir);
	cfg.docker_socket = docker_socket;
	cfg.run_dir = run_dir;
	cfg.agent_path = "/proc/self/exe"; /* only has to be readable */
	cfg.images_dir = tmp_dir;
	cfg.image_prefix = "isol8";
	cfg.base_image = "isol8:base";
	cfg.owner = "/nowhere/test-owner.sock";
	cfg.max_concurrent = 2;
	cfg.prewarm = 0;
	cfg.max_warm = -1;
	CU_ASSERT_EQUAL_FATAL(isol8_engine_new(&e, &cfg, &err), 0);
	return e;
}

static void test_cleanup_reports_failures(void)
{
	struct isol8_cleanup_report *r = calloc(1, sizeof(*r));
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct fake_docker f;
	struct isol8_engine *e;
	char containers[1024];

	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL_FATAL(fake_docker_start(&f, tmp_dir, "docker1.sock"), 0);
	e = engine(f.path);
	/* c1 and c2 are a dead daemon's, c3 no daemon's and gone meanwhile, c4 ours */
	snprintf(containers, sizeof(containers),
		 "[{\"Id\":\"c1\",\"Labels\":{\"isol8.managed\":\"true\",\"isol8.owner\":\"/nowhere/dead.sock\"}},"
		 "{\"Id\":\"c2\",\"Labels\":{\"isol8.managed\":\"true\",\"isol8.owner\":\"/nowhere/dead.sock\"}},"
		 "{\"Id\":\"c3\",\"Labels\":{\"isol8.managed\":\"true\"}},"
		 "{\"Id\":\"c4\",\"Labels\":{\"isol8.managed\":\"true\",\"isol8.instance\":\"%s\"}}]",
		 isol8_engine_instance_id(e));
	fake_docker_route(&f, "GET", "/containers/json", 200, containers);
	fake_docker_route(&f, "DELETE", "/containers/c1?", 204, NULL);
	fake_docker_route(&f, "DELETE", "/containers/c2?", 500,
			  "{\"message\":\"driver failed to remove root filesystem of c2\"}");
	fake_docker_route(&f, "DELETE", "/containers/c3?", 404, "{\"message\":\"No such container: c3\"}");
	fake_docker_route(&f, "DELETE", "/containers/c4?", 204, NULL);
	fake_docker_route(&f, "GET", "/images/json", 200,
			  "[{\"Id\":\"img1\",\"RepoTags\":[\"isol8:python\"]},{\"Id\":\"img2\",\"RepoTags\":[\"isol8:node\"]},"
			  "{\"Id\":\"img3\",\"RepoTags\":null}]");
	fake_docker_route(&f, "DELETE", "/images/img1", 200, "[]");
	fake_docker_route(&f, "DELETE", "/images/img2", 409,
			  "{\"message\":\"conflict: unable to delete img2 (cannot be forced) - image is being used by "
			  "running container abc\"}");
	fake_docker_route(&f, "DELETE", "/images/img3", 500, "{\"message\":\"boom\"}");
	fake_docker_route(&f, "DELETE", "/images/isol8%3Abase", 404, "{\"message\":\"No such image: isol8:base\"}");

	CU_ASSERT_EQUAL(isol8_engine_cleanup(e, true, true, r, NULL, NULL, &err), 0);
	CU_ASSERT_EQUAL(r->removed_sessions, 0);
	CU_ASSERT_EQUAL(r->failed_sessions, 0);
	CU_ASSERT_EQUAL(r->removed_containers, 2); /* c1, and c3 that is gone */
	CU_ASSERT_EQUAL(r->failed_containers, 1);
	CU_ASSERT_EQUAL(r->removed_images, 1);
	CU_ASSERT_EQUAL(r->failed_images, 2);
	CU_ASSERT_EQUAL_FATAL(r->n_errors, 3);
	CU_ASSERT_STRING_EQUAL(r->errors[0], "container c2: docker: driver failed to remove root filesystem of c2");
	CU_ASSERT_STRING_EQUAL(r->errors[1], "image isol8:node: docker: conflict: unable to delete img2 (cannot be "
					     "forced) - image is being used by running container abc");
	CU_ASSERT_STRING_EQUAL(r->errors[2], "image img3: docker: boom");
	/* every removal was tried, ours left alone */
	CU_ASSERT_EQUAL(fake_docker_hits(&f, "DELETE", "/containers/c3?"), 1);
	CU_ASSERT_EQUAL(fake_docker_hits(&f, "DELETE", "/containers/c4?"), 0);
	CU_ASSERT_EQUAL(fake_docker_hits(&f, "DELETE", "/images/isol8%3Abase"), 1);

	/* without images, no image is touched */
	CU_ASSERT_EQUAL(isol8_engine_cleanup(e, false, false, r, NULL, NULL, &err), 0);
	CU_ASSERT_EQUAL(r->removed_containers, 2);
	CU_ASSERT_EQUAL(r->n_errors, 1);
	CU_ASSERT_EQUAL(fake_docker_hits(&f, "GET", "/images/json"), 1);
	CU_ASSERT_EQUAL(f.unmatched, 0);
	isol8_engine_free(e);
	fake_docker_stop(&f);
	free(r);
}

static void test_cleanup_list_fails(void)
{
	struct isol8_cleanup_report *r = calloc(1, sizeof(*r));
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct fake_docker f;
	struct isol8_engine *e;

	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL_FATAL(fake_docker_start(&f, tmp_dir, "docker2.sock"), 0);
	fake_docker_route(&f, "GET", "/containers/json", 500, "{\"message\":\"the engine is shutting down\"}");
	e = engine(f.path);
	CU_ASSERT_EQUAL(isol8_engine_cleanup(e, true, true, r, NULL, NULL, &err), -ISOL8_E_IO);
	CU_ASSERT_STRING_EQUAL(err.message, "docker: the engine is shutting down");
	isol8_engine_free(e);
	fake_docker_stop(&f);
	free(r);
}

static void test_cleanup_errors_bounded(void)
{
	struct isol8_cleanup_report *r = calloc(1, sizeof(*r));
	struct isol8_error err = ISOL8_ERROR_INIT;
	size_t size = 100 * 64 + 16, len;
	char *list = malloc(size);
	struct fake_docker f;
	struct isol8_engine *e;

	CU_ASSERT_FATAL(r != NULL && list != NULL);
	len = (size_t)snprintf(list, size, "[");
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(list + len, size - len, "%s{\"Id\":\"x%d\",\"Labels\":{}}", i ? "," : "", i);
	snprintf(list + len, size - len, "]");
	CU_ASSERT_EQUAL_FATAL(fake_docker_start(&f, tmp_dir, "docker3.sock"), 0);
	fake_docker_route(&f, "GET", "/containers/json", 200, list);
	fake_docker_route(&f, "DELETE", "/containers/x", 500, "{\"message\":\"busy\"}");
	e = engine(f.path);
	CU_ASSERT_EQUAL(isol8_engine_cleanup(e, false, false, r, NULL, NULL, &err), 0);
	CU_ASSERT_EQUAL(r->failed_containers, 100);
	CU_ASSERT_EQUAL(r->n_errors, ISOL8_CLEANUP_ERRORS_MAX);
	CU_ASSERT_STRING_EQUAL(r->errors[ISOL8_CLEANUP_ERRORS_MAX - 1], "container x63: docker: busy");
	isol8_engine_free(e);
	fake_docker_stop(&f);
	free(list);
	free(r);
}

static void test_health_cached(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct fake_docker f;
	struct isol8_engine *e;

	CU_ASSERT_EQUAL_FATAL(fake_docker_start(&f, tmp_dir, "docker4.sock"), 0);
	fake_docker_route(&f, "GET", "/_ping", 200, "OK");
	e = engine(f.path);
	CU_ASSERT_EQUAL(isol8_engine_health(e, &err), 0);
	CU_ASSERT_EQUAL(isol8_engine_health(e, &err), 0);
	CU_ASSERT_EQUAL(isol8_engine_health(e, &err), 0);
	CU_ASSERT_EQUAL(fake_docker_hits(&f, "GET", "/_ping"), 1);
	usleep((ISOL8_HEALTH_CACHE_MS + 100) * 1000);
	CU_ASSERT_EQUAL(isol8_engine_health(e, &err), 0);
	CU_ASSERT_EQUAL(fake_docker_hits(&f, "GET", "/_ping"), 2);
	isol8_engine_free(e);
	fake_docker_stop(&f);
}

static void test_health_docker_error(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct fake_docker f;
	struct isol8_engine *e;

	CU_ASSERT_EQUAL_FATAL(fake_docker_start(&f, tmp_dir, "docker5.sock"), 0);
	fake_docker_route(&f, "GET", "/_ping", 500, "{\"message\":\"Docker is starting\"}");
	e = engine(f.path);
	CU_ASSERT_EQUAL(isol8_engine_health(e, &err), -ISOL8_E_IO);
	CU_ASSERT_STRING_EQUAL(err.message, "docker: Docker is starting");
	isol8_engine_free(e);
	fake_docker_stop(&f);
}

static void test_health_unreachable(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char path[128], want[256];
	struct isol8_engine *e;

	snprintf(path, sizeof(path), "%s/no-docker.sock", tmp_dir);
	e = engine(path);
	CU_ASSERT_EQUAL(isol8_engine_health(e, &err), -ISOL8_E_UNAVAILABLE);
	snprintf(want, sizeof(want), "docker: cannot reach %s: No such file or directory", path);
	CU_ASSERT_STRING_EQUAL(err.message, want);
	/* the failure is kept for the second too */
	CU_ASSERT_EQUAL(isol8_engine_health(e, NULL), -ISOL8_E_UNAVAILABLE);
	isol8_engine_free(e);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"cleanup: removed, left, failures named", test_cleanup_reports_failures},
		{"cleanup: a list Docker cannot give", test_cleanup_list_fails},
		{"cleanup: error lines bounded", test_cleanup_errors_bounded},
		{"health: one ping a second", test_health_cached},
		{"health: Docker answers an error", test_health_docker_error},
		{"health: Docker unreachable", test_health_unreachable},
	};
	return isol8_test_run("cleanup", make_tmp_dir, remove_tmp_dir, tests, ISOL8_TESTS_LEN(tests));
}
