/*
 * libFuzzer driver for the configuration file: the input is the file an
 * operator wrote (git-config syntax, read by libgit2, each key checked
 * by config_load).  A file that loads is printed with its defaults, and
 * that print loads again to the same print: what `oernode config` shows
 * is a configuration the node accepts and reads as the same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char folder[] = "/tmp/oernode-config-fuzz-XXXXXX";
static char path[64];

static void write_file(const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
}

static char *printed(const struct config *c, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);

    if (f == NULL)
        abort();
    config_print(f, c);
    if (fclose(f) != 0)
        abort();
    return text;
}

static void remove_folder(void)
{
    unlink(path);
    rmdir(folder);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *c = NULL, *again = NULL;
    struct config_error err;
    char *first, *second;
    size_t n1, n2;

    if (path[0] == '\0') {
        if (mkdtemp(folder) == NULL)
            abort();
        snprintf(path, sizeof(path), "%s/config", folder);
        atexit(remove_folder);
        /* held for the run, so that each load does not set libgit2 up
         * and tear it down again */
        git_libgit2_init();
    }
    write_file(data, size);
    if (config_load(&c, path, &err) != 0) {
        /* a refusal names the file, and a non-empty reason */
        if (strcmp(err.file, path) != 0 || err.detail[0] == '\0')
            abort();
        return 0;
    }
    first = printed(c, &n1);
    write_file(first, n1);
    if (config_load(&again, path, &err) != 0)
        abort();
    second = printed(again, &n2);
    if (n1 != n2 || memcmp(first, second, n1) != 0)
        abort();
    free(first);
    free(second);
    config_free(c);
    config_free(again);
    return 0;
}
