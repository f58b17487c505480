/*
 * libFuzzer driver for the licence reader: the input is a rights
 * statement from a file or a form.  Whatever it reads is an id the
 * validator accepts, and the canonical URL of that id reads back to it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/licence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct licence lic, back;
    const char *url;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (licence_normalise(&lic, text) == 0) {
        if (!licence_is_canonical(lic.id))
            abort();
        url = licence_url(lic.id);
        if (url != NULL && (licence_normalise(&back, url) != 0 ||
                            strcmp(back.id, lic.id) != 0))
            abort();
    }
    free(text);
    return 0;
}
