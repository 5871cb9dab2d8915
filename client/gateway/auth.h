/* The caller's key: "Authorization: Bearer <token>" parsing and checks. */
#ifndef ISOL8_GATEWAY_AUTH_H
#define ISOL8_GATEWAY_AUTH_H

#include <stdbool.h>
#include <stddef.h>

/* The token of an Authorization header value: "Bearer" (any case), one or
 * more spaces or tabs, then a non-empty token (trailing blanks dropped).
 * NULL when header is NULL or not of that form (the gateway answers 401). */
const char *gw_auth_token(const char *header, size_t *len);

/* Whether token (len bytes) equals key, in time that does not depend on
 * where they differ. */
bool gw_auth_equal(const char *token, size_t len, const char *key);

#endif
