/*
 * isol8d's replies -> libisol8's result structs, pure (no RPC): deep copies
 * the caller frees with the public _free functions, so the messages can go
 * at once. Output and file bytes get a NUL after their size.
 */
#ifndef ISOL8_CLIENT_RESULT_H
#define ISOL8_CLIENT_RESULT_H

#include "isol8/isol8.h"
#include "isol8/v1/admin.pb-c.h"
#include "isol8/v1/isol8.pb-c.h"

/* ExecuteResult -> *out (free with isol8_result_free). ISOL8_E_NOMEM only. */
int isol8_result_from_proto(struct isol8_result **out, const Isol8__V1__ExecuteResult *msg, struct isol8_error *err);

/* ListSessionsResult -> *out, *n (free with isol8_session_infos_free). */
int isol8_sessions_from_proto(struct isol8_session_info **out, size_t *n, const Isol8__V1__ListSessionsResult *msg,
			      struct isol8_error *err);

/* InfoResult -> *out (free with isol8_info_free). */
int isol8_info_from_proto(struct isol8_info **out, const Isol8__V1__InfoResult *msg, struct isol8_error *err);

/* CleanupResult -> *out (free with isol8_cleanup_result_free). Its one list
 * of errors is sorted by what each line names: "session ...", "image ...",
 * and every other line (the daemon's "container ...") under containers. */
int isol8_cleanup_from_proto(struct isol8_cleanup_result **out, const Isol8__V1__CleanupResult *msg,
			     struct isol8_error *err);

#endif
