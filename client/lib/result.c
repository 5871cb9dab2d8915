/* ExecuteResult -> struct isol8_result: see result.h. */
#include "lib/result.h"

#include <stdlib.h>

#include "lib/client.h"

static void copy_files(struct isol8_result *r, const Isol8__V1__ExecuteResult *m, bool *oom)
{
	r->files = isol8_copy_array(oom, m->n_files, sizeof(*r->files));
	if (r->files == NULL)
		return;
	r->n_files = m->n_files;
	for (size_t i = 0; i < m->n_files; i++) {
		const Isol8__V1__ExecuteResult__FilesEntry *f = m->files[i];
		r->files[i].path = isol8_copy_str(oom, f->key);
		r->files[i].data = (unsigned char *)isol8_copy_bytes(oom, f->value.data, f->value.len);
		r->files[i].size = f->value.len;
	}
}

static void copy_network_logs(struct isol8_result *r, const Isol8__V1__ExecuteResult *m, bool *oom)
{
	r->network_logs = isol8_copy_array(oom, m->n_network_logs, sizeof(*r->network_logs));
	if (r->network_logs == NULL)
		return;
	r->n_network_logs = m->n_network_logs;
	for (size_t i = 0; i < m->n_network_logs; i++) {
		const Isol8__V1__NetworkLogEntry *e = m->network_logs[i];
		struct isol8_network_log *l = &r->network_logs[i];
		l->timestamp = isol8_copy_str(oom, e->timestamp);
		l->method = isol8_copy_str(oom, e->method);
		l->host = isol8_copy_str(oom, e->host);
		l->path = isol8_copy_str_opt(oom, e->path);
		l->allowed = e->allowed;
		l->duration_ms = e->duration_ms;
	}
}

static void copy_scalars(struct isol8_result *r, const Isol8__V1__ExecuteResult *m)
{
	r->exit_code = m->exit_code;
	r->signal = m->signal;
	r->timed_out = m->timed_out;
	r->truncated = m->truncated;
	r->oom_killed = m->oom_killed;
	r->state_reset = m->state_reset;
	r->duration_ms = m->duration_ms;
	if (m->resource_usage != NULL) {
		r->has_usage = true;
		r->cpu_user_ms = m->resource_usage->cpu_user_ms;
		r->cpu_system_ms = m->resource_usage->cpu_system_ms;
		r->max_rss_kb = m->resource_usage->max_rss_kb;
	}
	if (m->timings != NULL) {
		r->timings.queue_us = m->timings->queue_us;
		r->timings.acquire_us = m->timings->acquire_us;
		r->timings.exec_us = m->timings->exec_us;
		r->timings.first_output_us = m->timings->first_output_us;
		r->timings.release_us = m->timings->release_us;
		r->timings.cold = m->timings->cold;
		r->timings.prestarted = m->timings->prestarted;
	}
}

int isol8_result_from_proto(struct isol8_result **out, const Isol8__V1__ExecuteResult *m, struct isol8_error *err)
{
	struct isol8_result *r = calloc(1, sizeof(*r));
	bool oom = r == NULL;

	*out = NULL;
	if (r == NULL)
		return isol8_client_nomem(err, "copying the result");
	r->stdout_data = isol8_copy_bytes(&oom, m->stdout.data, m->stdout.len);
	r->stdout_size = m->stdout.len;
	r->stderr_data = isol8_copy_bytes(&oom, m->stderr.data, m->stderr.len);
	r->stderr_size = m->stderr.len;
	r->execution_id = isol8_copy_str(&oom, m->execution_id);
	r->runtime = isol8_copy_str(&oom, m->runtime);
	r->timestamp = isol8_copy_str(&oom, m->timestamp);
	r->container_id = isol8_copy_str(&oom, m->container_id);
	r->session_id = isol8_copy_str_opt(&oom, m->session_id);
	copy_scalars(r, m);
	copy_files(r, m, &oom);
	copy_network_logs(r, m, &oom);
	if (oom) {
		isol8_result_free(r);
		return isol8_client_nomem(err, "copying the result");
	}
	*out = r;
	return 0;
}

void isol8_result_free(struct isol8_result *r)
{
	if (r == NULL)
		return;
	free(r->stdout_data);
	free(r->stderr_data);
	free(r->execution_id);
	free(r->runtime);
	free(r->timestamp);
	free(r->container_id);
	free(r->session_id);
	for (size_t i = 0; i < r->n_files; i++) {
		free(r->files[i].path);
		free(r->files[i].data);
	}
	free(r->files);
	for (size_t i = 0; i < r->n_network_logs; i++) {
		free(r->network_logs[i].timestamp);
		free(r->network_logs[i].method);
		free(r->network_logs[i].host);
		free(r->network_logs[i].path);
	}
	free(r->network_logs);
	free(r);
}
