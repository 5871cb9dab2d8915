/*
 * protoc-gen-isol8rpc: a protoc plugin that emits gRPC bindings for protoc-c
 * messages (the runtime is rpc.h). Run as
 *   protoc --plugin=protoc-gen-isol8rpc=PATH --isol8rpc_out=DIR -I... FILE.proto
 * For every file to generate that declares services it writes
 * <base>.rpc.h and <base>.rpc.c beside protoc-c's <base>.pb-c.h. Reads a
 * CodeGeneratorRequest on stdin, writes a CodeGeneratorResponse on stdout;
 * problems with the input are reported in the response's error field.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "google/protobuf/compiler/plugin.pb-c.h"
#include "plugin/plugin_emit.h"
#include "plugin/plugin_names.h"

/* Largest CodeGeneratorRequest accepted (bytes). */
#define PLUGIN_REQUEST_MAX (256u * 1024u * 1024u)

typedef Google__Protobuf__Compiler__CodeGeneratorRequest Request;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse Response;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse__File ResponseFile;

static uint8_t *read_stdin(size_t *len)
{
	size_t cap = 64 * 1024, used = 0;
	uint8_t *buf = malloc(cap);

	while (buf != NULL) {
		ssize_t n;

		if (used == cap) {
			uint8_t *grown = cap * 2 <= PLUGIN_REQUEST_MAX ? realloc(buf, cap * 2) : NULL;

			if (grown == NULL)
				break;
			buf = grown;
			cap *= 2;
		}
		n = read(STDIN_FILENO, buf + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0) {
			*len = used;
			return buf;
		}
		used += (size_t)n;
	}
	free(buf);
	return NULL;
}

static bool write_stdout(const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

static const Google__Protobuf__FileDescriptorProto *find_file(const Request *req, const char *name)
{
	for (size_t i = 0; i < req->n_proto_file; i++)
		if (req->proto_file[i]->name != NULL && strcmp(req->proto_file[i]->name, name) == 0)
			return req->proto_file[i];
	return NULL;
}

/* Appends a file to resp; takes ownership of content. */
static int add_file(Response *resp, const char *base, const char *suffix, char *content)
{
	ResponseFile *f = malloc(sizeof(*f));
	ResponseFile **grown = realloc(resp->file, (resp->n_file + 1) * sizeof(*resp->file));

	if (grown != NULL)
		resp->file = grown;
	if (f == NULL || grown == NULL) {
		free(f);
		free(content);
		return -1;
	}
	google__protobuf__compiler__code_generator_response__file__init(f);
	f->name = plugin_name_printf("%s%s", base, suffix);
	f->content = content;
	resp->file[resp->n_file++] = f;
	return f->name != NULL ? 0 : -1;
}

static int generate_file(Response *resp, const Google__Protobuf__FileDescriptorProto *file,
			 const char **error)
{
	struct plugin_output out;
	char *base;
	int ret;

	if (file->n_service == 0)
		return 0;
	if (plugin_emit_file(file, &out, error) < 0)
		return -1;
	base = plugin_name_base(file->name);
	if (base == NULL) {
		free(out.header);
		free(out.source);
		*error = "out of memory";
		return -1;
	}
	ret = add_file(resp, base, ".rpc.h", out.header);
	if (add_file(resp, base, ".rpc.c", out.source) < 0 || ret < 0) {
		*error = "out of memory";
		ret = -1;
	}
	free(base);
	return ret;
}

static void response_free(Response *resp)
{
	for (size_t i = 0; i < resp->n_file; i++) {
		free(resp->file[i]->name);
		free(resp->file[i]->content);
		free(resp->file[i]);
	}
	free(resp->file);
}

static int generate(const Request *req, Response *resp)
{
	const char *error = NULL;

	for (size_t i = 0; i < req->n_file_to_generate && error == NULL; i++) {
		const Google__Protobuf__FileDescriptorProto *file = find_file(req, req->file_to_generate[i]);

		if (file == NULL)
			error = "a file to generate is missing from the request";
		else
			generate_file(resp, file, &error);
	}
	if (error == NULL)
		return 0;
	response_free(resp);
	resp->n_file = 0;
	resp->file = NULL;
	resp->error = (char *)error;
	return -1;
}

static int respond(const Response *resp)
{
	size_t len = google__protobuf__compiler__code_generator_response__get_packed_size(resp);
	uint8_t *buf = malloc(len ? len : 1);
	bool ok;

	if (buf == NULL)
		return -1;
	google__protobuf__compiler__code_generator_response__pack(resp, buf);
	ok = write_stdout(buf, len);
	free(buf);
	return ok ? 0 : -1;
}

int main(void)
{
	Response resp = GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__INIT;
	Request *req;
	uint8_t *input;
	size_t len = 0;
	int ret;

	input = read_stdin(&len);
	if (input == NULL) {
		fprintf(stderr, "protoc-gen-isol8rpc: cannot read the request on stdin\n");
		return 1;
	}
	req = google__protobuf__compiler__code_generator_request__unpack(NULL, len, input);
	free(input);
	if (req == NULL) {
		fprintf(stderr, "protoc-gen-isol8rpc: stdin is not a CodeGeneratorRequest\n");
		return 1;
	}
	resp.has_supported_features = true;
	resp.supported_features =
		GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__FEATURE__FEATURE_PROTO3_OPTIONAL;
	generate(req, &resp);
	ret = respond(&resp);
	if (resp.error == NULL)
		response_free(&resp);
	google__protobuf__compiler__code_generator_request__free_unpacked(req, NULL);
	if (ret < 0) {
		fprintf(stderr, "protoc-gen-isol8rpc: cannot write the response\n");
		return 1;
	}
	return 0;
}
