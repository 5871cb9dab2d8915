/*
 * Turning Docker's HTTP responses into results: status codes to isol8 error
 * codes (a table), Docker's {"message": ...} error bodies into messages, and
 * JSON bodies into cJSON trees.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "docker/docker_internal.h"
#include "base/util.h"

struct status_code {
	long status;
	int code;
};

static const struct status_code status_codes[] = {
	{400, ISOL8_E_INVALID},
	{404, ISOL8_E_NOT_FOUND},
	{409, ISOL8_E_PRECONDITION},
};

static int code_for_status(long status)
{
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(status_codes); i++)
		if (status_codes[i].status == status)
			return status_codes[i].code;
	return ISOL8_E_IO;
}

/* Copies text up to its first line end, without trailing blanks. */
static void copy_line(char *buf, size_t size, const char *text, size_t len)
{
	size_t n = 0;

	while (n < len && text[n] != '\n' && text[n] != '\r' && text[n] != '\0')
		n++;
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
}

void isol8_docker_error_message(const struct isol8_docker_response *resp, char *buf, size_t size)
{
	_cleanup_cjson_ cJSON *json = NULL;
	const char *message;

	buf[0] = '\0';
	if (resp->body == NULL || size == 0)
		return;
	json = cJSON_ParseWithLength(resp->body, resp->len);
	message = isol8_json_string(json, "message");
	if (message != NULL)
		copy_line(buf, size, message, strlen(message));
	else if (json == NULL)
		copy_line(buf, size, resp->body, resp->len);
}

int isol8_docker_check_status(const struct isol8_docker_response *resp, struct isol8_error *err)
{
	char message[ISOL8_ERROR_MESSAGE_MAX];

	if (resp->status >= 200 && resp->status < 300)
		return 0;
	isol8_docker_error_message(resp, message, sizeof(message));
	if (message[0] == '\0')
		return isol8_error_set(err, code_for_status(resp->status), "docker: HTTP status %ld",
				       resp->status);
	return isol8_error_set(err, code_for_status(resp->status), "docker: %s", message);
}

int isol8_docker_request_json(const struct isol8_docker *d, const struct isol8_docker_request *req,
			      cJSON **out, struct isol8_error *err)
{
	_cleanup_response_ struct isol8_docker_response resp = {0};
	int r;

	*out = NULL;
	r = isol8_docker_http(d, req, &resp, err);
	if (r < 0)
		return r;
	r = isol8_docker_check_status(&resp, err);
	if (r < 0)
		return r;
	if (resp.body != NULL)
		*out = cJSON_ParseWithLength(resp.body, resp.len);
	if (*out == NULL)
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "docker: %s %s returned no valid JSON",
				       req->method, req->path);
	return 0;
}
