/*
 * libFuzzer driver for vocabulary files: the input is one JSON file of a
 * vocabulary folder, loaded beside the shipped pivots (vocab/ of the
 * source tree, read once).  A vocabulary that passes its checks is
 * walked: every term is found again by id, has a mapping, a label in any
 * language, an equivalent in its own system and index keys.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "federation/vocab.h"
#include "node/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *pivots[2];
static size_t pivot_len[2];

static char *slurp(const char *name, size_t *len)
{
    char path[4096];
    FILE *f;
    char *buf;

    snprintf(path, sizeof(path), "%s/vocab/%s", OERNODE_SOURCE_DIR, name);
    f = fopen(path, "rb");
    if (f == NULL)
        abort();
    buf = malloc(1 << 20);
    if (buf == NULL)
        abort();
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static int on_key(const char *key, void *arg)
{
    (*(size_t *)arg)++;
    return key[0] == '\0';
}

static void walk_term(const struct vocab *v, const struct vocab_term *t,
                      const char *sys, enum vocab_kind kind)
{
    const struct vocab_mapping *m;
    size_t nkeys = 0;

    if (vocab_find(v, sys, kind, vocab_term_id(t)) != t ||
        vocab_term_mappings(t, &m) < 1 || vocab_term_label(t, "xx") == NULL)
        abort();
    if (vocab_equivalent(NULL, v, t, sys) != t)
        abort();
    if (vocab_index_keys(v, kind, sys, vocab_term_id(t), NULL, on_key,
                         &nkeys) != 0 ||
        nkeys == 0)
        abort();
    (void)vocab_find_label(v, sys, kind, NULL, vocab_term_label(t, "en"));
}

static void walk(const struct vocab *v)
{
    const struct vocab_term *t;
    const char *sys;

    for (size_t i = 0; (sys = vocab_system_at(v, i)) != NULL; i++)
        for (int kind = 0; kind < 2; kind++)
            for (size_t j = 0;
                 (t = vocab_term_at(v, sys, (enum vocab_kind)kind, j)); j++)
                walk_term(v, t, sys, (enum vocab_kind)kind);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vocab *v = NULL;

    if (pivots[0] == NULL) {
        pivots[0] = slurp("isced-2011.json", &pivot_len[0]);
        pivots[1] = slurp("subjects.json", &pivot_len[1]);
        log_set_level(LOG_LEVEL_ERROR);
    }
    if (vocab_new(&v) != 0)
        return 0;
    if (vocab_add(v, "input.json", (const char *)data, size) == 0 &&
        vocab_add(v, "isced-2011.json", pivots[0], pivot_len[0]) == 0 &&
        vocab_add(v, "subjects.json", pivots[1], pivot_len[1]) == 0 &&
        vocab_check(v) == 0)
        walk(v);
    vocab_free(v);
    return 0;
}
