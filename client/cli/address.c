/* Where the CLI connects: see address.h. */
#include "cli/address.h"

#include <stdio.h>
#include <string.h>

#include "lib/target.h"

int isol8_cli_host_target(const char *host, char *buf, size_t size, bool *tls,
			  struct isol8_error *err)
{
	/* the parser is libisol8's (its target option), named --host here */
	return isol8_target_parse("--host", host, buf, size, tls, err);
}

int isol8_cli_socket_path(char *buf, size_t size, uid_t uid, const char *env_socket,
			  const char *xdg_runtime_dir, bool *private_dir, struct isol8_error *err)
{
	static const char scheme[] = "unix:";
	char target[sizeof(scheme) + ISOL8_CLI_SOCKET_PATH_MAX];
	int ret;

	*private_dir = env_socket == NULL || env_socket[0] == '\0';
	/* the path is libisol8's local target, less its scheme */
	ret = isol8_target_local(target, sizeof(target), uid, env_socket, xdg_runtime_dir, err);
	if (ret < 0)
		return ret;
	if ((size_t)snprintf(buf, size, "%s", target + strlen(scheme)) >= size)
		return isol8_error_set(err, ISOL8_E_INVALID, "the daemon's socket path \"%s\" is too long",
				       target + strlen(scheme));
	return 0;
}
