/*
 * A ustar archive writer for image build contexts: regular files from memory,
 * owned by 0:0, mtime 0 (so identical contexts give identical archives).
 */
#ifndef ISOL8_DOCKER_TAR_H
#define ISOL8_DOCKER_TAR_H

#include <stddef.h>

#include "docker/docker.h"

/* Longest file name a ustar header holds: 155 bytes of prefix, '/', 100 bytes. */
#define ISOL8_TAR_NAME_MAX 256u

/* Archives the files into a new buffer (*out, caller frees) of *len bytes.
 * ISOL8_E_INVALID for an empty, absolute or ".."-containing name, or one that
 * does not fit a ustar header; ISOL8_E_EXHAUSTED for a file of 8 GiB or more. */
int isol8_tar_write(const struct isol8_build_file *files, size_t n_files, void **out, size_t *len,
		    struct isol8_error *err);

#endif
