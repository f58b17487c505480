/*
 * Tests of node/metrics: the exposition text parsed line by line against
 * the grammar of the Prometheus text format 0.0.4, hostile label values,
 * cumulative histogram buckets, and the counters each hook feeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/error.h"
#include "node/index.h"
#include "node/log.h"
#include "node/metrics.h"
#include "testutil.h"

#define MAX_SAMPLES 512
#define MAX_LABELS 8
#define MAX_FAMILIES 32

/* One sample line, as parsed. */
struct sample {
    char name[128];
    size_t nlabels;
    char keys[MAX_LABELS][64];
    char values[MAX_LABELS][256]; /* unescaped */
    double value;
};

struct exposition {
    struct sample samples[MAX_SAMPLES];
    size_t n;
    char families[MAX_FAMILIES][128];
    char types[MAX_FAMILIES][16];
    size_t nfamilies;
};

static int name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == ':' || (!first && c >= '0' && c <= '9');
}

/* A metric or label name at *p into out; the grammar's rule. */
static void parse_name(char *out, size_t cap, const char **p)
{
    size_t n = 0;

    assert_true(name_char(**p, 1));
    while (name_char(**p, n == 0)) {
        assert_true(n + 1 < cap);
        out[n++] = *(*p)++;
    }
    out[n] = '\0';
}

/* A quoted label value: only \\, \" and \n may follow a backslash, and no
 * raw newline may appear. */
static void parse_value(char *out, size_t cap, const char **p)
{
    size_t n = 0;

    assert_int_equal(*(*p)++, '"');
    while (**p != '"') {
        char c = *(*p)++;

        assert_true(c != '\0' && c != '\n');
        if (c == '\\') {
            c = *(*p)++;
            assert_true(c == '\\' || c == '"' || c == 'n');
            if (c == 'n')
                c = '\n';
        }
        assert_true(n + 1 < cap);
        out[n++] = c;
    }
    (*p)++;
    out[n] = '\0';
}

static void parse_labels(struct sample *s, const char **p)
{
    (*p)++;
    while (**p != '}') {
        assert_true(s->nlabels < MAX_LABELS);
        parse_name(s->keys[s->nlabels], sizeof(s->keys[0]), p);
        assert_int_equal(*(*p)++, '=');
        parse_value(s->values[s->nlabels], sizeof(s->values[0]), p);
        s->nlabels++;
        if (**p == ',')
            (*p)++;
        else
            assert_int_equal(**p, '}');
    }
    (*p)++;
}

/* The family a sample name belongs to (histogram suffixes stripped when
 * the family is a histogram), which must have been declared before. */
static const char *family_type(const struct exposition *e, const char *name)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};

    for (size_t i = 0; i < e->nfamilies; i++) {
        size_t n = strlen(e->families[i]);

        if (strcmp(e->families[i], name) == 0)
            return e->types[i];
        if (strcmp(e->types[i], "histogram") != 0 ||
            strncmp(e->families[i], name, n) != 0)
            continue;
        for (size_t k = 0; k < 3; k++)
            if (strcmp(name + n, suffixes[k]) == 0)
                return e->types[i];
    }
    return NULL;
}

static void parse_comment(struct exposition *e, const char *line)
{
    const char *p = line + 2;
    char name[128];

    if (strncmp(line, "# HELP ", 7) == 0) {
        p = line + 7;
        parse_name(name, sizeof(name), &p);
        assert_int_equal(*p, ' ');
        return;
    }
    assert_memory_equal(line, "# TYPE ", 7);
    p = line + 7;
    assert_true(e->nfamilies < MAX_FAMILIES);
    parse_name(e->families[e->nfamilies], sizeof(e->families[0]), &p);
    assert_int_equal(*p++, ' ');
    assert_true(strcmp(p, "counter") == 0 || strcmp(p, "gauge") == 0 ||
                strcmp(p, "histogram") == 0);
    snprintf(e->types[e->nfamilies], sizeof(e->types[0]), "%s", p);
    for (size_t i = 0; i < e->nfamilies; i++)
        assert_string_not_equal(e->families[i], e->families[e->nfamilies]);
    e->nfamilies++;
}

static void parse_sample(struct exposition *e, const char *line)
{
    struct sample *s;
    const char *p = line;
    char *end;

    assert_true(e->n < MAX_SAMPLES);
    s = &e->samples[e->n++];
    memset(s, 0, sizeof(*s));
    parse_name(s->name, sizeof(s->name), &p);
    if (*p == '{')
        parse_labels(s, &p);
    assert_int_equal(*p++, ' ');
    s->value = strtod(p, &end);
    assert_true(end != p && *end == '\0');
    assert_non_null(family_type(e, s->name));
}

/* Parse a whole exposition; every line must obey the grammar. */
static void parse(struct exposition *e, const char *text)
{
    char line[2048];

    memset(e, 0, sizeof(*e));
    assert_true(text[0] != '\0');
    assert_int_equal(text[strlen(text) - 1], '\n');
    while (*text != '\0') {
        const char *nl = strchr(text, '\n');
        size_t n = (size_t)(nl - text);

        assert_true(n < sizeof(line));
        memcpy(line, text, n);
        line[n] = '\0';
        text = nl + 1;
        assert_true(n > 0);
        if (line[0] == '#')
            parse_comment(e, line);
        else
            parse_sample(e, line);
    }
}

static const char *label(const struct sample *s, const char *key)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (strcmp(s->keys[i], key) == 0)
            return s->values[i];
    return NULL;
}

/* The value of the sample named name whose labels include the pairs of
 * the NULL-ended list; -1 when there is none. */
static double find(const struct exposition *e, const char *name, ...)
{
    for (size_t i = 0; i < e->n; i++) {
        const struct sample *s = &e->samples[i];
        const char *key, *l;
        int match = strcmp(s->name, name) == 0;
        va_list ap;

        va_start(ap, name);
        while (match && (key = va_arg(ap, const char *)) != NULL) {
            l = label(s, key);
            match = l != NULL && strcmp(l, va_arg(ap, const char *)) == 0;
        }
        va_end(ap);
        if (match)
            return s->value;
    }
    return -1;
}

static char *render(const struct metrics_catalogue *cats, size_t n)
{
    char *text = NULL;
    size_t len = 0;

    assert_int_equal(metrics_render(&text, &len, "nl-test", cats, n), 0);
    assert_int_equal(strlen(text), len);
    return text;
}

static struct exposition *exposition(void)
{
    struct exposition *e = malloc(sizeof(*e));

    assert_non_null(e);
    return e;
}

static void test_grammar_and_families(void **state)
{
    struct metrics_catalogue cats[] = {{"nl-test", 3}, {"be-vl", 0}};
    struct exposition *e = exposition();
    char *text;

    metrics_reset();
    metrics_request("GET", "/api/search", 200, 2000000);
    metrics_request(NULL, NULL, 404, 100000);
    metrics_peers_connected(2);
    text = render(cats, 2);
    parse(e, text);

    assert_string_equal(family_type(e, "oernode_info"), "gauge");
    assert_string_equal(family_type(e, "oernode_resources"), "gauge");
    assert_string_equal(family_type(e, "oernode_peers_connected"), "gauge");
    assert_string_equal(family_type(e, "oernode_sync_packs_total"), "counter");
    assert_string_equal(family_type(e, "oernode_sync_rounds_total"),
                        "counter");
    assert_string_equal(family_type(e, "oernode_errors_total"), "counter");
    assert_string_equal(family_type(e, "oernode_http_request_duration_seconds"),
                        "histogram");
    assert_true(find(e, "oernode_info", "node", "nl-test", "version",
                     OERNODE_VERSION, NULL) == 1);
    assert_true(find(e, "oernode_resources", "origin", "nl-test", NULL) == 3);
    assert_true(find(e, "oernode_resources", "origin", "be-vl", NULL) == 0);
    assert_true(find(e, "oernode_peers_connected", NULL) == 2);
    assert_true(find(e, "oernode_http_request_duration_seconds_count", "method",
                     "GET", "route", "/api/search", "status", "2xx",
                     NULL) == 1);
    assert_true(find(e, "oernode_http_request_duration_seconds_count", "method",
                     "other", "route", "other", "status", "4xx", NULL) == 1);
    free(text);
    free(e);
}

static void test_hostile_labels(void **state)
{
    const char *hostile = "x\"} 1\nevil_metric 666\n# TYPE \\n";
    struct metrics_catalogue cats[] = {{hostile, 7}};
    FILE *sink = tmpfile();
    struct exposition *e = exposition();
    char *text;

    metrics_reset();
    metrics_request("GET", hostile, 500, 1000);
    log_set_stream(sink);
    log_event(LOG_LEVEL_ERROR, hostile, "hostile module", NULL);
    log_set_stream(NULL);
    fclose(sink);
    text = render(cats, 1);

    assert_non_null(strstr(text, "origin=\"x\\\"} 1\\nevil_metric 666\\n"
                                 "# TYPE \\\\n\"} 7\n"));
    parse(e, text);
    assert_true(find(e, "evil_metric", NULL) == -1);
    assert_true(find(e, "oernode_resources", "origin", hostile, NULL) == 7);
    assert_true(find(e, "oernode_errors_total", "kind", hostile, "level",
                     "error", NULL) == 1);
    assert_true(find(e, "oernode_http_request_duration_seconds_count", "route",
                     hostile, "status", "5xx", NULL) == 1);
    free(text);
    free(e);
}

static void test_histogram_cumulative(void **state)
{
    static const uint64_t ns[] = {500000, 3000000, 3000000, 2000000000,
                                  20000000000ull};
    struct exposition *e = exposition();
    double last = 0, inf = -1, sum;
    size_t buckets = 0;
    char *text;

    metrics_reset();
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
        metrics_request("POST", "/oai", 200, ns[i]);
    text = render(NULL, 0);
    parse(e, text);

    for (size_t i = 0; i < e->n; i++) {
        const struct sample *s = &e->samples[i];
        const char *le = label(s, "le");

        if (strcmp(s->name, "oernode_http_request_duration_seconds_bucket"))
            continue;
        assert_non_null(le);
        assert_true(s->value >= last);
        last = s->value;
        buckets++;
        if (strcmp(le, "+Inf") == 0)
            inf = s->value;
    }
    assert_int_equal(buckets, METRICS_NBUCKETS + 1);
    assert_true(inf == 5);
    assert_true(find(e, "oernode_http_request_duration_seconds_count", "route",
                     "/oai", NULL) == inf);
    assert_true(find(e, "oernode_http_request_duration_seconds_bucket", "le",
                     "0.001", NULL) == 1);
    assert_true(find(e, "oernode_http_request_duration_seconds_bucket", "le",
                     "0.005", NULL) == 3);
    assert_true(find(e, "oernode_http_request_duration_seconds_bucket", "le",
                     "2.5", NULL) == 4);
    assert_true(find(e, "oernode_http_request_duration_seconds_bucket", "le",
                     "10", NULL) == 4);
    sum = find(e, "oernode_http_request_duration_seconds_sum", NULL);
    assert_true(sum > 22.0064 && sum < 22.0066);
    free(text);
    free(e);
}

static void test_counters(void **state)
{
    struct exposition *e = exposition();
    FILE *sink = tmpfile();
    char *text;

    metrics_reset();
    metrics_sync_pack(0, 1);
    metrics_sync_pack(0, 1);
    metrics_sync_pack(0, 0);
    metrics_sync_round();
    metrics_sync_round();
    metrics_sync_round();
    metrics_sync_pack(OER_ECRYPTO, 0);
    log_set_stream(sink);
    log_set_level(LOG_LEVEL_ERROR);
    log_warn("sync", "dropped by the level, counted all the same", NULL);
    log_set_level(LOG_LEVEL_INFO);
    log_warn("sync", "pack rejected", NULL);
    log_error("store", "cannot write", NULL);
    log_info("sync", "catalogue updated", NULL);
    log_set_stream(NULL);
    fclose(sink);
    text = render(NULL, 0);
    parse(e, text);

    assert_true(
        find(e, "oernode_sync_packs_total", "result", "applied", NULL) == 2);
    assert_true(
        find(e, "oernode_sync_packs_total", "result", "unchanged", NULL) == 1);
    assert_true(
        find(e, "oernode_sync_packs_total", "result", "rejected", NULL) == 1);
    assert_true(find(e, "oernode_sync_rounds_total", NULL) == 3);
    assert_true(find(e, "oernode_errors_total", "kind", "sync", "level", "warn",
                     NULL) == 2);
    assert_true(find(e, "oernode_errors_total", "kind", "store", "level",
                     "error", NULL) == 1);
    assert_true(find(e, "oernode_errors_total", "kind", "sync", "level", "info",
                     NULL) == -1);
    assert_true(find(e, "oernode_peers_connected", NULL) == 0);
    free(text);
    free(e);
}

/* Without a store the answer still comes, with the other families. */
static void test_serve_without_store(void **state)
{
    struct http_response res = {0};
    struct exposition *e = exposition();
    char *dir = testutil_tmpdir("metrics");
    char path[1024];
    FILE *sink = tmpfile();

    metrics_reset();
    snprintf(path, sizeof(path), "%s/repo.git", dir);
    log_set_stream(sink);
    metrics_serve(&res, path, INDEX_VOCAB_DIR, "nl-test");
    log_set_stream(NULL);
    fclose(sink);

    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type,
                        "text/plain; version=0.0.4; charset=utf-8");
    parse(e, res.body);
    assert_true(find(e, "oernode_info", "node", "nl-test", NULL) == 1);
    assert_true(find(e, "oernode_resources", NULL) == -1);
    free(res.body);
    free(dir);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grammar_and_families),
        cmocka_unit_test(test_hostile_labels),
        cmocka_unit_test(test_histogram_cumulative),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_serve_without_store),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
