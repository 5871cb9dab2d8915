/*
 * The few Docker Engine API calls `isol8 cleanup` makes itself, so that it
 * works with no daemon running: list isol8's containers (label
 * isol8.managed=true) and images (tags "isol8:*"), remove them.
 *
 * The CLI may not use server/docker (client/ depends on api/ only), so this
 * is its own small client: HTTP/1.0 over the unix socket from DOCKER_HOST
 * (unix:// only), else /var/run/docker.sock; cJSON stays in this file pair.
 * Responses are read up to ISOL8_CLI_DOCKER_MAX_BODY bytes.
 *
 * Every function returns 0 or a negative isol8 error code with err filled;
 * lists are owned by the caller (isol8_cli_docker_*_free).
 */
#ifndef ISOL8_CLI_DOCKER_LOCAL_H
#define ISOL8_CLI_DOCKER_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "isol8/error.h"

#define ISOL8_CLI_DOCKER_MAX_BODY (16u * 1024u * 1024u)

struct isol8_cli_container {
	char id[80];
	char image[256];
	char state[32];    /* "running", "exited", ... */
	char instance[80]; /* label isol8.instance: the daemon that made it */
	char owner[256];   /* label isol8.owner: that daemon's socket path */
	int64_t created;   /* Unix seconds */
};

struct isol8_cli_containers {
	struct isol8_cli_container *items;
	size_t n;
};

struct isol8_cli_image {
	char id[80];
	char tags[512]; /* its isol8:* tags, ", "-separated */
};

struct isol8_cli_images {
	struct isol8_cli_image *items;
	size_t n;
};

/* The socket path of DOCKER_HOST (NULL or "": the default socket). */
int isol8_cli_docker_socket(const char *docker_host, char *buf, size_t size,
			    struct isol8_error *err);

/* Parses GET /containers/json output; keeps every entry (the query filters). */
int isol8_cli_docker_parse_containers(const char *json, struct isol8_cli_containers *out,
				      struct isol8_error *err);

/* Parses GET /images/json output; keeps images with an "isol8:" tag. */
int isol8_cli_docker_parse_images(const char *json, struct isol8_cli_images *out,
				  struct isol8_error *err);

void isol8_cli_containers_free(struct isol8_cli_containers *l);
void isol8_cli_images_free(struct isol8_cli_images *l);

/* The calls; socket is from isol8_cli_docker_socket. */
int isol8_cli_docker_list_containers(const char *socket, struct isol8_cli_containers *out,
				     struct isol8_error *err);
int isol8_cli_docker_list_images(const char *socket, struct isol8_cli_images *out,
				 struct isol8_error *err);
int isol8_cli_docker_remove_container(const char *socket, const char *id,
				      struct isol8_error *err);
int isol8_cli_docker_remove_image(const char *socket, const char *id, struct isol8_error *err);

#endif
