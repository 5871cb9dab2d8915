/* Internals of the configuration loader shared by its files: the table of
 * keys (config_keys.c) that the reader (config_load.c) and the printers
 * (config_print.c) walk. Not for use outside api/config. */
#ifndef ISOL8_CONFIG_INTERNAL_H
#define ISOL8_CONFIG_INTERNAL_H

#include <stddef.h>

#include "config/config.h"

enum isol8_config_kind {
	CK_OBJECT,     /* a section; its keys are the rows under its path */
	CK_BOOL,       /* bool */
	CK_INT,        /* int64_t, an integral number in [min, max] */
	CK_NUMBER,     /* double in [min, max] */
	CK_SIZE,       /* struct isol8_config_size, bytes in [min, max] */
	CK_ENUM,       /* char[size], one of choices */
	CK_STRING,     /* char *, owned, not empty */
	CK_LIST,       /* struct isol8_config_list of non-empty strings */
	CK_POOL_SIZE,  /* poolSize: a number or {"clean": N, "dirty": N} */
	CK_PREWARM,    /* pool.prewarm: a number or {"<runtime>": N, ...} */
	CK_SCHEMA_REF, /* "$schema": any string */
};

/* What each item of a list must be beyond a non-empty string. */
enum isol8_config_item { CI_ANY, CI_REGEX, CI_LISTEN, CI_URL };

struct isol8_config_key {
	const char *path;            /* JSON path, "defaults.memoryLimit" */
	enum isol8_config_kind kind;
	size_t offset;               /* of the value in struct isol8_config */
	size_t size;                 /* CK_ENUM: the buffer's size */
	double min, max;             /* CK_INT, CK_NUMBER; CK_SIZE in bytes; CK_LIST: max items (0: any) */
	const char *const *choices;  /* CK_ENUM, NULL-terminated */
	enum isol8_config_item item; /* CK_LIST */
	const char *section;         /* text output: the heading this row starts, or NULL */
	const char *unit;            /* text output: after the value ("ms"), or NULL */
};

extern const struct isol8_config_key isol8_config_keys[];
extern const size_t isol8_config_n_keys;

/* The row of a JSON path, or NULL. */
const struct isol8_config_key *isol8_config_key_find(const char *path);

/* The row's index in the table (for source[]). */
static inline size_t isol8_config_key_index(const struct isol8_config_key *k)
{
	return (size_t)(k - isol8_config_keys);
}

/* The built-in values of every key (the lists included: allocated). */
int isol8_config_set_defaults(struct isol8_config *c, struct isol8_error *err);

/* Frees a list's items and array. */
void isol8_config_list_clear(struct isol8_config_list *l);

#define ISOL8_CONFIG_FIELD(c, key) ((void *)((char *)(c) + (key)->offset))
#define ISOL8_CONFIG_CFIELD(c, key) ((const void *)((const char *)(c) + (key)->offset))

#endif
