/*
 * libFuzzer driver for JSON records through a mapping: the input is a
 * JSON array or JSON lines file, read by node/jsonl and mapped by a fixed
 * MAP with paths, indexes, "[]", value tables and dates.  Each document
 * either validates or is refused with a reason, and has canonical bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/jsonl.h"
#include "node/mapping.h"
#include "node/metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char map_text[] =
    "[source]\n\tid = _id\n\tprefix = f:\n"
    "[field \"title\"]\n\tpath = title\n\tpath = titles[0]\n"
    "[field \"description\"]\n\tpath = d.text\n"
    "[field \"keywords\"]\n\tpath = tags\n\tvalues = tags\n"
    "[field \"languages\"]\n\tpath = lang\n\tseparator = \",\"\n"
    "\tvalues = lang\n"
    "[field \"levels\"]\n\tpath = tags\n\tvalues = grade\n"
    "\tunmapped = drop\n\tvocabulary = g\n"
    "[field \"contributors\"]\n\tpath = authors[].name\n"
    "[field \"licence\"]\n\tpath = licenses[0]\n"
    "[field \"source_url\"]\n\tpath = url\n"
    "[field \"created\"]\n\tpath = createdAt\n"
    "[values \"tags\"]\n\tmap = KA =>\n"
    "[values \"lang\"]\n\tmap = English => en\n"
    "[values \"grade\"]\n\tmap = 4. Klasse => grade 4\n";

static struct mapping *map;

static int on_record(const struct jsonl_record *rec, void *arg)
{
    struct metadata_error err;
    json_t *doc = NULL;
    char reason[200], *sid = NULL, *bytes = NULL;
    size_t len;

    if (mapping_apply(&doc, &sid, map, rec->value, reason, sizeof(reason)) ==
        0) {
        json_object_set_new(doc, "id", json_string("fz/abc"));
        json_object_set_new(doc, "updated", json_string("2026-01-01"));
        if (metadata_validate(doc, 0, &err) != 0 && err.detail[0] == '\0')
            abort();
        if (metadata_canonical(&bytes, &len, doc) != 0)
            abort();
    }
    free(bytes);
    free(sid);
    json_decref(doc);
    return 0;
}

static void on_error(size_t line, size_t column, const char *reason, void *arg)
{
    if (reason == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (map == NULL) {
        char path[64] = "/tmp/oernode-jsonmapfuzz-XXXXXX";
        int fd = mkstemp(path);

        if (fd < 0 || write(fd, map_text, strlen(map_text)) < 0)
            abort();
        close(fd);
        if (mapping_load(&map, path, MAPPING_JSON, NULL) != 0)
            abort();
        unlink(path);
    }
    jsonl_read_memory((const char *)data, size, on_record, on_error, NULL);
    return 0;
}
