/*
 * Embedding isol8 in a C program: run Python in a sandbox of the local
 * isol8d (or the one $ISOL8_SOCKET names) and print what it printed.
 *
 *   cc embed.c $(pkg-config --cflags --libs isol8) -o embed && ./embed
 */
#include <stdio.h>

#include <isol8/isol8.h>

int main(void)
{
	struct isol8_client *c;
	struct isol8_result *res;
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;

	req.runtime = "python";
	req.code = "print('hello from the sandbox')";
	if (isol8_client_new(&c, NULL, &err) < 0 || isol8_execute(c, &req, &res, &err) < 0) {
		fprintf(stderr, "isol8: %s\n", err.message);
		return 1;
	}
	fwrite(res->stdout_data, 1, res->stdout_size, stdout);
	putchar('\n'); /* Execute trims the output's last newline */
	isol8_result_free(res);
	isol8_client_free(c);
	return 0;
}
