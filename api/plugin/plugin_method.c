/* Names of one service method: see plugin_method.h. */
#include "plugin/plugin_method.h"

#include <stdlib.h>
#include <string.h>

#include "plugin/plugin_names.h"

static const char *skip_dot(const char *name)
{
	return name[0] == '.' ? name + 1 : name;
}

static char *descriptor_name(const char *full_name)
{
	char *lower = plugin_name_lower(full_name);
	char *name;

	if (lower == NULL)
		return NULL;
	name = plugin_name_printf("%s__descriptor", lower);
	free(lower);
	return name;
}

int plugin_method_init(struct plugin_method *m, const char *service_full,
		       const Google__Protobuf__MethodDescriptorProto *md)
{
	char *full;

	memset(m, 0, sizeof(*m));
	if (md->name == NULL || md->input_type == NULL || md->output_type == NULL)
		return -1;
	m->name = md->name;
	m->in_full = skip_dot(md->input_type);
	m->out_full = skip_dot(md->output_type);
	m->client_streaming = md->has_client_streaming && md->client_streaming;
	m->server_streaming = md->has_server_streaming && md->server_streaming;

	full = plugin_name_join(service_full, md->name);
	m->prefix = full ? plugin_name_lower(full) : NULL;
	free(full);
	m->path = plugin_name_printf("/%s/%s", service_full, md->name);
	m->in_type = plugin_name_type(m->in_full);
	m->out_type = plugin_name_type(m->out_full);
	m->in_desc = descriptor_name(m->in_full);
	m->out_desc = descriptor_name(m->out_full);
	if (!m->prefix || !m->path || !m->in_type || !m->out_type || !m->in_desc || !m->out_desc) {
		plugin_method_free(m);
		return -1;
	}
	return 0;
}

void plugin_method_free(struct plugin_method *m)
{
	free(m->prefix);
	free(m->path);
	free(m->in_type);
	free(m->out_type);
	free(m->in_desc);
	free(m->out_desc);
	memset(m, 0, sizeof(*m));
}
