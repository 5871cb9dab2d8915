/* Where the CLI connects: see address.h. */
#include "cli/address.h"

#include "base/paths.h"
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
	*private_dir = env_socket == NULL || env_socket[0] == '\0';
	if (isol8_default_socket_path(buf, size, uid, xdg_runtime_dir, env_socket) < 0)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "the daemon's socket path is too long (at most %d bytes; "
				       "set ISOL8_SOCKET to a shorter one)",
				       ISOL8_CLI_SOCKET_PATH_MAX);
	return 0;
}
