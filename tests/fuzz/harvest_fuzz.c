/*
 * libFuzzer driver for what the harvester reads from a provider besides
 * its pages: datestamps and responseDates (harvest_date) and Retry-After
 * values.  A date read is idempotent: its normal form reads back to
 * itself, and at day granularity to its own first ten bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/harvest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), out[HARVEST_DATE_LEN];
    char again[HARVEST_DATE_LEN], day[HARVEST_DATE_LEN];

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (harvest_date(out, text, 0) == 0) {
        if (harvest_date(again, out, 0) != 0 || strcmp(again, out) != 0)
            abort();
        if (harvest_date(day, out, 1) != 0 || strncmp(day, out, 10) != 0)
            abort();
    }
    if (harvest_retry_after(text, 1717405200, 3600) > 3600)
        abort();
    free(text);
    return 0;
}
