/*
 * `isol8 mcp`: the MCP server's stdio loop and its libisol8 backend (see
 * mcp.h for the protocol layer).
 *
 * The loop reads stdin a block at a time into one line buffer of at most
 * ISOL8_MCP_LINE_MAX bytes, handles each complete line in order and writes
 * its reply before reading the next; past the limit the rest of the line
 * is skipped and an error is sent. End of input ends the server (exit 0).
 *
 * The backend connects on the first tool call, not at start, so a client
 * that only lists tools needs no daemon: to --host, or to the local
 * daemon, which (as for every verb) is started when none answers, and
 * checked again before each call since an idle one exits by itself.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/address.h"
#include "cli/autostart.h"
#include "cli/cli.h"
#include "cli/mcp.h"
#include "cli/options.h"
#include "cli/output.h"

#define READ_BLOCK 65536

void isol8_cli_mcp_usage(FILE *out)
{
	fprintf(out, "Usage: isol8 mcp [--host HOST:PORT] [--key KEY] [--debug]\n\n"
		     "Serves the Model Context Protocol on stdin and stdout (one JSON-RPC message\n"
		     "a line) for AI agents: tools execute, list_sessions, destroy_session,\n"
		     "put_file and get_file, run through isol8d. An MCP client starts it as\n"
		     "  {\"mcpServers\":{\"isol8\":{\"command\":\"isol8\",\"args\":[\"mcp\"]}}}\n\n"
		     "Flags:\n" ISOL8_CLI_CONN_HELP "  --debug            log each message's method on stderr\n"
		     "  -h, --help         show this help\n");
}

/* ---- the backend: libisol8, connected on first use ---- */

struct backend_state {
	struct isol8_cli_conn conn;
	struct isol8_client *client;
	char socket[ISOL8_CLI_SOCKET_PATH_MAX + 1]; /* local: the daemon's */
	bool private_dir;
};

static int connect_local(struct backend_state *b, struct isol8_error *err)
{
	struct isol8_client_options opts = ISOL8_CLIENT_OPTIONS_INIT;
	struct isol8_cli_daemon_status status;
	char target[ISOL8_CLI_SOCKET_PATH_MAX + 8];

	if (b->socket[0] == '\0' &&
	    isol8_cli_socket_path(b->socket, sizeof(b->socket), getuid(), getenv("ISOL8_SOCKET"),
				  getenv("XDG_RUNTIME_DIR"), &b->private_dir, err) < 0)
		return -err->code;
	/* an idle daemon exits by itself: make sure one answers for this call */
	if (isol8_cli_daemon_ensure(b->socket, b->private_dir, &status, err) < 0)
		return -err->code;
	if (b->conn.debug && status.started)
		isol8_cli_log(ISOL8_CLI_DEBUG, "started isol8d on %s", b->socket);
	if (b->client != NULL)
		return 0;
	snprintf(target, sizeof(target), "unix:%s", b->socket);
	opts.target = target;
	return isol8_client_new(&b->client, &opts, err);
}

static int connect_remote(struct backend_state *b, struct isol8_error *err)
{
	struct isol8_client_options opts = ISOL8_CLIENT_OPTIONS_INIT;
	const char *key = b->conn.key ? b->conn.key : getenv("ISOL8_API_KEY");
	const char *ca = getenv("ISOL8_TLS_CA");

	if (b->client != NULL)
		return 0;
	opts.target = b->conn.host;
	opts.api_key = key && key[0] ? key : NULL;
	opts.tls_ca = ca && ca[0] ? ca : NULL;
	return isol8_client_new(&b->client, &opts, err);
}

static struct isol8_client *client(void *userdata, struct isol8_error *err)
{
	struct backend_state *b = userdata;
	int ret = b->conn.host ? connect_remote(b, err) : connect_local(b, err);

	return ret < 0 ? NULL : b->client;
}

static int backend_execute(void *ud, const struct isol8_request *req, struct isol8_result **out,
			   struct isol8_error *err)
{
	struct isol8_client *c = client(ud, err);
	return c ? isol8_execute(c, req, out, err) : -err->code;
}

static int backend_list(void *ud, struct isol8_session_info **out, size_t *n, struct isol8_error *err)
{
	struct isol8_client *c = client(ud, err);
	return c ? isol8_list_sessions(c, out, n, err) : -err->code;
}

static int backend_destroy(void *ud, const char *id, bool *existed, struct isol8_error *err)
{
	struct isol8_client *c = client(ud, err);
	return c ? isol8_destroy_session(c, id, existed, err) : -err->code;
}

static int backend_put(void *ud, const char *sid, const char *path, const void *data, size_t size,
		       struct isol8_error *err)
{
	struct isol8_client *c = client(ud, err);
	return c ? isol8_put_file(c, sid, path, data, size, 0, err) : -err->code;
}

/* A download into memory, refused past max. */
struct bounded {
	unsigned char *data;
	size_t len, cap, max;
	bool over;
};

static int bounded_write(void *userdata, const void *buf, size_t size)
{
	struct bounded *b = userdata;

	if (size > b->max - b->len) {
		b->over = true;
		errno = EFBIG;
		return -1;
	}
	if (b->len + size + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap < b->len + size + 1)
			cap *= 2;
		unsigned char *p = realloc(b->data, cap);
		if (p == NULL) {
			errno = ENOMEM;
			return -1;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, buf, size);
	b->len += size;
	return 0;
}

static int backend_get(void *ud, const char *sid, const char *path, size_t max, unsigned char **data, size_t *size,
		       struct isol8_error *err)
{
	struct isol8_client *c = client(ud, err);
	struct bounded b = {.max = max};
	int ret;

	if (c == NULL)
		return -err->code;
	ret = isol8_get_file_to(c, sid, path, bounded_write, &b, err);
	if (b.over)
		ret = isol8_error_set(err, ISOL8_E_EXHAUSTED, "%s is larger than %zu bytes: copy it with `isol8 cp`",
				      path, max);
	if (ret < 0) {
		free(b.data);
		return ret;
	}
	*data = b.data ? b.data : calloc(1, 1);
	*size = b.len;
	return *data ? 0 : isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
}

/* ---- the stdio loop ---- */

struct line_reader {
	char *buf;
	size_t len;
	bool skipping; /* the current line passed the limit */
};

static int send_reply(const char *reply)
{
	if (isol8_write_full(STDOUT_FILENO, reply, strlen(reply)) < 0 || isol8_write_full(STDOUT_FILENO, "\n", 1) < 0)
		return -1;
	return 0;
}

static void debug_method(const char *line, size_t len)
{
	const char *m = memmem(line, len, "\"method\"", 8);
	int n = 0;

	if (m != NULL) {
		m = memchr(m + 8, '"', (size_t)(line + len - (m + 8)));
		if (m != NULL)
			while (m + 1 + n < line + len && m[1 + n] != '"' && n < 64)
				n++;
	}
	isol8_cli_log(ISOL8_CLI_DEBUG, "mcp: message of %zu bytes%s%.*s", len, n ? ", method " : "", n, m ? m + 1 : "");
}

/* Handles one complete line; -1 when stdout is gone. */
static int handle_line(struct isol8_mcp *m, char *line, size_t len, bool debug)
{
	char *reply = NULL;
	int ret;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return 0; /* blank lines carry no message */
	if (debug)
		debug_method(line, len);
	if (isol8_mcp_handle(m, line, len, &reply) < 0) {
		isol8_cli_say("mcp: out of memory answering a message");
		return 0;
	}
	ret = reply ? send_reply(reply) : 0;
	free(reply);
	return ret;
}

/* Takes n bytes read into the reader, handling each line they complete. */
static int feed(struct isol8_mcp *m, struct line_reader *r, const char *data, size_t n, bool debug)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;

		if (!r->skipping && take > ISOL8_MCP_LINE_MAX - r->len) {
			r->skipping = true;
			r->len = 0;
		}
		if (!r->skipping) {
			memcpy(r->buf + r->len, data, take);
			r->len += take;
		}
		if (nl == NULL)
			return 0;
		if (r->skipping) {
			_cleanup_free_ char *too = isol8_mcp_too_large(ISOL8_MCP_LINE_MAX);
			isol8_cli_say("mcp: a message longer than %u bytes was skipped", ISOL8_MCP_LINE_MAX);
			if (too != NULL && send_reply(too) < 0)
				return -1;
			r->skipping = false;
		} else if (handle_line(m, r->buf, r->len, debug) < 0) {
			return -1;
		}
		r->len = 0;
		data += take + 1;
		n -= take + 1;
	}
	return 0;
}

static int serve(struct isol8_mcp *m, bool debug)
{
	_cleanup_free_ char *block = malloc(READ_BLOCK);
	struct line_reader r = {.buf = malloc(ISOL8_MCP_LINE_MAX)};
	int ret = 0;

	if (block == NULL || r.buf == NULL) {
		free(r.buf);
		isol8_cli_say("mcp: out of memory");
		return ISOL8_CLI_EXIT_ERROR;
	}
	for (;;) {
		ssize_t n = read(STDIN_FILENO, block, READ_BLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (feed(m, &r, block, (size_t)n, debug) < 0) {
			ret = ISOL8_CLI_EXIT_ERROR; /* the client closed our stdout */
			break;
		}
	}
	/* a last message without its newline */
	if (ret == 0 && r.len > 0 && !r.skipping && handle_line(m, r.buf, r.len, debug) < 0)
		ret = ISOL8_CLI_EXIT_ERROR;
	free(r.buf);
	return ret;
}

int isol8_cli_mcp_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		ISOL8_CLI_CONN_OPTIONS,
		{"debug", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct backend_state state = {0};
	const struct isol8_mcp_backend backend = {backend_execute, isol8_result_free, backend_list,
						  isol8_session_infos_free, backend_destroy, backend_put,
						  backend_get, &state};
	struct isol8_mcp m;
	int c, ret;

	isol8_cli_flags_reset();
	while ((c = isol8_cli_flags_next(argc, argv, ":h", longopts, "mcp", &err)) != -1) {
		if (c == '?')
			return isol8_cli_fail(&err);
		if (c == 'h') {
			isol8_cli_mcp_usage(stdout);
			return 0;
		}
		if (c == 'd')
			state.conn.debug = true;
		else
			isol8_cli_conn_option(&state.conn, c, optarg);
	}
	if (optind < argc) {
		isol8_cli_say("mcp: unexpected argument \"%s\"", argv[optind]);
		return ISOL8_CLI_EXIT_ERROR;
	}
	signal(SIGPIPE, SIG_IGN);
	isol8_mcp_init(&m, &backend);
	ret = serve(&m, state.conn.debug);
	isol8_client_free(state.client);
	return ret;
}
