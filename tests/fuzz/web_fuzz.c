/*
 * libFuzzer driver for the search page's file names (node/web.h): the
 * input is the path a client asks for under /web/.  A name web_name_ok
 * accepts must stay inside the folder: no "." or ".." segment, no empty
 * one, nothing absolute, a known media type.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/log.h"
#include "node/web.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_stream(fopen("/dev/null", "w"));
    return 0;
}

static void must_stay_inside(const char *name)
{
    const char *seg = name;

    if (name[0] == '/' || web_media_type(name) == NULL)
        abort();
    for (;;) {
        const char *end = strchr(seg, '/');
        size_t n = end != NULL ? (size_t)(end - seg) : strlen(seg);

        if (n == 0 || seg[0] == '.')
            abort();
        if (end == NULL)
            break;
        seg = end + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *name = malloc(size + 1);

    if (name == NULL)
        return 0;
    memcpy(name, data, size);
    name[size] = '\0';
    if (web_name_ok(name))
        must_stay_inside(name);
    free(name);
    return 0;
}
