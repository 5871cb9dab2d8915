/* The file's keys onto a configuration: see config_read.c. */
#ifndef ISOL8_CONFIG_READ_H
#define ISOL8_CONFIG_READ_H

#include <cjson/cJSON.h>

#include "config/config.h"

/* Reads every member of obj, the object at JSON path prefix ("" for the
 * top), into c, marking each key read as from the file. The first bad key
 * or value is the error, naming its path and the accepted form. */
int isol8_config_read_object(struct isol8_config *c, const cJSON *obj, const char *prefix, struct isol8_error *err);

#endif
