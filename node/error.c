/*
 * error: names of the project's error codes.
 */
#include "node/error.h"

const char *error_name(int code)
{
    static const char *const names[] = {
        "ok",      "nomem",       "inval",   "notfound", "exists",
        "io",      "proto",       "timeout", "crypto",   "conflict",
        "corrupt", "unsupported", "fork",
    };
    int i = -code;

    if (i < 0 || i >= (int)(sizeof(names) / sizeof(names[0])))
        return "unknown";
    return names[i];
}
