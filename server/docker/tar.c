/* ustar writer for build contexts (see tar.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/tar.h"
#include "base/util.h"

#define BLOCK 512u
#define NAME_LEN 100u
#define PREFIX_LEN 155u
#define SIZE_MAX_OCTAL 077777777777ull /* 11 octal digits */

/* Field offsets in a ustar header block. */
enum {
	OFF_NAME = 0, OFF_MODE = 100, OFF_UID = 108, OFF_GID = 116, OFF_SIZE = 124, OFF_MTIME = 136,
	OFF_CHKSUM = 148, OFF_TYPE = 156, OFF_MAGIC = 257, OFF_VERSION = 263, OFF_PREFIX = 345,
};

static bool has_dotdot(const char *name)
{
	for (const char *p = name; p != NULL; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
			return true;
	}
	return false;
}

/* Where to split a long name into prefix '/' name; -1 if it cannot be. */
static long split_point(const char *name, size_t len)
{
	for (size_t i = 0; i < len && i <= PREFIX_LEN; i++)
		if (name[i] == '/' && len - i - 1 <= NAME_LEN && len - i - 1 > 0)
			return (long)i;
	return -1;
}

static int check_file(const struct isol8_build_file *f, struct isol8_error *err)
{
	size_t len = f->name ? strlen(f->name) : 0;

	if (len == 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "build context: a file has an empty name");
	if (f->name[0] == '/' || has_dotdot(f->name))
		return isol8_error_set(err, ISOL8_E_INVALID, "build context: file name \"%s\" must be relative, without \"..\"",
				       f->name);
	if (len > NAME_LEN && split_point(f->name, len) < 0)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "build context: file name \"%.64s...\" (%zu bytes) does not fit a tar header", f->name,
				       len);
	if ((unsigned long long)f->len > SIZE_MAX_OCTAL)
		return isol8_error_set(err, ISOL8_E_EXHAUSTED, "build context: file \"%s\" is 8 GiB or larger", f->name);
	if (f->len > 0 && f->data == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "build context: file \"%s\" has no data", f->name);
	return 0;
}

static size_t padded(size_t len)
{
	return (len + BLOCK - 1) / BLOCK * BLOCK;
}

static int archive_size(const struct isol8_build_file *files, size_t n, size_t *total, struct isol8_error *err)
{
	size_t sum = 2 * BLOCK;

	for (size_t i = 0; i < n; i++) {
		int r = check_file(&files[i], err);
		if (r < 0)
			return r;
		if (!isol8_size_add(sum, BLOCK, &sum) || files[i].len > SIZE_MAX - BLOCK ||
		    !isol8_size_add(sum, padded(files[i].len), &sum))
			return isol8_error_set(err, ISOL8_E_EXHAUSTED, "build context: archive size overflows");
	}
	*total = sum;
	return 0;
}

static void put_octal(char *field, size_t width, unsigned long long value)
{
	/* width - 1 digits, then NUL */
	snprintf(field, width, "%0*llo", (int)(width - 1), value);
}

static void write_header(char *h, const struct isol8_build_file *f)
{
	size_t len = strlen(f->name);
	unsigned sum = 0;

	if (len <= NAME_LEN) {
		memcpy(h + OFF_NAME, f->name, len);
	} else {
		size_t cut = (size_t)split_point(f->name, len);
		memcpy(h + OFF_PREFIX, f->name, cut);
		memcpy(h + OFF_NAME, f->name + cut + 1, len - cut - 1);
	}
	put_octal(h + OFF_MODE, 8, (f->mode ? f->mode : 0644) & 07777);
	put_octal(h + OFF_UID, 8, 0);
	put_octal(h + OFF_GID, 8, 0);
	put_octal(h + OFF_SIZE, 12, f->len);
	put_octal(h + OFF_MTIME, 12, 0);
	h[OFF_TYPE] = '0';
	memcpy(h + OFF_MAGIC, "ustar", 6);
	memcpy(h + OFF_VERSION, "00", 2);
	memset(h + OFF_CHKSUM, ' ', 8);
	for (size_t i = 0; i < BLOCK; i++)
		sum += (unsigned char)h[i];
	snprintf(h + OFF_CHKSUM, 8, "%06o", sum);
	h[OFF_CHKSUM + 7] = ' ';
}

int isol8_tar_write(const struct isol8_build_file *files, size_t n_files, void **out, size_t *len,
		    struct isol8_error *err)
{
	size_t total = 0, pos = 0;
	char *buf;
	int r;

	*out = NULL;
	*len = 0;
	r = archive_size(files, n_files, &total, err);
	if (r < 0)
		return r;
	buf = calloc(1, total);
	if (buf == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "build context: out of memory for %zu bytes", total);
	for (size_t i = 0; i < n_files; i++) {
		write_header(buf + pos, &files[i]);
		pos += BLOCK;
		if (files[i].len > 0)
			memcpy(buf + pos, files[i].data, files[i].len);
		pos += padded(files[i].len);
	}
	*out = buf;
	*len = total;
	return 0;
}
