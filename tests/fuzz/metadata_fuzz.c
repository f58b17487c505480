/*
 * libFuzzer driver for the metadata document: the input is JSON from a
 * user, a file or a peer.  A document that validates has canonical bytes
 * that parse, validate and canonicalise to the same bytes again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/log.h"
#include "node/metadata.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_stream(fopen("/dev/null", "w"));
    return 0;
}

static void check_fixpoint(json_t *doc, unsigned flags)
{
    char *bytes = NULL, *again = NULL;
    size_t len, len2;
    json_t *back = NULL;

    if (metadata_canonical(&bytes, &len, doc) != 0)
        return;
    if (metadata_parse(&back, bytes, len, NULL) != 0 ||
        metadata_validate(back, flags, NULL) != 0 ||
        metadata_canonical(&again, &len2, back) != 0 || len != len2 ||
        memcmp(bytes, again, len) != 0)
        abort();
    free(bytes);
    free(again);
    json_decref(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned flags[] = {0, METADATA_STRICT,
                              METADATA_STRICT | METADATA_SUBMISSION};
    struct metadata_error err;
    json_t *doc;

    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        if (metadata_parse(&doc, (const char *)data, size, &err) != 0)
            return 0;
        if (metadata_validate(doc, flags[i], &err) == 0)
            check_fixpoint(doc, flags[i]);
        json_decref(doc);
    }
    return 0;
}
