/* struct isol8_request -> isol8.v1.ExecuteRequest: see request.h. */
#include "lib/request.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* A string-to-string map field's entry type, so that env, metadata and
 * secrets are built by one function. */
struct string_map {
	const ProtobufCMessageDescriptor *entry;
	size_t size;      /* sizeof the entry struct */
	size_t key_off;   /* offsetof its key */
	size_t value_off; /* offsetof its value */
};

#define STRING_MAP(type, desc) {&desc, sizeof(type), offsetof(type, key), offsetof(type, value)}

static const struct string_map env_map =
	STRING_MAP(Isol8__V1__ExecuteRequest__EnvEntry, isol8__v1__execute_request__env_entry__descriptor);
static const struct string_map metadata_map =
	STRING_MAP(Isol8__V1__ExecuteRequest__MetadataEntry, isol8__v1__execute_request__metadata_entry__descriptor);
static const struct string_map secrets_map =
	STRING_MAP(Isol8__V1__ExecutionOptions__SecretsEntry, isol8__v1__execution_options__secrets_entry__descriptor);

/* n entries of size bytes and n pointers to them, in one block owned by p;
 * *entries gets the pointers. NULL for n 0. */
static void *entries_alloc(struct isol8_request_proto *p, size_t n, size_t size, void ***entries,
			   struct isol8_error *err)
{
	size_t each, total;
	char *block;

	*entries = NULL;
	if (n == 0)
		return NULL;
	if (!isol8_size_add(size, sizeof(void *), &each) || !isol8_size_mul(n, each, &total) ||
	    p->n_blocks == ISOL8_REQUEST_PROTO_BLOCKS || (block = calloc(1, total)) == NULL) {
		isol8_error_set(err, ISOL8_E_NOMEM, "out of memory building the request");
		return NULL;
	}
	p->blocks[p->n_blocks++] = block;
	*entries = (void **)(block + n * size);
	for (size_t i = 0; i < n; i++)
		(*entries)[i] = block + i * size;
	return block;
}

/* A list of n pointers given as base: NULL only when empty. */
static int check_list(const char *what, const void *list, size_t n, struct isol8_error *err)
{
	if (n > 0 && list == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s is NULL but its count is %zu", what, n);
	return 0;
}

static int string_map(struct isol8_request_proto *p, const char *what, const struct isol8_kv *kv, size_t n,
		      const struct string_map *shape, size_t *n_out, void *out, struct isol8_error *err)
{
	void **entries;
	int ret = check_list(what, kv, n, err);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (kv[i].key == NULL)
			return isol8_error_set(err, ISOL8_E_INVALID, "%s[%zu].key is NULL", what, i);
		if (kv[i].value == NULL)
			return isol8_error_set(err, ISOL8_E_INVALID, "%s[%zu].value (%s) is NULL", what, i,
					       kv[i].key);
	}
	if (n > 0 && entries_alloc(p, n, shape->size, &entries, err) == NULL)
		return -ISOL8_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		char *entry = entries[i];
		protobuf_c_message_init(shape->entry, entry);
		*(const char **)(entry + shape->key_off) = kv[i].key;
		*(const char **)(entry + shape->value_off) = kv[i].value;
	}
	*n_out = n;
	*(void ***)out = n > 0 ? entries : NULL;
	return 0;
}

/* A list of strings: borrowed as it is, once no member is NULL. */
static int string_list(const char *what, const char *const *list, size_t n, size_t *n_out, char ***out,
		       struct isol8_error *err)
{
	int ret = check_list(what, list, n, err);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++)
		if (list[i] == NULL)
			return isol8_error_set(err, ISOL8_E_INVALID, "%s[%zu] is NULL", what, i);
	*n_out = n;
	*out = n > 0 ? (char **)list : NULL; /* protobuf-c only reads them */
	return 0;
}

static int check_files(const struct isol8_request *req, size_t *n_modes, struct isol8_error *err)
{
	int ret = check_list("files", req->files, req->n_files, err);

	*n_modes = 0;
	for (size_t i = 0; ret == 0 && i < req->n_files; i++) {
		const struct isol8_file *f = &req->files[i];
		if (f->path == NULL)
			return isol8_error_set(err, ISOL8_E_INVALID, "files[%zu].path is NULL", i);
		if (f->data == NULL && f->size > 0)
			return isol8_error_set(err, ISOL8_E_INVALID, "files[%zu].data (%s) is NULL but its size is %zu",
					       i, f->path, f->size);
		if (f->mode != 0)
			(*n_modes)++;
	}
	return ret;
}

/* files and, for those with a mode, file_modes. */
static int files_map(struct isol8_request_proto *p, const struct isol8_request *req, struct isol8_error *err)
{
	Isol8__V1__ExecuteRequest__FilesEntry **files = NULL;
	Isol8__V1__ExecuteRequest__FileModesEntry **modes = NULL;
	size_t n_modes, m = 0;
	int ret = check_files(req, &n_modes, err);

	if (ret < 0 || req->n_files == 0)
		return ret;
	if (entries_alloc(p, req->n_files, sizeof(**files), (void ***)&files, err) == NULL ||
	    (n_modes > 0 && entries_alloc(p, n_modes, sizeof(**modes), (void ***)&modes, err) == NULL))
		return -ISOL8_E_NOMEM;
	for (size_t i = 0; i < req->n_files; i++) {
		const struct isol8_file *f = &req->files[i];
		isol8__v1__execute_request__files_entry__init(files[i]);
		files[i]->key = (char *)f->path;
		files[i]->value = (ProtobufCBinaryData){f->size, (uint8_t *)f->data};
		if (f->mode == 0)
			continue;
		isol8__v1__execute_request__file_modes_entry__init(modes[m]);
		modes[m]->key = (char *)f->path;
		modes[m++]->value = f->mode;
	}
	p->msg.n_files = req->n_files;
	p->msg.files = files;
	p->msg.n_file_modes = n_modes;
	p->msg.file_modes = n_modes > 0 ? modes : NULL;
	return 0;
}

/* "" stays the default: only a set string replaces it. */
static void set_str(char **field, const char *value)
{
	if (value != NULL)
		*field = (char *)value;
}

static int readonly_root_fs(struct isol8_request_proto *p, int value, struct isol8_error *err)
{
	if (value == -1 || value == 0)
		return 0;
	if (value != 1 && value != 2)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "options.readonly_root_fs must be -1 or 0 (default), 1 (read-only) or 2 "
				       "(writable), not %d",
				       value);
	google__protobuf__bool_value__init(&p->readonly_root_fs);
	p->readonly_root_fs.value = value == 1;
	p->options.readonly_root_fs = &p->readonly_root_fs;
	return 0;
}

static int options_message(struct isol8_request_proto *p, const struct isol8_options *o, struct isol8_error *err)
{
	Isol8__V1__ExecutionOptions *m = &p->options;
	int ret;

	isol8__v1__execution_options__init(m);
	set_str(&m->network, o->network);
	m->cpu_limit = o->cpu_limit;
	set_str(&m->memory_limit, o->memory_limit);
	m->pids_limit = o->pids_limit;
	m->max_output_size = o->max_output_size;
	set_str(&m->image, o->image);
	set_str(&m->sandbox_size, o->sandbox_size);
	set_str(&m->tmp_size, o->tmp_size);
	set_str(&m->seccomp, o->seccomp);
	set_str(&m->seccomp_profile, o->seccomp_profile);
	m->persist = o->persist;
	m->log_network = o->log_network;
	ret = readonly_root_fs(p, o->readonly_root_fs, err);
	if (ret == 0)
		ret = string_map(p, "options.secrets", o->secrets, o->n_secrets, &secrets_map, &m->n_secrets,
				 &m->secrets, err);
	isol8__v1__network_filter__init(&p->filter);
	if (ret == 0)
		ret = string_list("options.whitelist", o->whitelist, o->n_whitelist, &p->filter.n_whitelist,
				  &p->filter.whitelist, err);
	if (ret == 0)
		ret = string_list("options.blacklist", o->blacklist, o->n_blacklist, &p->filter.n_blacklist,
				  &p->filter.blacklist, err);
	if (ret == 0 && (o->n_whitelist > 0 || o->n_blacklist > 0))
		m->network_filter = &p->filter;
	return ret;
}

/* The scalar and string members. */
static void plain_members(Isol8__V1__ExecuteRequest *m, const struct isol8_request *req)
{
	set_str(&m->runtime, req->runtime);
	set_str(&m->code, req->code);
	set_str(&m->cmd, req->cmd);
	set_str(&m->code_url, req->code_url);
	set_str(&m->code_hash, req->code_hash);
	m->allow_insecure_code_url = req->allow_insecure_code_url;
	m->timeout_ms = req->timeout_ms;
	set_str(&m->file_extension, req->file_extension);
	set_str(&m->session_id, req->session_id);
	set_str(&m->setup_script, req->setup_script);
	set_str(&m->workdir, req->workdir);
	m->stdin = (ProtobufCBinaryData){req->stdin_size, (uint8_t *)req->stdin_data};
	m->tty = req->tty;
}

static int build(struct isol8_request_proto *p, const struct isol8_request *req, struct isol8_error *err)
{
	Isol8__V1__ExecuteRequest *m = &p->msg;
	int ret;

	if (req == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "request is NULL");
	if (req->stdin_data == NULL && req->stdin_size > 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "stdin_data is NULL but stdin_size is %zu",
				       req->stdin_size);
	plain_members(m, req);
	if (req->rows > 0 || req->cols > 0) {
		isol8__v1__window_size__init(&p->window);
		p->window.rows = req->rows;
		p->window.cols = req->cols;
		m->window = &p->window;
	}
	ret = string_map(p, "env", req->env, req->n_env, &env_map, &m->n_env, &m->env, err);
	if (ret == 0)
		ret = string_map(p, "metadata", req->metadata, req->n_metadata, &metadata_map, &m->n_metadata,
				 &m->metadata, err);
	if (ret == 0)
		ret = files_map(p, req, err);
	if (ret == 0)
		ret = string_list("output_paths", req->output_paths, req->n_output_paths, &m->n_output_paths,
				  &m->output_paths, err);
	if (ret == 0)
		ret = string_list("install_packages", req->install_packages, req->n_install_packages,
				  &m->n_install_packages, &m->install_packages, err);
	if (ret == 0 && req->options != NULL) {
		ret = options_message(p, req->options, err);
		m->options = &p->options;
	}
	return ret;
}

int isol8_request_to_proto(struct isol8_request_proto *out, const struct isol8_request *req,
			   struct isol8_error *err)
{
	int ret;

	memset(out, 0, sizeof(*out));
	isol8__v1__execute_request__init(&out->msg);
	ret = build(out, req, err);
	if (ret < 0)
		isol8_request_proto_release(out);
	return ret;
}

void isol8_request_proto_release(struct isol8_request_proto *p)
{
	for (size_t i = 0; i < p->n_blocks; i++)
		free(p->blocks[i]);
	p->n_blocks = 0;
	isol8__v1__execute_request__init(&p->msg);
}
