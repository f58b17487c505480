/*
 * libFuzzer driver for a search's query as a user sends it: the first
 * line of the input is the words (index_query_fts), each further line a
 * filter value, given to the facets in turn.  Whatever the input, the
 * search of an index built as the node builds its own either refuses it
 * (OER_EINVAL: words too long or not UTF-8) or runs: FTS5 never meets a
 * syntax error, whatever the words and values hold.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/error.h"
#include "node/index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct index *ix;

static void open_index(void)
{
    char dir[] = "/tmp/oernode-query-fuzz-XXXXXX", path[64];

    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof(path), "%s/index.sqlite", dir);
    if (index_open(&ix, path) != 0)
        abort();
    /* the file stays open; its name goes at once */
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct index_query q = { .limit = 10 };
    char *text = malloc(size + 1), *line, *next;
    json_t *answer = NULL;
    int k = 0, err;

    if (text == NULL)
        return 0;
    if (ix == NULL)
        open_index();
    memcpy(text, data, size);
    text[size] = '\0';
    next = strchr(text, '\n');
    if (next != NULL)
        *next++ = '\0';
    q.text = text;
    for (line = next; line != NULL; line = next, k = (k + 1) % INDEX_FACETS) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (q.nfilters[k] < INDEX_FILTER_VALUES)
            q.filters[k][q.nfilters[k]++] = line;
    }
    err = index_search(&answer, ix, &q);
    if (err != 0 && err != OER_EINVAL)
        abort();
    json_decref(answer);
    free(text);
    return 0;
}
