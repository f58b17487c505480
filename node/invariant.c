/*
 * invariant: report a broken invariant and stop.
 */
#include "node/invariant.h"

#include <stdlib.h>

#include "node/log.h"

void invariant_fail(const char *cond, const char *file, int line)
{
    char num[24];

    log_error("invariant", "broken invariant: this is a bug in oernode", "cond",
              cond, "file", file, "line", log_num(num, line), NULL);
    abort();
}
