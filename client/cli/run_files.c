/*
 * `isol8 run --files DIR`: the regular files under a local directory, read
 * into the request as "/sandbox/REL" -> content, as the original injects a
 * directory. Directories are opened relative to their parent's fd with
 * O_NOFOLLOW, so a symbolic link is never followed (links are skipped, as
 * the original skips everything that is not a file or a directory).
 */
#include "cli/run_args.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

/* Deepest directory nesting followed under DIR. */
#define MAX_DEPTH 64

/* Directories the original leaves out. */
static const char *const skip_dirs[] = {".git", "node_modules", "__pycache__", ".venv", "venv",
					".tox"};

struct walk {
	struct isol8_cli_run *run;
	const char *root; /* DIR as given, for messages */
	size_t cap;
	size_t bytes;
};

static bool skipped(const char *name)
{
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(skip_dirs); i++)
		if (strcmp(skip_dirs[i], name) == 0)
			return true;
	return false;
}

static void closedirp(DIR **d)
{
	if (*d != NULL)
		closedir(*d);
}

static int add_file(struct walk *w, int dir_fd, const char *name, const char *rel, uint32_t mode,
		    struct isol8_error *err)
{
	struct isol8_cli_run *run = w->run;
	_cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	_cleanup_free_ char *data = NULL;
	_cleanup_free_ char *path = NULL;
	size_t len = 0;
	int ret;

	if (fd < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "--files: cannot read %s/%s",
					 w->root, rel);
	if (run->n_files >= ISOL8_CLI_MAX_FILES)
		return isol8_error_set(err, ISOL8_E_EXHAUSTED, "--files: %s holds more than %d files",
				       w->root, ISOL8_CLI_MAX_FILES);
	ret = isol8_cli_read_all(fd, rel, ISOL8_CLI_MAX_FILES_BYTES - w->bytes, &data, &len, err);
	if (ret == -ISOL8_E_EXHAUSTED) {
		isol8_error_clear(err);
		return isol8_error_set(err, ISOL8_E_EXHAUSTED, "--files: %s holds more than %u MiB",
				       w->root, ISOL8_CLI_MAX_FILES_BYTES / (1024 * 1024));
	}
	if (ret < 0)
		return isol8_error_prefix(err, "--files");
	if (asprintf(&path, "/sandbox/%s", rel) < 0) {
		path = NULL;
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	if (run->n_files == w->cap) {
		size_t cap = w->cap == 0 ? 16 : w->cap * 2;
		struct isol8_file *p = reallocarray(run->files, cap, sizeof(*p));

		if (p == NULL)
			return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
		run->files = p;
		w->cap = cap;
	}
	w->bytes += len;
	/* the local mode goes with it: a script stays executable */
	run->files[run->n_files++] = (struct isol8_file){ISOL8_TAKE(path), ISOL8_TAKE(data), len, mode};
	return 0;
}

/* Reads the directory open at fd (taken), whose path under DIR is rel. */
static int walk_dir(struct walk *w, int fd, const char *rel, int depth, struct isol8_error *err)
{
	__attribute__((cleanup(closedirp))) DIR *d = fdopendir(fd);
	struct dirent *ent;

	if (d == NULL) {
		int saved = errno;
		close(fd);
		return isol8_error_errno(err, ISOL8_E_IO, saved, "--files: cannot list %s/%s",
					 w->root, rel);
	}
	if (depth > MAX_DEPTH)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "--files: %s nests directories deeper than %d", w->root,
				       MAX_DEPTH);
	while ((errno = 0, ent = readdir(d)) != NULL) {
		_cleanup_free_ char *child = NULL;
		struct stat st;
		int ret;

		if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		if (asprintf(&child, "%s%s%s", rel, rel[0] != '\0' ? "/" : "", ent->d_name) < 0) {
			child = NULL;
			return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
		}
		if (fstatat(dirfd(d), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return isol8_error_errno(err, ISOL8_E_IO, errno, "--files: cannot stat %s/%s",
						 w->root, child);
		if (S_ISREG(st.st_mode)) {
			ret = add_file(w, dirfd(d), ent->d_name, child, st.st_mode & 0777, err);
		} else if (S_ISDIR(st.st_mode) && !skipped(ent->d_name)) {
			int sub = openat(dirfd(d), ent->d_name,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (sub < 0)
				return isol8_error_errno(err, ISOL8_E_IO, errno,
							 "--files: cannot open %s/%s", w->root,
							 child);
			ret = walk_dir(w, sub, child, depth + 1, err);
		} else {
			ret = 0; /* links, devices, sockets: not files */
		}
		if (ret < 0)
			return ret;
	}
	if (errno != 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "--files: cannot list %s/%s", w->root,
					 rel);
	return 0;
}

int isol8_cli_run_read_files(struct isol8_cli_run *run, const char *dir, struct isol8_error *err)
{
	struct walk w = {.run = run, .root = dir};
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return isol8_error_set(err, ISOL8_E_INVALID, "--files path is not a directory: %s",
				       dir);
	if (fd < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "--files: cannot open %s", dir);
	return walk_dir(&w, fd, "", 0, err);
}
