/* Where `isol8 run` code comes from, and the request's last touches: see run_args.h. */
#include "cli/run_args.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/detect.h"
#include "base/util.h"

int isol8_cli_read_all(int fd, const char *name, size_t max, char **out, size_t *len,
		       struct isol8_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t used = 0;
	size_t cap = 0;

	for (;;) {
		ssize_t n;
		if (used == cap) {
			size_t new_cap = cap == 0 ? 64 * 1024 : cap * 2;
			char *p;
			if (new_cap > max + 1)
				new_cap = max + 1;
			if (used == new_cap)
				return isol8_error_set(err, ISOL8_E_EXHAUSTED,
						       "%s: larger than %zu MiB", name,
						       max / (1024 * 1024));
			p = realloc(buf, new_cap + 1);
			if (p == NULL)
				return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
			buf = p;
			cap = new_cap;
		}
		n = read(fd, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot read %s", name);
		if (n == 0)
			break;
		used += (size_t)n;
	}
	if (buf == NULL) {
		buf = malloc(1);
		if (buf == NULL)
			return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	buf[used] = '\0';
	*len = used;
	*out = ISOL8_TAKE(buf);
	return 0;
}

static int read_file(const char *path, char **out, size_t *len, struct isol8_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return isol8_error_set(err, ISOL8_E_NOT_FOUND, "File not found: %s", path);
	if (fd < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot read %s", path);
	return isol8_cli_read_all(fd, path, ISOL8_CLI_MAX_CODE, out, len, err);
}

/* Appends text and a newline to *script (grown with realloc). */
static int append_line(char **script, size_t *used, const char *text, size_t len,
		       struct isol8_error *err)
{
	size_t need;
	char *p;

	if (!isol8_size_add(*used, len, &need) || !isol8_size_add(need, 2, &need) ||
	    need > ISOL8_CLI_MAX_CODE)
		return isol8_error_set(err, ISOL8_E_EXHAUSTED, "--setup: larger than %u MiB",
				       ISOL8_CLI_MAX_CODE / (1024 * 1024));
	p = realloc(*script, need);
	if (p == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	if (*used > 0)
		p[(*used)++] = '\n';
	memcpy(p + *used, text, len);
	*used += len;
	p[*used] = '\0';
	*script = p;
	return 0;
}

/* --setup values, as the original takes them: a value naming a regular file
 * is that file's content, any other value is the commands themselves; all
 * joined by newlines. */
static int load_setup(struct isol8_cli_run *run, struct isol8_error *err)
{
	size_t used = 0;

	for (size_t i = 0; i < run->setup.n; i++) {
		const char *value = run->setup.items[i];
		_cleanup_free_ char *content = NULL;
		struct stat st;
		size_t len = strlen(value);
		int ret;

		if (stat(value, &st) == 0 && S_ISREG(st.st_mode)) {
			ret = read_file(value, &content, &len, err);
			if (ret < 0)
				return isol8_error_prefix(err, "--setup");
			if (memchr(content, '\0', len) != NULL)
				return isol8_error_set(err, ISOL8_E_INVALID,
						       "--setup: %s contains a NUL byte", value);
			value = content;
		}
		ret = append_line(&run->setup_script, &used, value, len, err);
		if (ret < 0)
			return ret;
	}
	if (run->setup_script != NULL)
		run->req.setup_script = run->setup_script;
	return 0;
}

int isol8_cli_run_load_code(struct isol8_cli_run *run, int stdin_fd, bool stdin_is_tty,
			    struct isol8_error *err)
{
	const char *name;
	size_t len = 0;
	int ret;

	ret = load_setup(run, err);
	if (ret == 0 && run->files_dir != NULL)
		ret = isol8_cli_run_read_files(run, run->files_dir, err);
	if (ret < 0)
		return ret;
	if (run->tty && !stdin_is_tty)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "--tty: stdin is not a terminal (use -i alone for piped input)");
	if (run->eval != NULL || run->cmd != NULL || run->url != NULL || run->github != NULL ||
	    run->gist != NULL)
		return 0;
	if (run->interactive && (run->file == NULL || strcmp(run->file, "-") == 0))
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "--%s: stdin is the program's input; give the code as FILE, -e CODE, "
				       "--cmd or a URL",
				       run->tty ? "tty" : "interactive");
	if (run->file != NULL && strcmp(run->file, "-") != 0) {
		name = run->file;
		ret = read_file(run->file, &run->code, &len, err);
	} else if (run->file != NULL || !stdin_is_tty) {
		name = "stdin";
		ret = isol8_cli_read_all(stdin_fd, name, ISOL8_CLI_MAX_CODE, &run->code, &len, err);
	} else {
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "no code: give a file, -e CODE, or pipe code on stdin");
	}
	if (ret < 0)
		return ret;
	if (memchr(run->code, '\0', len) != NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: the code contains a NUL byte",
				       name);
	return 0;
}

/* Splits spec on '/' and checks it has at least min non-empty parts. */
static bool has_parts(const char *spec, int min)
{
	int parts = 0;
	const char *p = spec;

	for (;;) {
		size_t len = strcspn(p, "/");
		if (len == 0)
			return false;
		parts++;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return parts >= min;
}

static int make_url(const char *prefix, const char *spec, char **out, struct isol8_error *err)
{
	if (asprintf(out, "%s%s", prefix, spec) < 0) {
		*out = NULL;
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	return 0;
}

int isol8_cli_github_url(const char *spec, char **out, struct isol8_error *err)
{
	if (!has_parts(spec, 4))
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "--github: \"%s\" is not OWNER/REPO/REF/PATH", spec);
	return make_url("https://raw.githubusercontent.com/", spec, out, err);
}

int isol8_cli_gist_url(const char *spec, char **out, struct isol8_error *err)
{
	if (!has_parts(spec, 2))
		return isol8_error_set(err, ISOL8_E_INVALID, "--gist: \"%s\" is not ID/FILE", spec);
	/* the original's form: ID/raw/FILE */
	size_t id = strcspn(spec, "/");
	if (asprintf(out, "https://gist.githubusercontent.com/%.*s/raw/%s", (int)id, spec, spec + id + 1) < 0) {
		*out = NULL;
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	return 0;
}

static int expand_code_url(struct isol8_cli_run *run, struct isol8_error *err)
{
	int ret = 0;

	if (run->github != NULL)
		ret = isol8_cli_github_url(run->github, &run->code_url, err);
	else if (run->gist != NULL)
		ret = isol8_cli_gist_url(run->gist, &run->code_url, err);
	else if (run->url != NULL && (run->code_url = strdup(run->url)) == NULL)
		ret = isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	if (ret < 0)
		return ret;
	if (run->code_url != NULL && run->code_url[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "--url: empty");
	if (run->code_url != NULL)
		run->req.code_url = run->code_url;
	return 0;
}

/* The lists the flags gathered, as the request's arrays. */
static void fill_lists(struct isol8_cli_run *run)
{
	run->options.secrets = run->secrets.items;
	run->options.n_secrets = run->secrets.n;
	run->options.whitelist = run->allow.items;
	run->options.n_whitelist = run->allow.n;
	run->options.blacklist = run->deny.items;
	run->options.n_blacklist = run->deny.n;
	run->req.env = run->env.items;
	run->req.n_env = run->env.n;
	run->req.files = run->files;
	run->req.n_files = run->n_files;
	run->req.install_packages = run->install.items;
	run->req.n_install_packages = run->install.n;
}

int isol8_cli_run_finish(struct isol8_cli_run *run, struct isol8_error *err)
{
	struct isol8_cli_runtime_choice choice;
	const char *forced = run->runtime;
	const char *source_name;
	int ret;

	ret = expand_code_url(run, err);
	if (ret < 0)
		return ret;
	if (run->cmd != NULL)
		run->req.cmd = run->cmd;
	else if (run->eval != NULL)
		run->req.code = run->eval;
	else if (run->code != NULL)
		run->req.code = run->code;
	if (run->code_url == NULL && run->cmd == NULL && (run->req.code == NULL || run->req.code[0] == '\0'))
		return isol8_error_set(err, ISOL8_E_INVALID, "no code: the code is empty");
	fill_lists(run);
	/* a code URL's runtime is isol8d's to take from its extension (so
	 * every client gets the same); a --runtime given is checked here */
	if (run->code_url != NULL && run->runtime == NULL)
		return 0;
	source_name = run->code_url != NULL ? NULL : run->file;
	if (source_name != NULL && strcmp(source_name, "-") == 0)
		source_name = NULL;
	/* As the original: --cmd runs in bash's image, -e and stdin as python. */
	if (source_name == NULL && run->runtime == NULL && run->code_url == NULL)
		forced = run->cmd != NULL ? "bash" : "python";
	ret = isol8_cli_detect_runtime(source_name, forced, &choice, err);
	if (ret < 0)
		return ret;
	run->req.runtime = choice.runtime;
	run->req.file_extension = choice.file_extension;
	return 0;
}
