/* File transfers with a session's sandbox, and their log lines: see
 * isol8_service_put_file in service.h. */
#include "base/log.h"
#include "base/util.h"
#include "service/service.h"

static void log_transfer(const char *what, const char *session_id, const char *path, uint64_t bytes,
			 const struct isol8_error *err, int64_t started_ms)
{
	long long ms = (long long)(isol8_now_ms() - started_ms);

	if (err->code != 0)
		isol8_log(ISOL8_LOG_WARN, "%s session=%s path=%s bytes=%llu error=%s msg=%s ms=%lld", what,
			  ISOL8_LOG_Q(session_id), ISOL8_LOG_Q(path), (unsigned long long)bytes,
			  isol8_error_code_name(err->code), ISOL8_LOG_Q(err->message), ms);
	else
		isol8_log(ISOL8_LOG_INFO, "%s session=%s path=%s bytes=%llu ms=%lld", what, ISOL8_LOG_Q(session_id),
			  ISOL8_LOG_Q(path), (unsigned long long)bytes, ms);
}

int isol8_service_put_file(struct isol8_service *s, const char *session_id, const char *path, uint32_t mode,
			   isol8_file_source_fn next, void *userdata, uint64_t *size, struct isol8_error *err)
{
	int64_t started_ms = isol8_now_ms();
	int ret = isol8_engine_put_file(s->engine, session_id, path, mode, next, userdata, size, err);

	log_transfer("put_file", session_id, path, *size, err, started_ms);
	return ret;
}

/* Counts what a download hands on, for its log line. */
struct counted_sink {
	int (*on_chunk)(void *userdata, const uint8_t *data, size_t len);
	void *userdata;
	uint64_t bytes;
};

static int counted_chunk(void *userdata, const uint8_t *data, size_t len)
{
	struct counted_sink *c = userdata;
	int ret = c->on_chunk(c->userdata, data, len);

	if (ret == 0)
		c->bytes += len;
	return ret;
}

int isol8_service_get_file(struct isol8_service *s, const char *session_id, const char *path,
			   int (*on_chunk)(void *userdata, const uint8_t *data, size_t len), void *userdata,
			   struct isol8_error *err)
{
	struct counted_sink c = {.on_chunk = on_chunk, .userdata = userdata};
	int64_t started_ms = isol8_now_ms();
	int ret = isol8_engine_get_file(s->engine, session_id, path, counted_chunk, &c, err);

	log_transfer("get_file", session_id, path, c.bytes, err, started_ms);
	return ret;
}
