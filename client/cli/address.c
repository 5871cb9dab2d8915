/* Where the CLI connects: see address.h. */
#include "cli/address.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/paths.h"
#include "base/util.h"

static int copy(char *buf, size_t size, const char *what, const char *text, size_t len,
		struct isol8_error *err)
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

/* Checks "HOST:PORT" or "[V6]:PORT" of length len. */
static int check_host_port(const char *host, const char *hp, size_t len, struct isol8_error *err)
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
	return isol8_error_set(err, ISOL8_E_INVALID, "--host: \"%s\" needs a port (HOST:PORT)",
			       host);
bad:
	return isol8_error_set(err, ISOL8_E_INVALID,
			       "--host: \"%s\" is not HOST:PORT, http://HOST:PORT or unix:/PATH",
			       host);
}

int isol8_cli_host_target(const char *host, char *buf, size_t size, bool *tls,
			  struct isol8_error *err)
{
	static const struct {
		const char *prefix;
		bool tls;
	} schemes[] = {{"http://", false}, {"https://", true}};
	const char *hp = host;
	size_t len;
	int ret;

	*tls = false;
	if (strncmp(host, "unix:", 5) == 0) {
		if (host[5] == '\0')
			return isol8_error_set(err, ISOL8_E_INVALID, "--host: \"%s\" has no path",
					       host);
		return copy(buf, size, "--host", host, strlen(host), err);
	}
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(schemes); i++) {
		size_t plen = strlen(schemes[i].prefix);
		if (strncasecmp(host, schemes[i].prefix, plen) == 0) {
			hp = host + plen;
			*tls = schemes[i].tls;
		}
	}
	if (hp == host && strstr(host, "://") != NULL)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "--host: \"%s\": only http://, https:// and unix: are known",
				       host);
	len = strlen(hp);
	if (hp != host && len > 0 && hp[len - 1] == '/')
		len--; /* "http://h:1/" */
	ret = check_host_port(host, hp, len, err);
	if (ret < 0)
		return ret;
	return copy(buf, size, "--host", hp, len, err);
}

int isol8_cli_socket_path(char *buf, size_t size, uid_t uid, const char *env_socket,
			  const char *xdg_runtime_dir, bool *private_dir, struct isol8_error *err)
{
	*private_dir = env_socket == NULL || env_socket[0] == '\0';
	if (isol8_default_socket_path(buf, size, uid, xdg_runtime_dir, env_socket) < 0)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "the daemon's socket path is too long (at most %d bytes; "
				       "set ISOL8_SOCKET to a shorter one)",
				       ISOL8_CLI_SOCKET_PATH_MAX);
	return 0;
}
