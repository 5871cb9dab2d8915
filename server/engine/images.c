/*
 * Sandbox images: one per runtime, built FROM the base image out of the
 * files in images/<runtime>/. Each carries the label isol8.inputs, a SHA-256
 * of its build inputs (file names and contents, and the base image's id), so
 * set-up rebuilds only what changed. The context is the runtime's folder plus
 * images/common/ (shared build scripts) under common/. The local base image (<prefix>:base) is
 * made by images/base/build-base.sh when missing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/paths.h"
#include "engine/engine_internal.h"
#include "engine/images_bake.h"
#include "base/sha256.h"
#include "base/util.h"

#define INPUT_MAX_FILES 32
#define INPUT_MAX_SIZE (1u << 20)
#define INPUTS_LABEL "isol8.inputs"

struct image_inputs {
	struct isol8_build_file files[INPUT_MAX_FILES];
	char *names[INPUT_MAX_FILES];
	char *data[INPUT_MAX_FILES];
	size_t n;
	char hash[65];
};

static void inputs_release(struct image_inputs *in)
{
	for (size_t i = 0; i < in->n; i++) {
		free(in->names[i]);
		free(in->data[i]);
	}
	in->n = 0;
}

static int read_file(const char *path, char **out, size_t *len, struct isol8_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot read \"%s\"", path);
	if (st.st_size > INPUT_MAX_SIZE)
		return isol8_error_set(err, ISOL8_E_EXHAUSTED, "\"%s\" is larger than %u bytes", path,
				       INPUT_MAX_SIZE);
	*out = malloc((size_t)st.st_size + 1);
	if (*out == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	n = isol8_read_full(fd, *out, (size_t)st.st_size);
	if (n < 0) {
		free(*out);
		*out = NULL;
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot read \"%s\"", path);
	}
	*len = (size_t)n;
	return 0;
}

/* Adds the regular files of dir to the context, named prefix + file name. */
static int inputs_add_dir(struct image_inputs *in, const char *dir, const char *prefix, struct isol8_error *err)
{
	struct dirent *d;
	DIR *dp = opendir(dir);
	int ret = 0;

	if (dp == NULL)
		return isol8_error_errno(err, ISOL8_E_PRECONDITION, errno, "image folder \"%s\"", dir);
	while ((d = readdir(dp)) != NULL && ret == 0) {
		char path[PATH_MAX * 2];
		size_t len = 0;
		if (d->d_name[0] == '.' || d->d_type == DT_DIR)
			continue;
		if (in->n == INPUT_MAX_FILES) {
			ret = isol8_error_set(err, ISOL8_E_EXHAUSTED, "image context holds more than %d files",
					      INPUT_MAX_FILES);
			break;
		}
		if (asprintf(&in->names[in->n], "%s%s", prefix, d->d_name) < 0) {
			in->names[in->n] = NULL;
			ret = isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		ret = read_file(path, &in->data[in->n], &len, err);
		in->files[in->n] = (struct isol8_build_file){in->names[in->n], in->data[in->n], len, 0755};
		in->n++;
	}
	closedir(dp);
	return ret;
}

static int compare_files(const void *a, const void *b)
{
	return strcmp(((const struct isol8_build_file *)a)->name, ((const struct isol8_build_file *)b)->name);
}

/* Reads the build context of a runtime (images/<runtime>/ and images/common/
 * as common/) and hashes it with the base image's id. */
static int inputs_read(struct isol8_engine *e, const char *runtime, const char *base_id,
		       struct image_inputs *in, struct isol8_error *err)
{
	char dir[PATH_MAX];
	struct isol8_sha256 h;
	int ret;

	memset(in, 0, sizeof(*in));
	snprintf(dir, sizeof(dir), "%s/%s", e->images_dir, runtime);
	ret = inputs_add_dir(in, dir, "", err);
	snprintf(dir, sizeof(dir), "%s/common", e->images_dir);
	if (ret == 0)
		ret = inputs_add_dir(in, dir, "common/", err);
	if (ret < 0) {
		inputs_release(in);
		return ret;
	}
	/* the hash must not depend on directory order: sort the context by name */
	qsort(in->files, in->n, sizeof(in->files[0]), compare_files);
	isol8_sha256_init(&h);
	isol8_sha256_update(&h, base_id, strlen(base_id) + 1);
	for (size_t i = 0; i < in->n; i++) {
		uint64_t len = in->files[i].len;
		isol8_sha256_update(&h, in->files[i].name, strlen(in->files[i].name) + 1);
		isol8_sha256_update(&h, &len, sizeof(len));
		isol8_sha256_update(&h, in->files[i].data, in->files[i].len);
	}
	isol8_sha256_hex(&h, in->hash);
	return 0;
}

bool isol8_images_base_is_local(const struct isol8_engine *e)
{
	char local[256];

	snprintf(local, sizeof(local), "%s:base", e->image_prefix);
	return strcmp(local, e->base_image) == 0;
}

struct progress {
	isol8_setup_fn cb;
	void *ud;
	const char *image;
};

/* Passes one line of Docker build or import output on as a BUILDING event. */
static void build_progress(const char *line, void *userdata)
{
	struct progress *p = userdata;
	p->cb(p->ud, p->image, ISOL8__V1__SETUP_EVENT__PHASE__BUILDING, line);
}

/* Runs images/base/build-base.sh --tar TAR, each output line reported as progress. */
static int run_base_script(struct isol8_engine *e, const char *tar_path, isol8_setup_fn cb, void *ud,
			   struct isol8_error *err)
{
	char script[PATH_MAX], line[1024];
	int pipefd[2], status;
	pid_t pid;
	FILE *out;

	snprintf(script, sizeof(script), "%s/base/build-base.sh", e->images_dir);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return isol8_error_errno(err, ISOL8_E_IO, errno, "fork");
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(devnull, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execl("/bin/bash", "bash", script, "--tar", tar_path, e->base_image, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	out = fdopen(pipefd[0], "r");
	while (out != NULL && fgets(line, sizeof(line), out) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		cb(ud, e->base_image, ISOL8__V1__SETUP_EVENT__PHASE__BUILDING, line);
	}
	if (out != NULL)
		fclose(out);
	else
		close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "building the base root file system with %s failed",
				       script);
	return 0;
}

/* Builds the local base: the script assembles a Debian root file system into
 * a tar under /var/tmp (not the RAM-backed run dir), which is imported here
 * through the Docker API. */
static int build_base(struct isol8_engine *e, isol8_setup_fn cb, void *ud, struct isol8_error *err)
{
	static const char *const changes[] = {
		"ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"ENV LANG=C.UTF-8",
		"CMD [\"/bin/bash\"]",
		"LABEL isol8.base=debootstrap-bookworm",
		"LABEL isol8.managed=true",
		NULL,
	};
	char tar_path[] = "/var/tmp/isol8-base-XXXXXX";
	struct progress p = {cb, ud, e->base_image};
	_cleanup_close_ int fd = mkostemp(tar_path, O_CLOEXEC);
	struct stat st;
	int ret;

	if (fd < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot create \"%s\"", tar_path);
	ret = run_base_script(e, tar_path, cb, ud, err);
	if (ret == 0 && fstat(fd, &st) < 0)
		ret = isol8_error_errno(err, ISOL8_E_IO, errno, "\"%s\"", tar_path);
	if (ret == 0) {
		cb(ud, e->base_image, ISOL8__V1__SETUP_EVENT__PHASE__BUILDING, "importing the root file system");
		ret = isol8_docker_image_import(e->docker, e->base_image, fd, (size_t)st.st_size, changes,
						build_progress, &p, err);
	}
	unlink(tar_path);
	return ret;
}

/* The base image's id, building the local base first when it is missing. */
static int ensure_base(struct isol8_engine *e, bool build, isol8_setup_fn cb, void *ud, char id[128],
		       struct isol8_error *err)
{
	int ret = isol8_docker_image_inspect(e->docker, e->base_image, id, 128, NULL, NULL, 0, err);

	if (ret == 0 || err->code != ISOL8_E_NOT_FOUND || !build)
		return ret;
	isol8_error_clear(err);
	if (!isol8_images_base_is_local(e))
		return isol8_error_set(err, ISOL8_E_PRECONDITION,
				       "base image \"%s\" is missing: pull or load it, then run `isol8 setup`",
				       e->base_image);
	cb(ud, e->base_image, ISOL8__V1__SETUP_EVENT__PHASE__BUILDING, "building the base image");
	ret = build_base(e, cb, ud, err);
	if (ret == 0)
		ret = isol8_docker_image_inspect(e->docker, e->base_image, id, 128, NULL, NULL, 0, err);
	if (ret == 0)
		cb(ud, e->base_image, ISOL8__V1__SETUP_EVENT__PHASE__BUILT, "");
	return ret;
}

/* The runtime's image from its Dockerfile, labelled with its inputs. */
static int build_runtime(struct isol8_engine *e, const struct isol8_runtime *rt, const char *image,
			 const struct image_inputs *in, struct progress *p, struct isol8_error *err)
{
	const struct isol8_label labels[] = {
		{"isol8.managed", "true"}, {INPUTS_LABEL, in->hash}, {"isol8.runtime", rt->info->name}};
	const struct isol8_label args[] = {{"BASE", e->base_image}};

	return isol8_docker_image_build(e->docker, image, in->files, in->n, labels, ISOL8_ARRAY_LEN(labels), args,
					ISOL8_ARRAY_LEN(args), build_progress, p, err);
}

/* The image the tag named before a build, once the tag has moved on, is
 * noted in replaced: a replaced layer would stay behind untagged. */
static void note_replaced(struct isol8_engine *e, const char *image, const char *old_id, struct isol8_id_list *replaced)
{
	struct isol8_error ignored = ISOL8_ERROR_INIT;
	char now[128];

	if (isol8_docker_image_inspect(e->docker, image, now, sizeof(now), NULL, NULL, 0, &ignored) == 0 &&
	    strcmp(now, old_id) != 0)
		isol8_id_list_collect(old_id, "", replaced);
}

/* Removes the replaced images once no warm sandbox runs them (flushed:
 * their removal has begun). Docker keeps one that a container still runs,
 * another tag names or an image is built on (the image under a new
 * layer); a layer kept so is swept by the next set-up (sweep_layers). */
static void drop_replaced(struct isol8_engine *e, struct isol8_id_list *replaced)
{
	for (size_t i = 0; i < replaced->n; i++) {
		struct isol8_error ignored = ISOL8_ERROR_INIT;
		isol8_docker_image_remove(e->docker, replaced->items[i], false, &ignored);
	}
	free(replaced->items);
}

/* Docker 20.10 lists a dangling image's tags as "<none>:<none>". */
static void collect_untagged(const char *id, const char *tag, void *userdata)
{
	if (tag[0] == '\0' || strcmp(tag, "<none>:<none>") == 0)
		isol8_id_list_collect(id, tag, userdata);
}

/* Layers once baked for image (label isol8.baked.tag) that no tag names
 * any more, removed when nothing runs them. */
static void sweep_layers(struct isol8_engine *e, const char *image)
{
	struct isol8_error ignored = ISOL8_ERROR_INIT;
	struct isol8_id_list old = {0};
	char filter[320];

	snprintf(filter, sizeof(filter), "%s=%s", ISOL8_BAKED_TAG_LABEL, image);
	if (isol8_docker_image_list(e->docker, filter, collect_untagged, &old, &ignored) == 0)
		drop_replaced(e, &old);
	else
		free(old.items);
}

/* Builds what changed: the image from its Dockerfile when its inputs
 * changed (or a layer of other packages is on it: Docker's cache makes that
 * quick), then the packages' layer when there are packages. */
static int setup_one(struct isol8_engine *e, const Isol8__V1__SetupRequest *req, const struct isol8_runtime *rt,
		     const char *base_id, isol8_setup_fn cb, void *ud, struct isol8_id_list *replaced,
		     struct isol8_error *err)
{
	char image[256], id[128], have[128] = "";
	struct image_inputs in;
	struct isol8_error probe = ISOL8_ERROR_INIT;
	struct progress p = {cb, ud, image};
	struct isol8_bake *bake = calloc(1, sizeof(*bake));
	_cleanup_free_ char *baked = calloc(1, sizeof(bake->text));
	bool present, inputs_same;
	int ret;

	snprintf(image, sizeof(image), "%s:%s", e->image_prefix, rt->info->image_suffix);
	if (bake == NULL || baked == NULL) {
		free(bake);
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	cb(ud, image, ISOL8__V1__SETUP_EVENT__PHASE__CHECKING, "");
	sweep_layers(e, image);
	ret = isol8_bake_list(e, req, rt, bake, err);
	if (ret == 0)
		ret = inputs_read(e, rt->info->name, base_id, &in, err);
	if (ret < 0) {
		free(bake);
		return ret;
	}
	present = isol8_docker_image_inspect(e->docker, image, id, sizeof(id), INPUTS_LABEL, have, sizeof(have),
					     &probe) == 0 &&
		  isol8_docker_image_inspect(e->docker, image, id, sizeof(id), ISOL8_PACKAGES_LABEL, baked,
					     sizeof(bake->text), &probe) == 0;
	inputs_same = present && strcmp(have, in.hash) == 0 && !req->force;
	if (inputs_same && strcmp(baked, bake->text) == 0) {
		cb(ud, image, ISOL8__V1__SETUP_EVENT__PHASE__UP_TO_DATE, "");
		goto out;
	}
	if (!inputs_same || baked[0] != '\0')
		ret = build_runtime(e, rt, image, &in, &p, err);
	if (ret == 0 && bake->n > 0) {
		char line[320];
		snprintf(line, sizeof(line), "baking %zu package%s into %s", bake->n, bake->n == 1 ? "" : "s", image);
		cb(ud, image, ISOL8__V1__SETUP_EVENT__PHASE__BUILDING, line);
		ret = isol8_bake_layer(e, rt, image, bake, build_progress, &p, err);
	}
	if (ret < 0)
		isol8_error_prefix(err, "building %s", image);
	else
		cb(ud, image, ISOL8__V1__SETUP_EVENT__PHASE__BUILT, "");
	if (ret == 0 && present)
		note_replaced(e, image, id, replaced);
out:
	inputs_release(&in);
	free(bake);
	return ret;
}

static bool wanted(const Isol8__V1__SetupRequest *req, const char *name)
{
	if (req->n_runtimes == 0)
		return true;
	for (size_t i = 0; i < req->n_runtimes; i++)
		if (strcmp(req->runtimes[i], name) == 0)
			return true;
	return false;
}

int isol8_engine_setup(struct isol8_engine *e, const Isol8__V1__SetupRequest *req, isol8_setup_fn cb,
		       void *userdata, struct isol8_error *err)
{
	const struct isol8_runtime *all;
	struct isol8_id_list replaced = {0};
	char base_id[128];
	size_t count;
	int failed = 0, ret;

	for (size_t i = 0; i < req->n_runtimes; i++)
		if (isol8_runtime_find(req->runtimes[i]) == NULL)
			return isol8_error_set(err, ISOL8_E_INVALID, "runtimes: unknown runtime \"%s\" (valid: %s)",
					       req->runtimes[i], isol8_runtime_names());
	if (isol8_bake_check_request(req, err) < 0)
		return -err->code;
	pthread_mutex_lock(&e->setup_lock);
	ret = ensure_base(e, true, cb, userdata, base_id, err);
	all = isol8_runtime_all(&count);
	for (size_t i = 0; ret == 0 && i < count; i++) {
		struct isol8_error one = ISOL8_ERROR_INIT;
		if (!wanted(req, all[i].info->name))
			continue;
		if (setup_one(e, req, &all[i], base_id, cb, userdata, &replaced, &one) < 0) {
			char image[256];
			snprintf(image, sizeof(image), "%s:%s", e->image_prefix, all[i].info->image_suffix);
			cb(userdata, image, ISOL8__V1__SETUP_EVENT__PHASE__FAILED, one.message);
			if (failed++ == 0)
				*err = one;
		}
	}
	pthread_mutex_unlock(&e->setup_lock);
	/* warm sandboxes may run an image that was just replaced */
	isol8_registry_flush(e->registry);
	drop_replaced(e, &replaced);
	if (ret < 0)
		return ret;
	return failed ? -err->code : 0;
}

int isol8_engine_image_status(struct isol8_engine *e, const char *runtime, struct isol8_image_status *out,
			      struct isol8_error *err)
{
	const struct isol8_runtime *rt = isol8_runtime_find(runtime);
	char id[128], have[128] = "", base_id[128];
	struct image_inputs in;
	struct isol8_error probe = ISOL8_ERROR_INIT;
	int ret;

	memset(out, 0, sizeof(*out));
	if (rt == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "unknown runtime \"%s\"", runtime);
	snprintf(out->image, sizeof(out->image), "%s:%s", e->image_prefix, rt->info->image_suffix);
	ret = isol8_docker_image_inspect(e->docker, out->image, id, sizeof(id), INPUTS_LABEL, have, sizeof(have),
					 &probe);
	if (ret < 0) {
		if (probe.code == ISOL8_E_NOT_FOUND)
			return 0;
		*err = probe;
		return ret;
	}
	out->present = true;
	if (ensure_base(e, false, NULL, NULL, base_id, &probe) == 0 &&
	    inputs_read(e, rt->info->name, base_id, &in, &probe) == 0) {
		out->up_to_date = strcmp(have, in.hash) == 0;
		inputs_release(&in);
	}
	return 0;
}

int isol8_images_explain_create_error(struct isol8_engine *e, const struct isol8_container_options *opts,
				      struct isol8_error *err)
{
	char image[256];

	if (err->code != ISOL8_E_NOT_FOUND)
		return -err->code;
	isol8_sandbox_image(&e->env, opts, image, sizeof(image));
	isol8_error_clear(err);
	if (opts->image != NULL)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "options.image: image \"%s\" is not on this Docker engine (isol8 does not pull images)",
				       image);
	return isol8_error_set(err, ISOL8_E_PRECONDITION, "image \"%s\" is missing: run `isol8 setup`", image);
}

int isol8_engine_docker_version(struct isol8_engine *e, char *version, size_t vsize, char *api, size_t asize,
				struct isol8_error *err)
{
	struct isol8_docker_version v;
	int ret = isol8_docker_version(e->docker, &v, err);

	if (ret == 0) {
		snprintf(version, vsize, "%s", v.version);
		snprintf(api, asize, "%s", v.api_version);
	}
	return ret;
}
