/*
 * libFuzzer driver for MAP files: the input is a mapping as an operator
 * writes it.  libgit2 reads only files, so it goes to a temporary file.
 * A mapping that loads is applied to a fixed record, and its document
 * must have canonical bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>

#include "node/mapping.h"
#include "node/metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void try_kind(enum mapping_kind kind, const json_t *record)
{
    struct mapping *map = NULL;
    struct mapping_error err;
    json_t *doc = NULL;
    char reason[200], *sid = NULL, *bytes = NULL;
    size_t len;

    if (mapping_load(&map, path, kind, &err) != 0)
        return;
    if (mapping_apply(&doc, &sid, map, record, reason, sizeof(reason)) == 0) {
        /* mapped documents hold strings and integers only */
        if (metadata_canonical(&bytes, &len, doc) != 0)
            abort();
        free(bytes);
    }
    json_decref(doc);
    free(sid);
    mapping_free(map);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *record;
    FILE *f;

    if (path[0] == '\0') {
        int fd;

        snprintf(path, sizeof(path), "/tmp/oernode-mapfuzz-XXXXXX");
        fd = mkstemp(path);
        if (fd < 0)
            abort();
        close(fd);
        /* held for the whole run: mapping_load's own init is then cheap */
        git_libgit2_init();
    }
    f = fopen(path, "wb");
    if (f == NULL)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    record = json_pack("{s:s, s:s, s:[s, s], s:{s:s}, s:s, s:i}", "key", "k1",
                       "title", "Title", "tags", "4. Klasse", "x", "_id",
                       "$oid", "5991", "license", "CC BY 4.0", "n", 7);
    try_kind(MAPPING_TABLE, record);
    try_kind(MAPPING_JSON, record);
    json_decref(record);
    return 0;
}
