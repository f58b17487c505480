/*
 * libFuzzer driver for the LOM / OAI-PMH reader: the input is a file or a
 * harvested page.  Every document the reader hands out must pass the
 * metadata validator, since the import stores it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "node/log.h"
#include "node/lom.h"
#include "node/metadata.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_stream(fopen("/dev/null", "w"));
    return 0;
}

static int on_record(const struct lom_record *rec, void *arg)
{
    struct metadata_error err;
    json_t *copy;

    if (rec->doc == NULL)
        return 0;
    copy = json_deep_copy(rec->doc);
    if (metadata_validate(copy, METADATA_SUBMISSION, &err) != 0) {
        fprintf(stderr, "lom produced an invalid document: %s: %s\n",
                err.field, err.detail);
        abort();
    }
    json_decref(copy);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lom_page page = {0};

    lom_read_memory(&page, (const char *)data, size, "fuzz", on_record,
                    NULL);
    lom_page_release(&page);
    return 0;
}
