/*
 * The transport-neutral service layer: what every front end of isol8d (the
 * gRPC server today, the REST gateway next) does the same way around the
 * engine: authentication, activity accounting, the execution with its
 * output handling, the result message and the log line. A front end turns
 * its transport into these calls, and their errors into its statuses.
 *
 * Threads: every function may be called from many threads at once; the
 * counters are atomics and the engine is thread safe.
 */
#ifndef ISOL8_SERVICE_H
#define ISOL8_SERVICE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"
#include "isol8/error.h"
#include "isol8/v1/isol8.pb-c.h"

struct isol8_service {
	struct isol8_engine *engine;
	const char *api_key;          /* NULL: remote callers and presented keys are refused */
	atomic_int calls;             /* calls between begin and end */
	atomic_llong last_activity;   /* isol8_now_ms() of the last begin or end */
};

void isol8_service_init(struct isol8_service *s, struct isol8_engine *engine, const char *api_key);

/* A call begins: it is counted, and its credentials checked.
 * authorization: the caller's "authorization" value ("Bearer <key>"), or
 * NULL. A call that presents one is held to the daemon's key wherever it
 * comes from (a daemon without a key refuses every presented key, saying
 * it has none); one that presents none passes only when local: it came
 * over the daemon's own unix socket, which only its owner can open. what
 * names the call for the log. A refusal is ISOL8_E_UNAUTHENTICATED (and
 * logged). isol8_service_end follows either way. */
int isol8_service_begin(struct isol8_service *s, bool local, const char *authorization, const char *what,
			struct isol8_error *err);
void isol8_service_end(struct isol8_service *s);

/* Where an execution's output goes. on_output NULL: it is gathered into the
 * result, up to gather_max bytes in all (what one reply message carries:
 * ISOL8_SERVICE_GATHER_MAX of the transport's message limit); what passes it
 * is dropped and the result says truncated. cancelled (may be NULL) says the
 * caller left. */
struct isol8_service_output {
	int (*on_output)(void *userdata, enum isol8_phase phase, int stream, const uint8_t *data, size_t len);
	/* Streamed only: what ended the run early, as the original words it
	 * ("EXECUTION TIMED OUT", "OUT OF MEMORY (limit 512m)", "Setup script
	 * failed (exit code N)"), just before the exit. May be NULL. */
	int (*on_error)(void *userdata, enum isol8_phase phase, const char *message);
	bool (*cancelled)(void *userdata);
	void *userdata;
	size_t gather_max;
	/* Streamed only: an interactive run's input, as struct isol8_exec_sink
	 * takes it (engine.h); NULL: none. */
	int (*next_input)(void *input_userdata, struct isol8_input *in);
	int input_fd;
	void *input_userdata;
};

/* One execution's result: message points into the rest. A gathered
 * result's stdout and stderr have their trailing whitespace trimmed, then
 * the original's markers appended: stdout "--- OUTPUT TRUNCATED (<total>
 * bytes, limit: <limit>) ---"; stderr "--- EXECUTION TIMED OUT ---",
 * "--- OUT OF MEMORY (limit <memory>) ---", "Setup script failed (exit code
 * N)". A timeout's exit code is 137. */
struct isol8_service_result {
	Isol8__V1__ExecuteResult message;
	Isol8__V1__ResourceUsage usage;
	Isol8__V1__EngineTimings timings;
	Isol8__V1__ExecuteResult__FilesEntry *file_entries;
	Isol8__V1__ExecuteResult__FilesEntry **file_ptrs;
	Isol8__V1__NetworkLogEntry *net_entries;   /* the run's network logs, pointing into run */
	Isol8__V1__NetworkLogEntry **net_ptrs;
	struct isol8_exec_result run;
	uint8_t *gathered[2];
	size_t len[2], cap[2];
	bool truncated;
	const struct isol8_service_output *output;
};

/* Runs req; on success res->message is the result to send. local: the
 * call came over the daemon's own unix socket (isol8_engine_execute says
 * what the policy makes of it). Logs one line (and the phases at debug
 * level). A program that fails or times out is a result, not an error.
 * isol8_service_result_release after, either way. */
int isol8_service_execute(struct isol8_service *s, const Isol8__V1__ExecuteRequest *req, bool local,
			  const struct isol8_service_output *output, struct isol8_service_result *res,
			  struct isol8_error *err);
void isol8_service_result_release(struct isol8_service_result *res);

/* An execution's metadata (ExecuteRequest.metadata): at most 32 entries,
 * each key 1 to 64 characters of [A-Za-z0-9_.-], each value at most 256
 * bytes, no key twice; ISOL8_E_INVALID naming the key otherwise.
 * isol8_service_execute checks it before anything runs, writes it to the
 * execution's log line (" meta.<key>=\"<value>\"" each, values escaped)
 * and never hands it to the program. */
#define ISOL8_METADATA_MAX_ENTRIES 32
#define ISOL8_METADATA_KEY_MAX 64
#define ISOL8_METADATA_VALUE_MAX 256
int isol8_service_metadata_check(const Isol8__V1__ExecuteRequest *req, struct isol8_error *err);
/* The log line's part for a checked request, malloc'd ("" without
 * metadata); NULL when out of memory. */
char *isol8_service_metadata_format(const Isol8__V1__ExecuteRequest *req);

/* File transfers with a session's sandbox (isol8_engine_put_file and
 * isol8_engine_get_file say what they check and stream), each logged in
 * one line. A front end feeds next from its transport a chunk at a time
 * and sends each chunk on_chunk gets before returning, so neither side
 * holds more than a chunk. */
int isol8_service_put_file(struct isol8_service *s, const char *session_id, const char *path, uint32_t mode,
			   isol8_file_source_fn next, void *userdata, uint64_t *size, struct isol8_error *err);
int isol8_service_get_file(struct isol8_service *s, const char *session_id, const char *path,
			   int (*on_chunk)(void *userdata, const uint8_t *data, size_t len), void *userdata,
			   struct isol8_error *err);

/* The output one reply of message_max bytes carries, room for the rest of
 * the result left. */
#define ISOL8_SERVICE_GATHER_MAX(message_max) ((size_t)(message_max) - (64u * 1024u))

#endif
