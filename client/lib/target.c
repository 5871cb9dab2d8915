/* Where a client connects: see target.h. */
#include "lib/target.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/paths.h"
#include "base/util.h"

static int copy(char *buf, size_t size, const char *what, const char *text, size_t len, struct isol8_error *err)
{
	if (len >= size)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" is too long", what, text);
	memcpy(buf, text, len);
	buf[len] = '\0';
	return 0;
}

/* True when text[0..len) is a port number 1..65535. */
static bool valid_port(const char *text, size_t len)
{
	unsigned long port = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		port = port * 10 + (unsigned long)(text[i] - '0');
	}
	return port >= 1 && port <= 65535;
}

/* Checks "HOST:PORT" or "[V6]:PORT" of length len (text: what the user gave). */
static int check_host_port(const char *what, const char *text, const char *hp, size_t len, struct isol8_error *err)
{
	const char *colon;
	size_t host_len;

	if (len > 0 && hp[0] == '[') {
		const char *close = memchr(hp, ']', len);
		if (close == NULL || close == hp + 1)
			goto bad;
		colon = close + 1;
		if (colon >= hp + len || *colon != ':')
			goto no_port;
		host_len = (size_t)(close - hp) + 1;
	} else {
		colon = memrchr(hp, ':', len);
		if (colon == NULL)
			goto no_port;
		host_len = (size_t)(colon - hp);
		if (host_len == 0 || memchr(hp, ':', host_len) != NULL || memchr(hp, '/', len))
			goto bad;
	}
	if (!valid_port(colon + 1, len - host_len - 1))
		goto bad;
	return 0;
no_port:
	return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" needs a port (HOST:PORT)", what, text);
bad:
	return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" is not HOST:PORT, http://HOST:PORT or unix:/PATH",
			       what, text);
}

int isol8_target_parse(const char *what, const char *text, char *buf, size_t size, bool *tls,
		       struct isol8_error *err)
{
	static const struct {
		const char *prefix;
		bool tls;
	} schemes[] = {{"http://", false}, {"https://", true}};
	const char *hp = text;
	size_t len;
	int ret;

	*tls = false;
	if (strncmp(text, "unix:", 5) == 0) {
		if (text[5] == '\0')
			return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" has no path", what, text);
		return copy(buf, size, what, text, strlen(text), err);
	}
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(schemes); i++) {
		size_t plen = strlen(schemes[i].prefix);
		if (strncasecmp(text, schemes[i].prefix, plen) == 0) {
			hp = text + plen;
			*tls = schemes[i].tls;
		}
	}
	if (hp == text && strstr(text, "://") != NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\": only http://, https:// and unix: are known",
				       what, text);
	len = strlen(hp);
	if (hp != text && len > 0 && hp[len - 1] == '/')
		len--; /* "http://h:1/" */
	ret = check_host_port(what, text, hp, len, err);
	if (ret < 0)
		return ret;
	return copy(buf, size, what, hp, len, err);
}

int isol8_target_local(char *buf, size_t size, uid_t uid, const char *env_socket, const char *xdg_runtime_dir,
		       struct isol8_error *err)
{
	char path[ISOL8_TARGET_SOCKET_PATH_MAX + 1];

	if (isol8_default_socket_path(path, sizeof(path), uid, xdg_runtime_dir, env_socket) < 0)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "the daemon's socket path is too long (at most %d bytes; "
				       "set ISOL8_SOCKET to a shorter one)",
				       ISOL8_TARGET_SOCKET_PATH_MAX);
	if ((size_t)snprintf(buf, size, "unix:%s", path) >= size)
		return isol8_error_set(err, ISOL8_E_INVALID, "the daemon's socket path \"%s\" is too long", path);
	return 0;
}
