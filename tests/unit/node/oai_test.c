/*
 * Tests of node/oai and node/crosswalk: every error code and argument
 * rule of OAI-PMH 2.0, cases B03 (dates), B05 (deleted records) and B08
 * (sets), resumption tokens across edits, and well-formed XML for every
 * response (xmllint --noout), on real signed catalogues.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "federation/identity.h"
#include "federation/vocab.h"
#include "node/crosswalk.h"
#include "node/error.h"
#include "node/index.h"
#include "node/lom.h"
#include "node/metadata.h"
#include "node/oai.h"
#include "node/store.h"
#include "testutil.h"

#define NODE "be-vl"

struct fixture {
    char *dir;
    char repo[512];
    struct store *s;
    struct identity *id;
    struct vocab *vocab; /* sets through the vocabularies, when loaded */
    size_t page;
    int responses;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char key[600];

    fx->dir = testutil_tmpdir("oai");
    snprintf(fx->repo, sizeof(fx->repo), "%s/repo.git", fx->dir);
    snprintf(key, sizeof(key), "%s/node.key", fx->dir);
    assert_int_equal(store_init(fx->repo), 0);
    assert_int_equal(store_open(&fx->s, fx->repo), 0);
    assert_int_equal(identity_generate(&fx->id, key), 0);
    fx->page = 100;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    store_free(fx->s);
    identity_free(fx->id);
    vocab_free(fx->vocab);
    testutil_run(NULL, 1, "rm -rf '%s'", fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* ---- building catalogues -------------------------------------------- */

static json_t *record(const char *origin, const char *local, const char *title)
{
    char id[160], now[24];

    metadata_now(now);
    snprintf(id, sizeof(id), "%s/%s", origin, local);
    return json_pack("{s:i,s:s,s:{s:s},s:[s],s:s,s:s}", "schema", 1, "id", id,
                     "title", "nl", title, "languages", "nl", "licence",
                     "CC-BY-4.0", "updated", now);
}

static json_t *term(const char *value)
{
    return json_pack("{s:s,s:s}", "source", "", "value", value);
}

/* Commit docs (stolen) to origin's catalogue as one commit. */
static void commit(struct fixture *fx, const char *origin, json_t **docs,
                   size_t n)
{
    struct store_batch *b = NULL;
    char out[STORE_OID_HEX];

    assert_int_equal(store_batch_new(&b, fx->s, origin), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(metadata_validate(docs[i], 0, NULL), 0);
        assert_int_equal(store_batch_put(b, docs[i], NULL), 0);
        json_decref(docs[i]);
    }
    assert_int_equal(store_batch_commit(out, b, fx->id, "test"), 0);
    store_batch_free(b);
}

static void put(struct fixture *fx, const char *local, const char *title)
{
    json_t *doc = record(NODE, local, title);

    commit(fx, NODE, &doc, 1);
}

static void withdraw(struct fixture *fx, const char *local)
{
    char id[160], now[24];
    json_t *tomb;

    metadata_now(now);
    snprintf(id, sizeof(id), NODE "/%s", local);
    tomb = json_pack("{s:i,s:s,s:s,s:b,s:s}", "schema", 1, "id", id, "updated",
                     now, "deleted", 1, "reason", "withdrawn");
    commit(fx, NODE, &tomb, 1);
}

/* ---- asking ----------------------------------------------------------- */

/* The response to a query string, checked well-formed by xmllint.
 * Caller frees. */
static char *ask(struct fixture *fx, const char *query)
{
    struct oai_options opt = {.node_id = NODE,
                              .base_url = "http://localhost/oai",
                              .admin_email = "oai@example.org",
                              .page_size = fx->page,
                              .vocab = fx->vocab};
    struct oai_args args = {0};
    char *body = NULL, path[600], *out = NULL;
    size_t len = 0;
    int rc;

    assert_int_equal(oai_args_form(&args, query, strlen(query)), 0);
    assert_int_equal(oai_respond(&body, &len, fx->s, &opt, &args), 0);
    oai_args_release(&args);
    assert_int_equal(strlen(body), len);

    snprintf(path, sizeof(path), "%s/response-%d.xml", fx->dir,
             fx->responses++);
    testutil_write(path, body, len);
    rc = testutil_run(&out, 1, "xmllint --noout '%s'", path);
    if (rc != 0)
        fprintf(stderr, "%s\n%s\n", out, body);
    assert_int_equal(rc, 0);
    free(out);
    return body;
}

/* The error code of a response, "" when it has none. */
static const char *error_code(const char *body)
{
    static char code[64];
    const char *p = strstr(body, "<error code=\"");

    code[0] = '\0';
    if (p != NULL)
        sscanf(p + 13, "%63[^\"]", code);
    return code;
}

static void expect_error(struct fixture *fx, const char *query,
                         const char *code)
{
    char *body = ask(fx, query);

    if (strcmp(error_code(body), code) != 0)
        fprintf(stderr, "query %s:\n%s\n", query, body);
    assert_string_equal(error_code(body), code);
    /* badVerb and badArgument echo no argument */
    if (strcmp(code, "badVerb") == 0 || strcmp(code, "badArgument") == 0)
        assert_non_null(strstr(body, "<request>http://localhost/oai<"));
    free(body);
}

static size_t count(const char *body, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(body, needle); p != NULL;
         p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The token of a response, or "" (none or empty); caller frees. */
static char *token_of(const char *body)
{
    const char *p = strstr(body, "<resumptionToken");
    const char *end;

    if (p == NULL || (p = strchr(p, '>')) == NULL || p[-1] == '/')
        return strdup("");
    end = strchr(p, '<');
    return strndup(p + 1, (size_t)(end - p - 1));
}

static void date_of(char *out, size_t cap, long long t, int day)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, cap, day ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int on_newest(const struct store_commit_info *info, void *arg)
{
    *(long long *)arg = info->time;
    return 1;
}

/* Committer time of the head of NODE's catalogue. */
static long long head_time(struct fixture *fx)
{
    long long t = 0;

    assert_int_equal(store_log(fx->s, NODE, on_newest, &t), 1);
    return t;
}

/* ---- argument rules and error codes ----------------------------------- */

static void test_errors(void **state)
{
    static const char *const cases[][2] = {
        {"", "badVerb"},
        {"verb=Nope", "badVerb"},
        {"verb=identify", "badVerb"},
        {"verb=Identify&verb=Identify", "badVerb"},
        {"metadataPrefix=oai_dc", "badVerb"},
        {"verb=Identify&x=1", "badArgument"},
        {"verb=Identify&metadataPrefix=oai_dc", "badArgument"},
        {"verb=ListRecords", "badArgument"},
        {"verb=ListIdentifiers&set=origin", "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc",
         "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&identifier=x", "badArgument"},
        {"verb=ListRecords&metadataPrefix=marc", "cannotDisseminateFormat"},
        {"verb=ListRecords&metadataPrefix=", "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&set=", "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&set=abc+def", "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&set=abc%3Cx%3E",
         "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&set=a%0Ab", "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&set=abc:", "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&set=:abc", "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&set=abc::def", "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&set=does-not-exist",
         "noRecordsMatch"},
        {"verb=ListRecords&metadataPrefix=oai_dc&resumptionToken=abc",
         "badArgument"},
        {"verb=ListRecords&resumptionToken=abc", "badResumptionToken"},
        {"verb=ListIdentifiers&resumptionToken=%FF%FE", "badResumptionToken"},
        {"verb=ListSets&resumptionToken=abc", "badResumptionToken"},
        {"verb=ListSets&set=origin", "badArgument"},
        {"verb=GetRecord&metadataPrefix=oai_dc", "badArgument"},
        {"verb=GetRecord&identifier=oai:" NODE ":" NODE "/r1", "badArgument"},
        {"verb=GetRecord&identifier=oai:" NODE ":" NODE
         "/never&metadataPrefix=oai_dc",
         "idDoesNotExist"},
        {"verb=GetRecord&identifier=oai:elsewhere:" NODE
         "/r1&metadataPrefix=oai_dc",
         "idDoesNotExist"},
        {"verb=GetRecord&identifier=%FF&metadataPrefix=oai_dc",
         "idDoesNotExist"},
        {"verb=GetRecord&identifier=oai:" NODE ":" NODE
         "/r1&metadataPrefix=marc",
         "cannotDisseminateFormat"},
        {"verb=ListMetadataFormats&identifier=oai:" NODE ":nl/x",
         "idDoesNotExist"},
        {"verb=ListMetadataFormats&metadataPrefix=oai_dc", "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&from=2024-05-10T13:45:00."
         "123Z",
         "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&from=2024-13-40",
         "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&from=2023-02-29",
         "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&until=yesterday",
         "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&from=2024-05-10"
         "&until=2024-05-10T23:59:59Z",
         "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&from=2024-05-12"
         "&until=2024-05-10",
         "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&from=2024-05-10T24:00:00Z",
         "badArgument"},
        {"verb=ListRecords&metadataPrefix=oai_dc&from=2999-01-01",
         "noRecordsMatch"},
        {"verb=ListRecords&metadataPrefix=oai_dc&until=1999-01-01",
         "noRecordsMatch"},
        {"verb=Identify", ""},
        {"verb=ListMetadataFormats", ""},
        {"verb=ListSets", ""},
        {"verb=ListIdentifiers&metadataPrefix=lom", ""},
        {"verb=GetRecord&identifier=oai:" NODE ":" NODE
         "/r1&metadataPrefix=lom",
         ""},
    };
    struct fixture *fx = *state;

    put(fx, "r1", "Breuken");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(fx, cases[i][0], cases[i][1]);
}

/* More than OAI_MAX_ARGS arguments, and malformed form bodies. */
static void test_form_and_overflow(void **state)
{
    struct fixture *fx = *state;
    struct oai_args args = {0};
    char query[2048] = "verb=Identify";

    assert_int_equal(oai_args_form(&args, "a=%zz", 5), OER_EINVAL);
    oai_args_release(&args);
    assert_int_equal(oai_args_form(&args, "a=%00", 5), OER_EINVAL);
    oai_args_release(&args);
    assert_int_equal(oai_args_form(&args, "a=%4", 4), OER_EINVAL);
    oai_args_release(&args);
    assert_int_equal(oai_args_form(&args, "a+b=c+d&&e", 10), 0);
    assert_int_equal(args.n, 2);
    assert_string_equal(args.keys[0], "a b");
    assert_string_equal(args.values[0], "c d");
    assert_string_equal(args.keys[1], "e");
    assert_string_equal(args.values[1], "");
    oai_args_release(&args);

    for (int i = 0; i < OAI_MAX_ARGS; i++)
        strcat(query, "&verb=Identify");
    expect_error(fx, query, "badVerb");
    strcpy(query, "verb=Identify");
    for (int i = 0; i < OAI_MAX_ARGS; i++)
        strcat(query, "&x=1");
    expect_error(fx, query, "badArgument");
}

/* POST with a form body answers as GET does; the base URL comes from
 * the Host header. */
static void test_serve_post(void **state)
{
    struct fixture *fx = *state;
    struct oai_options opt = {.node_id = NODE,
                              .admin_email = "oai@example.org"};
    struct http_request req = {.method = "POST",
                               .path = "/oai",
                               .rest = "",
                               .host = "oai.example.org:8080",
                               .content_type =
                                   "application/x-www-form-urlencoded",
                               .body = "verb=Identify",
                               .body_len = 13};
    struct http_response res = {0};

    oai_serve(&res, &req, fx->s, &opt);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "text/xml; charset=utf-8");
    assert_non_null(strstr(res.body, "<baseURL>http://oai.example.org:8080"
                                     "/oai</baseURL>"));
    free(res.body);

    memset(&res, 0, sizeof(res));
    req.body = "verb=Identify&x=%zz";
    req.body_len = strlen(req.body);
    req.host = "evil\"host";
    oai_serve(&res, &req, fx->s, &opt);
    assert_non_null(strstr(res.body, "code=\"badArgument\""));
    assert_non_null(strstr(res.body, "<request>http://localhost/oai<"));
    free(res.body);

    /* a configured base URL (oai.base-url) wins over the Host header */
    memset(&res, 0, sizeof(res));
    req.body = "verb=Identify";
    req.body_len = strlen(req.body);
    opt.base_url = "https://oer.example.org/oai";
    oai_serve(&res, &req, fx->s, &opt);
    assert_non_null(
        strstr(res.body, "<baseURL>https://oer.example.org/oai</baseURL>"));
    assert_non_null(strstr(res.body, "<request verb=\"Identify\">"
                                     "https://oer.example.org/oai<"));
    free(res.body);
}

static void test_identify(void **state)
{
    struct fixture *fx = *state;
    char want[96], stamp[24];
    char *body;

    body = ask(fx, "verb=Identify");
    assert_non_null(strstr(body, "<repositoryName>oernode node " NODE));
    assert_non_null(strstr(body, "<deletedRecord>persistent<"));
    assert_non_null(strstr(body, "<granularity>YYYY-MM-DDThh:mm:ssZ<"));
    assert_non_null(strstr(body, "<adminEmail>oai@example.org<"));
    assert_non_null(strstr(body, "<protocolVersion>2.0<"));
    free(body);

    /* the oldest datestamp stored, not the time of the request */
    put(fx, "r1", "Breuken");
    date_of(stamp, sizeof(stamp), head_time(fx), 0);
    put(fx, "r2", "Getallen");
    put(fx, "r1", "Breuken vergelijken");
    body = ask(fx, "verb=Identify");
    snprintf(want, sizeof(want), "<earliestDatestamp>%s<", stamp);
    assert_non_null(strstr(body, want));
    free(body);
}

/* ---- B03: from and until --------------------------------------------- */

static void expect_count(struct fixture *fx, const char *query, size_t n)
{
    char *body = ask(fx, query);
    size_t got = count(body, "<header");

    if (got != n)
        fprintf(stderr, "query %s:\n%s\n", query, body);
    assert_int_equal(got, n);
    if (n == 0)
        assert_string_equal(error_code(body), "noRecordsMatch");
    free(body);
}

static void test_b03_dates(void **state)
{
    struct fixture *fx = *state;
    char day[16], next[16], sec[24], q[256];
    long long t;

    put(fx, "x", "Record X");
    t = head_time(fx);
    date_of(day, sizeof(day), t, 1);
    date_of(next, sizeof(next), t + 86400, 1);
    date_of(sec, sizeof(sec), t, 0);

    snprintf(q, sizeof(q),
             "verb=ListIdentifiers&metadataPrefix=oai_dc&from=%s&until=%s", day,
             day);
    expect_count(fx, q, 1);
    snprintf(q, sizeof(q),
             "verb=ListIdentifiers&metadataPrefix=oai_dc&from=%s&until=%s", sec,
             sec);
    expect_count(fx, q, 1);
    snprintf(q, sizeof(q),
             "verb=ListIdentifiers&metadataPrefix=oai_dc"
             "&from=%s",
             next);
    expect_count(fx, q, 0);
    date_of(sec, sizeof(sec), t - 1, 0);
    snprintf(q, sizeof(q),
             "verb=ListIdentifiers&metadataPrefix=oai_dc"
             "&until=%s",
             sec);
    expect_count(fx, q, 0);
    expect_count(fx, "verb=ListRecords&metadataPrefix=oai_dc&from=2019-01-01",
                 1);
    expect_count(fx,
                 "verb=ListRecords&metadataPrefix=oai_dc&from=1900-01-01"
                 "T00:00:00Z",
                 1);
}

static void test_parse_date(void **state)
{
    long long t = 0;

    assert_int_equal(oai_parse_date(&t, "1970-01-01", 0), OAI_DAY);
    assert_int_equal(t, 0);
    assert_int_equal(oai_parse_date(&t, "1970-01-01", 1), OAI_DAY);
    assert_int_equal(t, 86399);
    assert_int_equal(oai_parse_date(&t, "2024-02-29T23:59:59Z", 0), OAI_SECOND);
    assert_int_equal(t, 1709251199LL);
    assert_int_equal(oai_parse_date(&t, "2024-05-10T13:45:00+00:00", 0),
                     OAI_NO_DATE);
    assert_int_equal(oai_parse_date(&t, "2024-5-10", 0), OAI_NO_DATE);
    assert_int_equal(oai_parse_date(&t, "2100-02-29", 0), OAI_NO_DATE);
}

/* ---- B05: deleted records -------------------------------------------- */

static void b05_answers(struct fixture *fx, const char *before)
{
    char q[256], *body;

    body = ask(fx, "verb=GetRecord&identifier=oai:" NODE ":" NODE
                   "/r42&metadataPrefix=oai_dc");
    assert_non_null(strstr(body, "<header status=\"deleted\">"));
    assert_non_null(strstr(body, "<setSpec>subject:physics</setSpec>"));
    assert_null(strstr(body, "<metadata>"));
    free(body);

    snprintf(q, sizeof(q), "verb=ListIdentifiers&metadataPrefix=oai_dc&from=%s",
             before);
    body = ask(fx, q);
    assert_int_equal(count(body, "<header status=\"deleted\">"), 1);
    assert_non_null(strstr(body, NODE "/r42</identifier>"));
    free(body);

    body = ask(fx, "verb=ListRecords&metadataPrefix=lom&set=subject:physics");
    assert_int_equal(count(body, "<header status=\"deleted\">"), 1);
    assert_null(strstr(body, "<metadata>"));
    free(body);

    expect_error(fx,
                 "verb=GetRecord&identifier=oai:" NODE ":" NODE
                 "/never-existed&metadataPrefix=oai_dc",
                 "idDoesNotExist");
    expect_error(
        fx, "verb=ListMetadataFormats&identifier=oai:" NODE ":" NODE "/r42",
        "");
}

static void test_b05_deleted(void **state)
{
    struct fixture *fx = *state;
    json_t *doc = record(NODE, "r42", "Licht en kleur");
    char before[24];

    json_object_set_new(doc, "subjects", json_pack("[o]", term("Physics")));
    commit(fx, NODE, &doc, 1);
    date_of(before, sizeof(before), head_time(fx), 0);
    withdraw(fx, "r42");
    b05_answers(fx, before);

    /* tombstones are data, not cache: the same after git gc */
    store_free(fx->s);
    fx->s = NULL;
    assert_int_equal(
        testutil_run(NULL, 1, "git -C '%s' gc -q --prune=now", fx->repo), 0);
    assert_int_equal(store_open(&fx->s, fx->repo), 0);
    b05_answers(fx, before);
}

/* ---- B08: sets -------------------------------------------------------- */

static void test_b08_sets(void **state)
{
    struct fixture *fx = *state;
    json_t *docs[3];
    char spec[64], *body;

    docs[0] = record(NODE, "m1", "Rekenen");
    json_object_set_new(docs[0], "subjects", json_pack("[o]", term("Math")));
    json_object_set_new(docs[0], "levels", json_pack("[o]", term("isced-2")));
    docs[1] = record(NODE, "m2", "Vergelijkingen");
    json_object_set_new(docs[1], "subjects",
                        json_pack("[oo]", term("math:Algebra"),
                                  term("Maths & Science / Grade 5")));
    docs[2] = record(NODE, "h1", "Geschiedenis");
    commit(fx, NODE, docs, 3);
    docs[0] = record("nl-other", "o1", "Elders");
    json_object_set_new(docs[0], "subjects", json_pack("[o]", term("math")));
    commit(fx, "nl-other", docs, 1);

    expect_error(fx,
                 "verb=ListRecords&metadataPrefix=oai_dc&set=", "badArgument");
    expect_count(fx,
                 "verb=ListIdentifiers&metadataPrefix=oai_dc"
                 "&set=subject:math",
                 3);
    expect_count(fx,
                 "verb=ListIdentifiers&metadataPrefix=oai_dc"
                 "&set=subject:math:algebra",
                 1);
    expect_count(fx,
                 "verb=ListIdentifiers&metadataPrefix=oai_dc"
                 "&set=subject:maths-science-grade-5",
                 1);
    expect_count(fx,
                 "verb=ListIdentifiers&metadataPrefix=oai_dc"
                 "&set=subject",
                 3);
    expect_count(fx,
                 "verb=ListIdentifiers&metadataPrefix=oai_dc"
                 "&set=level:isced-2",
                 1);
    expect_count(fx,
                 "verb=ListIdentifiers&metadataPrefix=oai_dc"
                 "&set=origin:" NODE,
                 3);
    expect_count(fx,
                 "verb=ListIdentifiers&metadataPrefix=oai_dc"
                 "&set=origin:nl-other",
                 1);
    expect_count(fx,
                 "verb=ListIdentifiers&metadataPrefix=oai_dc"
                 "&set=origin:nl",
                 0);
    expect_count(fx,
                 "verb=ListIdentifiers&metadataPrefix=oai_dc"
                 "&set=does-not-exist",
                 0);

    body = ask(fx, "verb=ListSets");
    assert_int_equal(count(body, "<set>"), 9);
    assert_non_null(strstr(body, "<setSpec>subject:math:algebra</setSpec>"
                                 "<setName>Subject: math:Algebra</setName>"));
    assert_non_null(strstr(body, "<setSpec>origin:nl-other</setSpec>"));
    assert_non_null(strstr(body, "<setSpec>level:isced-2</setSpec>"));
    free(body);

    assert_int_equal(crosswalk_spec_from_label(spec, sizeof(spec),
                                               "Maths & Science / Grade 5", 0),
                     0);
    assert_string_equal(spec, "maths-science-grade-5");
    assert_int_equal(crosswalk_spec_from_label(spec, sizeof(spec),
                                               " Éducation::Physique ", 1),
                     0);
    assert_string_equal(spec, "education:physique");
    assert_int_equal(crosswalk_spec_from_label(spec, sizeof(spec), "数学", 1),
                     0);
    assert_int_equal(strlen(spec), 9);
    assert_true(crosswalk_spec_valid(spec));
    assert_true(crosswalk_spec_valid("subject:math"));
    assert_false(crosswalk_spec_valid("abc def"));
    assert_false(crosswalk_spec_valid("abc<x>"));
    assert_false(crosswalk_spec_valid("a\nb"));
    assert_false(crosswalk_spec_valid("abc:"));
    assert_false(crosswalk_spec_valid(":abc"));
    assert_false(crosswalk_spec_valid("abc::def"));
    assert_false(crosswalk_spec_valid(""));
}

/* A term of a vocabulary source. */
static json_t *term_of(const char *source, const char *value)
{
    return json_pack("{s:s,s:s}", "source", source, "value", value);
}

static json_t *with_level(json_t *doc, json_t *level)
{
    json_object_set_new(doc, "levels", json_pack("[o]", level));
    return doc;
}

/* Level sets by ISCED 2011 pivot and subject sets by the shared subject
 * pivot: a Flemish and a Dutch term of ISCED 1 in one set; unmapped
 * terms keep their value sets; a withdrawn record keeps its former ones. */
static void test_pivot_sets(void **state)
{
    struct fixture *fx = *state;
    const char *q = "verb=ListIdentifiers&metadataPrefix=oai_dc&set=";
    char query[256], *body;
    json_t *docs[4];

    assert_int_equal(vocab_load(&fx->vocab, INDEX_VOCAB_DIR), 0);
    /* free text of origin be-vl is read in be-vl, by id or by label */
    docs[0] = with_level(record(NODE, "vl1", "Breuken"),
                         term("lager onderwijs, 5e leerjaar"));
    docs[1] = with_level(record(NODE, "nl1", "Breuken NL"),
                         term_of("http://purl.org/oernode/vocab/nl",
                                 "po_groep7"));
    docs[2] = with_level(record(NODE, "x1", "Elders"), term("isced-2"));
    json_object_set_new(docs[2], "subjects",
                        json_pack("[oo]", term("fysica"), term("Math")));
    docs[3] = record(NODE, "h1", "Geen niveau");
    commit(fx, NODE, docs, 4);
    docs[0] = with_level(record("nl", "n2", "Havo"), term("havo 4"));
    commit(fx, "nl", docs, 1);

    snprintf(query, sizeof(query), "%slevel:isced:1", q);
    body = ask(fx, query);
    assert_int_equal(count(body, "<header"), 2);
    assert_non_null(strstr(body, "oai:" NODE ":" NODE "/vl1<"));
    assert_non_null(strstr(body, "oai:" NODE ":" NODE "/nl1<"));
    assert_non_null(strstr(body, "<setSpec>level:isced:1</setSpec>"));
    assert_null(strstr(body, "<setSpec>level:lager"));
    free(body);
    snprintf(query, sizeof(query), "%slevel:isced:3", q);
    expect_count(fx, query, 1);
    snprintf(query, sizeof(query), "%slevel:isced", q);
    expect_count(fx, query, 3);
    snprintf(query, sizeof(query), "%slevel:isced:2", q);
    expect_count(fx, query, 0);
    snprintf(query, sizeof(query), "%slevel:isced-2", q);
    expect_count(fx, query, 1);
    snprintf(query, sizeof(query), "%slevel", q);
    expect_count(fx, query, 4);
    snprintf(query, sizeof(query), "%ssubject:pivot:physics", q);
    expect_count(fx, query, 1);
    snprintf(query, sizeof(query), "%ssubject:pivot:sciences", q);
    expect_count(fx, query, 1);
    snprintf(query, sizeof(query), "%ssubject:math", q);
    expect_count(fx, query, 1);

    body = ask(fx, "verb=ListSets");
    assert_non_null(strstr(body, "<setSpec>level:isced:1</setSpec><setName>"
                                 "Level: ISCED 1, Primary education"));
    assert_non_null(strstr(body, "<setSpec>level:isced</setSpec>"));
    assert_non_null(strstr(body, "<setSpec>subject:pivot:physics</setSpec>"
                                 "<setName>Subject: Physics</setName>"));
    assert_non_null(strstr(body, "<setSpec>level:isced-2</setSpec>"));
    assert_non_null(strstr(body, "<setSpec>subject:math</setSpec>"));
    free(body);

    /* a withdrawn record stays in its former pivot set, as deleted */
    withdraw(fx, "nl1");
    snprintf(query, sizeof(query), "%slevel:isced:1", q);
    body = ask(fx, query);
    assert_int_equal(count(body, "<header"), 2);
    assert_int_equal(count(body, "status=\"deleted\""), 1);
    free(body);
}

/* A record whose level terms map to no ISCED level is in the sets of its
 * LOM context and typical age range, as the search index files it. */
static void test_age_sets(void **state)
{
    struct fixture *fx = *state;
    const char *q = "verb=ListIdentifiers&metadataPrefix=oai_dc&set=";
    char query[256], *body;
    json_t *docs[2];

    assert_int_equal(vocab_load(&fx->vocab, INDEX_VOCAB_DIR), 0);
    docs[0] = with_level(record(NODE, "a1", "Fotosynthese"),
                         term_of("LOMv1.0", "school"));
    json_object_set_new(docs[0], "age_range", json_string("12-14"));
    /* a mapped term wins over its age range */
    docs[1] = with_level(record(NODE, "a2", "Groep 7"),
                         term_of("http://purl.org/oernode/vocab/nl",
                                 "po_groep7"));
    json_object_set_new(docs[1], "age_range", json_string("12-14"));
    commit(fx, NODE, docs, 2);

    snprintf(query, sizeof(query), "%slevel:isced:2", q);
    body = ask(fx, query);
    assert_int_equal(count(body, "<header"), 1);
    assert_non_null(strstr(body, "oai:" NODE ":" NODE "/a1<"));
    free(body);
    snprintf(query, sizeof(query), "%slevel:isced:1", q);
    body = ask(fx, query);
    assert_int_equal(count(body, "<header"), 1);
    assert_non_null(strstr(body, "oai:" NODE ":" NODE "/a2<"));
    free(body);
}

/* ---- resumption tokens ------------------------------------------------ */

/* Follow a list to its end from query; every identifier listed goes to
 * seen (one line each); returns the number of pages.  edit runs after
 * the first page. */
static int harvest(struct fixture *fx, const char *query, char *seen,
                   size_t cap, void (*edit)(struct fixture *fx))
{
    char q[4096], *body = ask(fx, query), *token;
    int pages = 1;

    for (;;) {
        for (const char *p = strstr(body, "<identifier>"); p != NULL;
             p = strstr(p + 1, "<identifier>")) {
            size_t len = strlen(seen);

            snprintf(seen + len, cap - len, "%.*s\n", (int)strcspn(p + 12, "<"),
                     p + 12);
        }
        token = token_of(body);
        free(body);
        if (token[0] == '\0') {
            free(token);
            return pages;
        }
        if (edit != NULL && pages == 1)
            edit(fx);
        snprintf(q, sizeof(q), "verb=ListIdentifiers&resumptionToken=%s",
                 token);
        free(token);
        body = ask(fx, q);
        assert_string_equal(error_code(body), "");
        pages++;
    }
}

/* Change a listed record and an unlisted one, withdraw one, add two. */
static void edit_during_harvest(struct fixture *fx)
{
    put(fx, "a0", "Changed after it was listed");
    put(fx, "a6", "Changed before it was listed");
    withdraw(fx, "a5");
    put(fx, "n1", "New");
    put(fx, "n2", "Newer");
}

static void test_tokens_across_edits(void **state)
{
    struct fixture *fx = *state;
    char seen[4096] = "", want[4096] = "", local[8], q[256], *body;

    for (int i = 0; i < 7; i++) {
        snprintf(local, sizeof(local), "a%d", i);
        put(fx, local, "Record");
        snprintf(want + strlen(want), sizeof(want) - strlen(want),
                 "oai:" NODE ":" NODE "/%s\n", local);
    }
    fx->page = 3;
    assert_int_equal(harvest(fx, "verb=ListIdentifiers&metadataPrefix=oai_dc",
                             seen, sizeof(seen), edit_during_harvest),
                     3);
    /* each record of the start once, in history order; nothing new */
    assert_string_equal(seen, want);

    /* the next harvest has everything, each once; last page's size */
    seen[0] = '\0';
    assert_int_equal(harvest(fx, "verb=ListIdentifiers&metadataPrefix=oai_dc",
                             seen, sizeof(seen), NULL),
                     3);
    assert_int_equal(count(seen, "\n"), 9);
    assert_int_equal(count(seen, "/a0\n"), 1);
    assert_int_equal(count(seen, "/n2\n"), 1);
    body = ask(fx, "verb=ListIdentifiers&metadataPrefix=oai_dc");
    assert_non_null(strstr(body, "<resumptionToken cursor=\"0\">"));
    assert_int_equal(count(body, "<header"), 3);
    free(body);

    /* a tampered token, and one whose catalogue is gone */
    body = ask(fx, "verb=ListIdentifiers&metadataPrefix=oai_dc");
    {
        char *token = token_of(body), kept = token[10];

        token[10] = kept == 'A' ? 'B' : 'A';
        snprintf(q, sizeof(q), "verb=ListRecords&resumptionToken=%s", token);
        expect_error(fx, q, "badResumptionToken");
        token[10] = kept;
        snprintf(q, sizeof(q), "verb=ListRecords&resumptionToken=%s", token);
        expect_error(fx, q, "");
        assert_int_equal(testutil_run(NULL, 1,
                                      "git -C '%s' update-ref -d "
                                      "refs/catalog/" NODE,
                                      fx->repo),
                         0);
        expect_error(fx, q, "badResumptionToken");
        free(token);
    }
    free(body);
}

static void test_token_codec(void **state)
{
    struct oai_token *t = calloc(1, sizeof(*t)), *u = calloc(1, sizeof(*u));
    char *text = NULL;

    t->format = OAI_FORMAT_LOM;
    strcpy(t->set, "subject:math");
    strcpy(t->from, "2024-05-10");
    strcpy(t->until, "2024-05-11");
    t->cursor = 300;
    t->position = 1;
    strcpy(t->after, "0123456789abcdef0123456789abcdef01234567");
    strcpy(t->path, "ab/abc.json");
    t->count = 2;
    strcpy(t->origins[0], "be-vl");
    strcpy(t->heads[0], "1111111111111111111111111111111111111111");
    strcpy(t->origins[1], "nl-edurep");
    strcpy(t->heads[1], "2222222222222222222222222222222222222222");
    assert_int_equal(oai_token_encode(&text, t), 0);
    assert_int_equal(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                  "opqrstuvwxyz0123456789-_"),
                     strlen(text));
    assert_int_equal(oai_token_decode(u, text), 0);
    assert_memory_equal(t, u, sizeof(*t));
    free(text);

    /* fields that break the rules, each with a valid check value */
    strcpy(t->path, "xx/abc.json");
    assert_int_equal(oai_token_encode(&text, t), 0);
    assert_int_equal(oai_token_decode(u, text), OER_EINVAL);
    free(text);
    strcpy(t->path, "ab/abc.json");
    strcpy(t->origins[1], "a-first");
    assert_int_equal(oai_token_encode(&text, t), 0);
    assert_int_equal(oai_token_decode(u, text), OER_EINVAL);
    free(text);
    strcpy(t->origins[1], "nl-edurep");
    strcpy(t->until, "2024-05-09");
    assert_int_equal(oai_token_encode(&text, t), 0);
    assert_int_equal(oai_token_decode(u, text), OER_EINVAL);
    free(text);
    assert_int_equal(oai_token_decode(u, ""), OER_EINVAL);
    assert_int_equal(oai_token_decode(u, "MXw"), OER_EINVAL);
    free(t);
    free(u);
}

/* ---- formats and escaping --------------------------------------------- */

static int on_lom(const struct lom_record *rec, void *arg)
{
    json_t *titles = arg;

    if (rec->doc != NULL)
        json_array_append(
            titles, json_object_get(json_object_get(rec->doc, "title"), "nl"));
    return 0;
}

static void test_formats(void **state)
{
    struct fixture *fx = *state;
    const char *hostile = "<b>&amp; \"quoted\" 'single' ]]> \xf0\x9f\x93\x9a";
    json_t *doc = record(NODE, "h1", hostile), *titles = json_array();
    struct lom_page page = {0};
    char *body;

    json_object_set_new(doc, "rights", json_string("Free <for> schools"));
    json_object_set_new(doc, "licence", json_string("LicenseRef-unknown"));
    json_object_set_new(doc, "contributors",
                        json_pack("[{s:s,s:s}]", "role", "author", "name",
                                  "Jansen; Piet, \"PJ\""));
    commit(fx, NODE, &doc, 1);
    put(fx, "h2", "Gewoon");

    body = ask(fx, "verb=ListRecords&metadataPrefix=oai_dc");
    assert_non_null(strstr(body, "&lt;b&gt;&amp;amp; \"quoted\""));
    assert_non_null(strstr(body, "<dc:rights>Free &lt;for&gt; schools<"));
    assert_non_null(strstr(body, "<dc:rights>https://creativecommons.org/"
                                 "licenses/by/4.0/</dc:rights>"));
    assert_non_null(strstr(body, "<dc:creator>Jansen; Piet"));
    assert_int_equal(count(body, "<?xml"), 1);
    free(body);

    /* our own LOM reader reads our LOM back */
    body = ask(fx, "verb=ListRecords&metadataPrefix=lom");
    assert_int_equal(count(body, "<?xml"), 1);
    assert_int_equal(
        lom_read_memory(&page, body, strlen(body), "oai", on_lom, titles), 0);
    assert_int_equal(json_array_size(titles), 2);
    assert_string_equal(json_string_value(json_array_get(titles, 0)), hostile);
    lom_page_release(&page);
    json_decref(titles);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_form_and_overflow, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_serve_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_b03_dates, setup, teardown),
        cmocka_unit_test(test_parse_date),
        cmocka_unit_test_setup_teardown(test_b05_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_b08_sets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pivot_sets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_age_sets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_across_edits, setup,
                                        teardown),
        cmocka_unit_test(test_token_codec),
        cmocka_unit_test_setup_teardown(test_formats, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
