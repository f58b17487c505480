/*
 * libFuzzer driver for the Dublin Core reader: the input is a record, an
 * OAI-PMH page or a Learning Registry JSON file.  Every document the
 * reader hands out must pass the metadata validator, since the import
 * sink stores it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "node/dc.h"
#include "node/log.h"
#include "node/metadata.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_stream(fopen("/dev/null", "w"));
    return 0;
}

static int on_record(const struct dc_record *rec, void *arg)
{
    struct metadata_error err;
    json_t *copy;

    if (rec->doc == NULL)
        return 0;
    copy = json_deep_copy(rec->doc);
    if (metadata_validate(copy, METADATA_SUBMISSION, &err) != 0) {
        fprintf(stderr, "dc produced an invalid document: %s: %s\n", err.field,
                err.detail);
        abort();
    }
    json_decref(copy);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];

    dc_read_memory((const char *)data, size, "fuzz", on_record, NULL, why,
                   sizeof(why));
    return 0;
}
