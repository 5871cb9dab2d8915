/*
 * Image builds (POST /build with a tar of the context) and imports (POST
 * /images/create?fromSrc=- with a root file system tar). Docker streams one
 * JSON object per line: {"stream": text}, {"status": text}, {"aux": ...} or
 * {"error": message, "errorDetail": ...}. Text goes to the progress callback
 * line by line; an "error" line makes the call fail with that message.
 */
#include <stdlib.h>
#include <string.h>

#include "docker/docker_internal.h"
#include "docker/tar.h"
#include "base/util.h"

struct build_state {
	isol8_docker_progress_fn cb;
	void *userdata;
	char error[ISOL8_ERROR_MESSAGE_MAX];
	bool failed;
};

/* Removes terminal escape sequences (Docker colours a step's stderr) and
 * other control characters from line, in place: progress is plain text. */
static void strip_controls(char *line)
{
	char *out = line;

	for (const char *p = line; *p; p++) {
		if (*p == '\033' && p[1] == '[') {
			p += 2;
			while (*p && !(*p >= '@' && *p <= '~'))
				p++;
			if (*p == '\0')
				break;
			continue;
		}
		if ((unsigned char)*p >= 0x20 || *p == '\t')
			*out++ = *p;
	}
	*out = '\0';
}

/* Calls cb for every non-empty line of text (which it edits in place). */
static void report_lines(struct build_state *s, char *text)
{
	char *save = NULL;

	if (s->cb == NULL)
		return;
	for (char *line = strtok_r(text, "\r\n", &save); line != NULL; line = strtok_r(NULL, "\r\n", &save)) {
		strip_controls(line);
		if (line[0] != '\0')
			s->cb(line, s->userdata);
	}
}

static void record_error(struct build_state *s, const char *message)
{
	size_t n = strcspn(message, "\r\n");

	if (s->failed)
		return;
	s->failed = true;
	if (n >= sizeof(s->error))
		n = sizeof(s->error) - 1;
	memcpy(s->error, message, n);
	s->error[n] = '\0';
}

static int on_build_line(const char *line, size_t len, void *userdata)
{
	struct build_state *s = userdata;
	_cleanup_cjson_ cJSON *json = NULL;
	const char *text;

	if (len == 0)
		return 0;
	json = cJSON_ParseWithLength(line, len);
	if (json == NULL)
		return 0; /* not a progress object: nothing to report */
	if ((text = isol8_json_string(json, "error")) != NULL)
		record_error(s, text);
	else if ((text = isol8_json_string(json, "stream")) != NULL)
		report_lines(s, cJSON_GetObjectItemCaseSensitive(json, "stream")->valuestring);
	else if ((text = isol8_json_string(json, "status")) != NULL)
		report_lines(s, cJSON_GetObjectItemCaseSensitive(json, "status")->valuestring);
	return 0;
}

/* {"key": "value", ...} URL-escaped into *out (caller frees). */
static int pairs_param(const struct isol8_label *pairs, size_t n, char **out, struct isol8_error *err)
{
	_cleanup_cjson_ cJSON *obj = cJSON_CreateObject();
	_cleanup_free_ char *text = NULL;

	if (n > 0 && pairs == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "image build: label or build arg list is NULL");
	for (size_t i = 0; obj != NULL && i < n; i++) {
		if (pairs[i].key == NULL || pairs[i].key[0] == '\0')
			return isol8_error_set(err, ISOL8_E_INVALID, "image build: label or build arg %zu has no key", i);
		if (cJSON_AddStringToObject(obj, pairs[i].key, pairs[i].value ? pairs[i].value : "") == NULL)
			return isol8_error_set(err, ISOL8_E_NOMEM, "image build: out of memory");
	}
	text = obj ? cJSON_PrintUnformatted(obj) : NULL;
	*out = text ? isol8_docker_url_escape(text) : NULL;
	if (*out == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "image build: out of memory");
	return 0;
}

static int build_path(const char *tag, const char *network_mode, const struct isol8_label *labels, size_t n_labels,
		      const struct isol8_label *build_args, size_t n_build_args, char **out, struct isol8_error *err)
{
	_cleanup_free_ char *tag_q = isol8_docker_url_escape(tag);
	_cleanup_free_ char *labels_q = NULL;
	_cleanup_free_ char *args_q = NULL;
	int r;

	*out = NULL;
	if (tag_q == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "image build: out of memory");
	if ((r = pairs_param(labels, n_labels, &labels_q, err)) < 0 ||
	    (r = pairs_param(build_args, n_build_args, &args_q, err)) < 0)
		return r;
	if (network_mode != NULL && strcmp(network_mode, "host") != 0 && strcmp(network_mode, "none") != 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "image build: network mode \"%s\" (host or none)",
				       network_mode);
	*out = isol8_docker_format(NULL, "/build?t=%s&rm=1&forcerm=1&labels=%s&buildargs=%s%s%s", tag_q, labels_q,
				   args_q, network_mode ? "&networkmode=" : "", network_mode ? network_mode : "");
	if (*out == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "image build: out of memory");
	return 0;
}

/* Sends a request whose 2xx body is a progress stream; "what" names it in errors. */
static int progress_request(struct isol8_docker *d, struct isol8_docker_request *req, const char *what,
			    const char *tag, isol8_docker_progress_fn cb, void *userdata, struct isol8_error *err)
{
	_cleanup_response_ struct isol8_docker_response resp = {0};
	struct build_state state = {.cb = cb, .userdata = userdata};
	int r;

	req->on_line = on_build_line;
	req->userdata = &state;
	req->no_timeout = true;
	r = isol8_docker_http(d, req, &resp, err);
	if (r < 0)
		return r;
	r = isol8_docker_check_status(&resp, err);
	if (r < 0)
		return r;
	if (state.failed)
		return isol8_error_set(err, ISOL8_E_IO, "docker: %s of \"%s\" failed: %s", what, tag, state.error);
	return 0;
}

/* /images/create?fromSrc=-&repo=TAG&changes=..., each change escaped. */
static int import_path(const char *tag, const char *const *changes, char **out, struct isol8_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *tag_q = isol8_docker_url_escape(tag);

	*out = NULL;
	if (tag_q == NULL || (path = isol8_docker_format(NULL, "/images/create?fromSrc=-&repo=%s", tag_q)) == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "image import: out of memory");
	for (size_t i = 0; changes != NULL && changes[i] != NULL; i++) {
		_cleanup_free_ char *change_q = isol8_docker_url_escape(changes[i]);
		char *longer = change_q ? isol8_docker_format(NULL, "%s&changes=%s", path, change_q) : NULL;
		if (longer == NULL)
			return isol8_error_set(err, ISOL8_E_NOMEM, "image import: out of memory");
		free(path);
		path = longer;
	}
	*out = ISOL8_TAKE(path);
	return 0;
}

int isol8_docker_image_import(struct isol8_docker *d, const char *tag, int tar_fd, size_t tar_len,
			      const char *const *changes, isol8_docker_progress_fn cb, void *userdata,
			      struct isol8_error *err)
{
	_cleanup_free_ char *path = NULL;
	int r;

	r = isol8_docker_check_ref("image tag", tag, err);
	if (r == 0)
		r = import_path(tag, changes, &path, err);
	if (r < 0)
		return r;
	struct isol8_docker_request req = {
		.method = "POST", .path = path, .content_type = "application/x-tar",
		.body_len = tar_len, .body_from_fd = true, .body_fd = tar_fd,
	};
	return progress_request(d, &req, "import", tag, cb, userdata, err);
}

int isol8_docker_image_build(struct isol8_docker *d, const char *tag, const struct isol8_build_file *files,
			     size_t n_files, const struct isol8_label *labels, size_t n_labels,
			     const struct isol8_label *build_args, size_t n_build_args,
			     isol8_docker_progress_fn cb, void *userdata, struct isol8_error *err)
{
	return isol8_docker_image_build_on(d, NULL, tag, files, n_files, labels, n_labels, build_args, n_build_args, cb,
					   userdata, err);
}

int isol8_docker_image_build_on(struct isol8_docker *d, const char *network_mode, const char *tag,
				const struct isol8_build_file *files, size_t n_files, const struct isol8_label *labels,
				size_t n_labels, const struct isol8_label *build_args, size_t n_build_args,
				isol8_docker_progress_fn cb, void *userdata, struct isol8_error *err)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ void *context = NULL;
	size_t context_len;
	int r;

	r = isol8_docker_check_ref("image tag", tag, err);
	if (r < 0)
		return r;
	r = isol8_tar_write(files, n_files, &context, &context_len, err);
	if (r < 0)
		return r;
	r = build_path(tag, network_mode, labels, n_labels, build_args, n_build_args, &path, err);
	if (r < 0)
		return r;
	struct isol8_docker_request req = {
		.method = "POST", .path = path, .content_type = "application/x-tar", .body = context,
		.body_len = context_len,
	};
	return progress_request(d, &req, "build", tag, cb, userdata, err);
}
