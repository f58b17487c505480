/*
 * cmd_search: `oernode search` catches the index up with the store and
 * prints hits and facet counts (or the API's JSON); `oernode reindex`
 * rebuilds the index from git.
 */
#include "node/cmd_search.h"

#include <stdlib.h>
#include <string.h>

#include "node/api_search.h"
#include "node/error.h"
#include "node/index.h"
#include "sync/fedsearch.h"

/* Open the node, its store and its index. */
static int open_index(struct index **ix, struct cli_node *node,
                      struct cli *cli)
{
    char *path, *vocab;
    int code = cli_node_open(node, cli, CLI_NODE_STORE), err;

    if (code != CLI_OK)
        return code;
    path = cli_path(node->dir, "index.sqlite");
    if (path == NULL)
        return cli_fail(cli, CLI_FAILURE, "out of memory");
    vocab = api_search_vocab_dir(node->config);
    err = vocab != NULL ? api_search_open(ix, path, vocab) : OER_ENOMEM;
    free(vocab);
    if (err != 0)
        code = cli_fail(cli, CLI_FAILURE, "cannot open the index %s (%s)",
                        path, error_name(err));
    free(path);
    return code;
}

static int run_reindex(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { CLI_COMMON_OPTIONS, { 0 } };
    struct cli_node node = { 0 };
    struct index *ix = NULL;
    struct index_stats st;
    int opt, code, err;

    while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        code = cli_option(cli, opt, optarg);
        if (code >= 0)
            return code;
    }
    if (optind < argc)
        return cli_fail(cli, CLI_USAGE, "usage: oernode reindex");
    code = open_index(&ix, &node, cli);
    if (code == CLI_OK) {
        err = index_rebuild(ix, node.store, &st);
        if (err != 0)
            code = cli_fail(cli, CLI_FAILURE, "cannot rebuild the index (%s)",
                            error_name(err));
        else
            printf("index rebuilt: %zu documents read from %zu catalogues\n",
                   st.documents, st.origins_rebuilt);
    }
    index_free(ix);
    cli_node_close(&node);
    return code;
}

static void print_text(const json_t *answer)
{
    const json_t *hits = json_object_get(answer, "hits"), *hit, *values, *v;
    const char *facet;
    /* past the hits counted, there may be more */
    int exact = !json_is_false(json_object_get(answer, "exact"));
    size_t i, j;

    long long total = json_integer_value(json_object_get(answer, "total"));
    long long offset = json_integer_value(json_object_get(answer, "offset"));
    long long shown = (long long)json_array_size(hits);

    printf("%s%lld hits\n", exact ? "" : "at least ", total);
    /* a page of them: say which, and how to see the others */
    if (shown > 0 && (offset > 0 || shown < total || !exact))
        printf("showing %lld-%lld; --offset and --limit page through them\n",
               offset + 1, offset + shown);
    else if (shown == 0 && total > 0)
        printf("none shown at --offset %lld\n", offset);
    if (!exact)
        printf("facets count the newest %lld\n",
               (long long)json_integer_value(
                   json_object_get(answer, "counted")));
    json_array_foreach(hits, i, hit) {
        printf("%s\t%s\t%s\n",
               json_string_value(json_object_get(hit, "id")),
               json_string_value(json_object_get(hit, "licence")),
               json_string_value(json_object_get(hit, "title")));
    }
    json_object_foreach((json_t *)json_object_get(answer, "facets"), facet,
                        values) {
        if (json_array_size(values) == 0)
            continue;
        printf("%s:", facet);
        json_array_foreach(values, j, v) {
            const char *value = json_string_value(json_object_get(v, "value"));
            const char *label = json_string_value(json_object_get(v, "label"));

            /* a vocabulary's key with its label: the key is what a
             * filter takes */
            if (label != NULL && strcmp(label, value) != 0)
                printf("%s %s [%s] (%lld)", j > 0 ? "," : "", label, value,
                       (long long)json_integer_value(
                           json_object_get(v, "count")));
            else
                printf("%s %s (%lld)", j > 0 ? "," : "", value,
                       (long long)json_integer_value(
                           json_object_get(v, "count")));
        }
        putchar('\n');
    }
}

/* The words of the operands, joined by spaces into *text (caller's). */
static int join_words(char **text, int argc, char **argv)
{
    size_t n = 1;
    char *p;

    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    *text = p = calloc(1, n);
    if (p == NULL)
        return OER_ENOMEM;
    for (int i = 0; i < argc; i++)
        p += sprintf(p, "%s%s", i > 0 ? " " : "", argv[i]);
    return 0;
}

static int run_query(struct cli *cli, const struct index_query *q, int json)
{
    struct cli_node node = { 0 };
    struct index *ix = NULL;
    json_t *answer = NULL;
    char why[256];
    int code, err;

    code = open_index(&ix, &node, cli);
    if (code != CLI_OK)
        goto out;
    if (api_search_system_check(ix, q, why, sizeof(why)) != 0) {
        code = cli_fail(cli, CLI_USAGE, "%s", why);
        goto out;
    }
    err = index_catch_up(ix, node.store, NULL);
    if (err == 0)
        err = index_search(&answer, ix, q);
    if (err != 0) {
        code = cli_fail(cli, CLI_FAILURE, "cannot search the index (%s)",
                        error_name(err));
        goto out;
    }
    /* the API's shape: hits marked local, and no peer asked */
    if (json && fedsearch_merge(answer, NULL, 0) != 0) {
        code = cli_fail(cli, CLI_FAILURE, "out of memory");
        goto out;
    }
    if (json)
        json_dumpf(api_search_licence_urls(answer), stdout, JSON_COMPACT);
    if (json)
        putchar('\n');
    else
        print_text(answer);
out:
    json_decref(answer);
    index_free(ix);
    cli_node_close(&node);
    return code;
}

static int run_search(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "level", required_argument, NULL, 'l' },
        { "subject", required_argument, NULL, 's' },
        { "language", required_argument, NULL, 'g' },
        { "licence", required_argument, NULL, 'c' },
        { "type", required_argument, NULL, 't' },
        { "audience", required_argument, NULL, 'a' },
        { "origin", required_argument, NULL, 'o' },
        { "lang", required_argument, NULL, 'L' },
        { "system", required_argument, NULL, 'S' },
        { "limit", required_argument, NULL, 'n' },
        { "offset", required_argument, NULL, 'f' },
        { "sort", required_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'j' },
        CLI_COMMON_OPTIONS,
        { 0 } };
    struct index_query q = { .limit = INDEX_LIMIT_DEFAULT };
    const char *msg;
    char *text = NULL, *match = NULL;
    int opt, code, json = 0, idx = 0;

    while ((opt = getopt_long(argc, argv, "hvq", opts, &idx)) != -1) {
        if (opt == 'j') {
            json = 1;
            continue;
        }
        if (strchr("lsgctaoLSnfr", opt) == NULL || opt == 0) {
            code = cli_option(cli, opt, optarg);
            if (code >= 0)
                return code;
            continue;
        }
        if (api_search_arg(&q, opts[idx].name, optarg, &msg) != 0)
            return cli_fail(cli, CLI_USAGE, "%s", msg);
    }
    if (join_words(&text, argc - optind, argv + optind) != 0)
        return cli_fail(cli, CLI_FAILURE, "out of memory");
    q.text = text;
    if (index_query_fts(&match, text) != 0)
        code = cli_fail(cli, CLI_USAGE, "the query must be UTF-8 text of at "
                        "most %d bytes and %d words", INDEX_QUERY_MAX,
                        INDEX_QUERY_WORDS);
    else
        code = run_query(cli, &q, json);
    free(match);
    free(text);
    return code;
}

const struct cli_command cmd_search_commands[] = {
    { "search", run_search,
      "search [FILTERS] [--lang L] [--system S] [--sort ORDER] [--limit N] "
      "[--offset N] [--json] [WORDS...]",
      "search the node's index: hits and facet counts",
      "Bring the index (DATA/index.sqlite) up to the catalogues, then print\n"
      "the number of hits, one hit a line (id, licence, title; tabs between)\n"
      "and the facet counts of all hits.  WORDS are plain text: each must\n"
      "occur (diacritics and case ignored) in a title, description or\n"
      "keyword; a word ending in '*' matches as a prefix.  Without WORDS\n"
      "every record is a hit.  Few matches are ordered by relevance (bm25),\n"
      "many, or none typed, by date of update, newest first.\n\n"
      "Options:\n"
      "  --level T, --subject T, --language L, --licence ID, --type T,\n"
      "  --audience T, --origin O   keep hits with that value (repeatable:\n"
      "                             any of the values; up to 8 each)\n"
      "  --lang L        print titles in language L when there is one\n"
      "  --system S      level and subject filters are terms of the\n"
      "                  education system S (be-vl, nl), and the JSON\n"
      "                  answer shows each hit's levels in it\n"
      "  --sort ORDER    relevance (the default: ranked when the words\n"
      "                  match few records) or newest (always by date)\n"
      "  --limit N       at most N hits, 0 to 100 (default 20)\n"
      "  --offset N      skip the first N hits (up to 100000)\n"
      "  --json          print the answer of GET /api/search instead\n" },
    { "reindex", run_reindex, "reindex",
      "rebuild the search index from the git store",
      "Empty the search index (DATA/index.sqlite) and index every catalogue\n"
      "again from its head, in one transaction: the same index that\n"
      "catching up reaches.  Searches see the old index until it is done.\n" },
    { NULL, NULL, NULL, NULL, NULL } };
