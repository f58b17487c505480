/*
 * Tests of node/dc: Dublin Core records alone, in OAI-PMH pages, and in
 * every shape of Learning Registry envelope of the shared samples, field
 * by field for named records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/dc.h"
#include "node/error.h"
#include "node/log.h"
#include "node/metadata.h"
#include "testutil.h"

/* What a reading handed over. */
struct got {
    json_t *docs;    /* array of documents */
    json_t *deleted; /* array of source ids */
    json_t *skipped; /* array of "reason" strings */
};

static int on_record(const struct dc_record *rec, void *arg)
{
    struct got *g = arg;
    struct metadata_error err;
    json_t *copy;

    if (rec->reason != NULL) {
        json_array_append_new(g->skipped, json_string(rec->reason));
    } else if (rec->deleted) {
        json_array_append_new(g->deleted, json_string(rec->source_id));
    } else {
        /* every document must be valid once the sink names it */
        copy = json_deep_copy(rec->doc);
        assert_int_equal(metadata_validate(copy, METADATA_SUBMISSION, &err), 0);
        json_decref(copy);
        assert_string_equal(
            json_string_value(json_object_get(rec->doc, "source_id")),
            rec->source_id);
        json_array_append(g->docs, rec->doc);
    }
    return 0;
}

static int read_text(struct got *g, const char *text, char *why, size_t cap)
{
    g->docs = json_array();
    g->deleted = json_array();
    g->skipped = json_array();
    return dc_read_memory(text, strlen(text), "test", on_record, g, why, cap);
}

static int read_shared(struct got *g, const char *rel, char *why, size_t cap)
{
    char *path = testutil_shared_or_skip(rel), *buf;
    size_t len = 0;
    int err;

    buf = testutil_read(path, &len);
    assert_non_null(buf);
    g->docs = json_array();
    g->deleted = json_array();
    g->skipped = json_array();
    err = dc_read_memory(buf, len, rel, on_record, g, why, cap);
    free(buf);
    free(path);
    return err;
}

static void got_release(struct got *g)
{
    json_decref(g->docs);
    json_decref(g->deleted);
    json_decref(g->skipped);
}

/* The document whose source_url is url, or fail. */
static json_t *by_url(const struct got *g, const char *url)
{
    size_t i;
    json_t *doc;

    json_array_foreach(g->docs, i, doc)
    {
        const char *u = json_string_value(json_object_get(doc, "source_url"));

        if (u != NULL && strcmp(u, url) == 0)
            return doc;
    }
    fail_msg("no record with source_url %s", url);
    return NULL;
}

static const char *str(const json_t *doc, const char *path1, const char *path2)
{
    json_t *v = json_object_get(doc, path1);

    if (path2 != NULL)
        v = json_object_get(v, path2);
    return json_string_value(v);
}

static size_t count(const struct got *g, const json_t *list, const char *s)
{
    size_t i, n = 0;
    json_t *v;

    (void)g;
    json_array_foreach(list, i, v)
    {
        n += strcmp(json_string_value(v), s) == 0;
    }
    return n;
}

#define OAI_DC_RECORD                                                          \
    "<oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/"           \
    "oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"                 \
    "<dc:title xml:lang=\"fr\">  L'&#233;cole\n  du village </dc:title>"       \
    "<dc:description>Une visite.</dc:description>"                             \
    "<dc:description>Deux pages.</dc:description>"                             \
    "<dc:subject>histoire</dc:subject><dc:subject>histoire</dc:subject>"       \
    "<dc:language>French</dc:language>"                                        \
    "<dc:type>Text</dc:type>"                                                  \
    "<dc:creator>Marie Curie</dc:creator>"                                     \
    "<dc:publisher>Ecole</dc:publisher>"                                       \
    "<dc:date>2011-05-04T10:00:00Z</dc:date>"                                  \
    "<dc:identifier>urn:x:42</dc:identifier>"                                  \
    "<dc:identifier>https://example.org/ecole</dc:identifier>"                 \
    "<dc:rights>https://creativecommons.org/licenses/by-sa/4.0/"               \
    "</dc:rights></oai_dc:dc>"

static void test_oai_dc_record_alone(void **state)
{
    struct got g;
    char why[256];
    json_t *doc;

    assert_int_equal(read_text(&g, OAI_DC_RECORD, why, sizeof(why)), 0);
    assert_int_equal(json_array_size(g.docs), 1);
    doc = json_array_get(g.docs, 0);
    assert_string_equal(str(doc, "title", "fr"), "L'\xc3\xa9"
                                                 "cole du village");
    assert_string_equal(str(doc, "description", "fr"),
                        "Une visite.\n\nDeux pages.");
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(doc, "keywords"), "fr")),
                     1);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(doc, "languages"), 0)),
        "fr");
    /* b14: a licence URI in plain dc:rights counts, and is not prose */
    assert_string_equal(str(doc, "licence", NULL), "CC-BY-SA-4.0");
    assert_null(json_object_get(doc, "rights"));
    assert_string_equal(str(doc, "source_url", NULL),
                        "https://example.org/ecole");
    assert_string_equal(str(doc, "source_id", NULL), "urn:x:42");
    assert_string_equal(str(doc, "created", NULL), "2011-05-04");
    assert_string_equal(
        str(json_array_get(json_object_get(doc, "contributors"), 0), "role",
            NULL),
        "author");
    got_release(&g);
}

/* A day the calendar lacks is no date (found by fuzz/dc); the next
 * dc:date that is one is taken. */
static void test_impossible_dates(void **state)
{
    static const char *const dates[][3] = {
        {"2019-09-31", "2020-02-29", "2020-02-29"},
        {"2019-02-29", "2019-13-01", NULL},
        {"2019-04-31T10:00:00Z", "2019-04-30T25:00:00Z", "2019-04-30"},
    };
    char text[1024], why[256];
    struct got g;

    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        snprintf(text, sizeof(text),
                 "<oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/"
                 "2.0/oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/"
                 "\"><dc:title>Water</dc:title><dc:date>%s</dc:date>"
                 "<dc:date>%s</dc:date>"
                 "<dc:identifier>https://example.org/water</dc:identifier>"
                 "<dc:rights>CC BY-SA 4.0</dc:rights></oai_dc:dc>",
                 dates[i][0], dates[i][1]);
        assert_int_equal(read_text(&g, text, why, sizeof(why)), 0);
        assert_int_equal(json_array_size(g.docs), 1);
        if (dates[i][2] == NULL)
            assert_null(json_object_get(json_array_get(g.docs, 0), "created"));
        else
            assert_string_equal(str(json_array_get(g.docs, 0), "created", NULL),
                                dates[i][2]);
        got_release(&g);
    }
}

static void test_qualified_dc(void **state)
{
    const char *text =
        "<?xml version=\"1.0\"?>\n<record "
        "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" "
        "xmlns:dcterms=\"http://purl.org/dc/terms/\" "
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
        "<dc:title>Fractions</dc:title><dc:language>eng</dc:language>"
        "<dcterms:educationLevel xsi:type=\"nsdl_dc:NSDLEdLevel\">Grade 5"
        "</dcterms:educationLevel>"
        "<dcterms:audience>Learner</dcterms:audience>"
        "<dcterms:license>CC BY-NC 4.0</dcterms:license>"
        "<dc:rights>Copyright 2020 Example School</dc:rights>"
        "<dcterms:accessRights>Free access</dcterms:accessRights>"
        "<dcterms:conformsTo>http://purl.org/ASN/resources/S1</dcterms:"
        "conformsTo>"
        "<dc:subject xsi:type=\"dcterms:LCSH\">Fractions</dc:subject>"
        "<dc:identifier>http://example.org/f</dc:identifier></record>";
    struct got g;
    char why[256];
    json_t *doc, *level;

    assert_int_equal(read_text(&g, text, why, sizeof(why)), 0);
    doc = json_array_get(g.docs, 0);
    assert_non_null(doc);
    assert_string_equal(str(doc, "title", "en"), "Fractions");
    level = json_array_get(json_object_get(doc, "levels"), 0);
    assert_string_equal(str(level, "value", NULL), "Grade 5");
    assert_string_equal(str(level, "source", NULL), "nsdl_dc:NSDLEdLevel");
    assert_string_equal(
        str(json_array_get(json_object_get(doc, "audience"), 0), "value", NULL),
        "Learner");
    assert_string_equal(str(doc, "licence", NULL), "CC-BY-NC-4.0");
    assert_string_equal(str(doc, "rights", NULL),
                        "Copyright 2020 Example School; Free access");
    assert_int_equal(json_array_size(json_object_get(doc, "subjects")), 2);
    assert_null(json_object_get(doc, "keywords"));
    got_release(&g);
}

static void test_provider_terms_are_unknown(void **state)
{
    const char *text =
        "<oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/"
        "oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
        "<dc:title>Video</dc:title><dc:identifier>v1</dc:identifier>"
        "<dc:rights>Standard YouTube licence</dc:rights></oai_dc:dc>";
    struct got g;
    char why[256];
    json_t *doc;

    assert_int_equal(read_text(&g, text, why, sizeof(why)), 0);
    doc = json_array_get(g.docs, 0);
    assert_string_equal(str(doc, "licence", NULL), "LicenseRef-unknown");
    assert_string_equal(str(doc, "rights", NULL), "Standard YouTube licence");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(doc, "languages"), 0)),
        "und");
    got_release(&g);
}

static void test_oai_page_with_deleted(void **state)
{
    const char *text =
        "<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\">"
        "<ListRecords><record><header><identifier>oai:a:1</identifier>"
        "</header><metadata>" OAI_DC_RECORD "</metadata></record>"
        "<record><header status=\"deleted\"><identifier>oai:a:2"
        "</identifier></header></record>"
        "<record><header><identifier>oai:a:3</identifier></header>"
        "<metadata><lom xmlns=\"http://ltsc.ieee.org/xsd/LOM\"/></metadata>"
        "</record></ListRecords></OAI-PMH>";
    struct got g;
    char why[256];

    assert_int_equal(read_text(&g, text, why, sizeof(why)), 0);
    assert_int_equal(json_array_size(g.docs), 1);
    assert_string_equal(str(json_array_get(g.docs, 0), "source_id", NULL),
                        "oai:a:1");
    assert_int_equal(count(&g, g.deleted, "oai:a:2"), 1);
    assert_int_equal(count(&g, g.skipped, "not Dublin Core"), 1);
    got_release(&g);
}

/* B07 (d): a lone invalid byte in declared UTF-8 becomes U+FFFD, the
 * record is imported and flagged, never mis-decoded; (e): a declaration
 * pasted inside the document is stripped. */
static void test_b07_repairs(void **state)
{
    static const char lone[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/"
        "oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
        "<dc:title>caf\xe9</dc:title><dc:language>fr</dc:language>"
        "<dc:identifier>https://example.org/cafe</dc:identifier>"
        "<dc:rights>https://creativecommons.org/licenses/by/4.0/</dc:rights>"
        "</oai_dc:dc>";
    static const char nested[] =
        "<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\">"
        "<responseDate>2026-01-01T00:00:00Z</responseDate><request/>"
        "<ListRecords><record><header><identifier>oai:x:1</identifier>"
        "<datestamp>2026-01-01</datestamp></header><metadata>"
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/"
        "oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
        "<dc:title>\xc3\xa9"
        "cole</dc:title><dc:language>fr</dc:language>"
        "</oai_dc:dc></metadata></record></ListRecords></OAI-PMH>";
    struct got g;
    char why[256];
    json_t *doc, *flags;

    assert_int_equal(read_text(&g, lone, why, sizeof(why)), 0);
    assert_int_equal(json_array_size(g.docs), 1);
    doc = json_array_get(g.docs, 0);
    assert_string_equal(str(doc, "title", "fr"), "caf\xef\xbf\xbd");
    flags = json_object_get(doc, "flags");
    assert_string_equal(json_string_value(json_array_get(flags, 0)),
                        "encoding-repaired");
    assert_int_equal(json_array_size(flags), 1);
    got_release(&g);

    assert_int_equal(read_text(&g, nested, why, sizeof(why)), 0);
    assert_int_equal(json_array_size(g.docs), 1);
    doc = json_array_get(g.docs, 0);
    assert_string_equal(str(doc, "title", "fr"), "\xc3\xa9"
                                                 "cole");
    assert_null(json_object_get(doc, "flags"));
    got_release(&g);
}

/* An identifier that only looks like a URL ("https://" and nothing, or
 * with a space) is not taken as the source URL (found by fuzz/dc). */
static void test_url_needs_a_host(void **state)
{
    static const char *const ids[] = {"https://", "http:///x",
                                      "https://example.org/a b"};
    char xml[1024], why[256];
    struct got g;

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        snprintf(xml, sizeof(xml),
                 "<oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/"
                 "2.0/oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/"
                 "\"><dc:title>T</dc:title><dc:identifier>%s</dc:identifier>"
                 "<dc:identifier>urn:x:1</dc:identifier></oai_dc:dc>",
                 ids[i]);
        assert_int_equal(read_text(&g, xml, why, sizeof(why)), 0);
        assert_int_equal(json_array_size(g.docs), 1);
        assert_null(json_object_get(json_array_get(g.docs, 0), "source_url"));
        got_release(&g);
    }
}

static void test_refusals(void **state)
{
    struct got g;
    char why[256];

    assert_int_equal(read_text(&g, "<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>",
                               why, sizeof(why)),
                     OER_EINVAL);
    assert_non_null(strstr(why, "DOCTYPE"));
    got_release(&g);
    assert_int_equal(read_text(&g,
                               "<OAI-PMH xmlns=\"http://www.openarchives.org/"
                               "OAI/2.0/\"><error code=\"badVerb\">no</error>"
                               "</OAI-PMH>",
                               why, sizeof(why)),
                     OER_EPROTO);
    got_release(&g);
    assert_int_equal(read_text(&g, "{\"a\": [1, 2]}", why, sizeof(why)),
                     OER_EINVAL);
    assert_non_null(strstr(why, "without Learning Registry"));
    got_release(&g);
    assert_int_equal(read_text(&g, "<a><b/></a>", why, sizeof(why)),
                     OER_EINVAL);
    got_release(&g);
}

static void test_lr_nsdl_dc_v023(void **state)
{
    struct got g;
    char why[256];
    json_t *doc, *levels;

    assert_int_equal(
        read_shared(&g, "lr/nsdl_dc-lr-v0.23-100docs.json", why, sizeof(why)),
        0);
    assert_int_equal(json_array_size(g.docs), 100);
    doc = by_url(&g, "http://www.themathpage.com/alg/"
                     "simultaneous-equations.htm");
    assert_string_equal(str(doc, "title", "en"),
                        "Simultaneous Linear Equations");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(doc, "languages"), 0)),
        "en");
    assert_string_equal(str(doc, "licence", NULL), "LicenseRef-unknown");
    assert_string_equal(str(doc, "rights", NULL),
                        "Copyright 2001-2010 Lawrence Spector; Free access");
    levels = json_object_get(doc, "levels");
    assert_int_equal(json_array_size(levels), 4);
    assert_string_equal(str(json_array_get(levels, 0), "value", NULL),
                        "Middle School");
    /* Algebra, given four times, is kept once */
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(doc, "keywords"), "en")),
                     5);
    got_release(&g);
}

static void test_lr_nsdl_dc_cc_licence(void **state)
{
    struct got g;
    char why[256];
    size_t i, cc = 0;
    json_t *doc;

    assert_int_equal(
        read_shared(&g, "lr/nsdl_dc-lr-v0.23-100docs.json", why, sizeof(why)),
        0);
    json_array_foreach(g.docs, i, doc)
    {
        cc += strcmp(str(doc, "licence", NULL), "CC-BY-NC-3.0") == 0;
    }
    assert_int_equal(cc, 26);
    got_release(&g);
}

static void test_lr_nsdl_dc_v011(void **state)
{
    struct got g;
    char why[256];
    json_t *doc;

    assert_int_equal(read_shared(&g, "lr/nsdl_dc-lr-v0.11-2011-44docs.json",
                                 why, sizeof(why)),
                     0);
    assert_int_equal(json_array_size(g.docs), 44);
    doc = by_url(&g, "http://standards.nctm.org/document/eexamples/chap6/"
                     "6.4/part2.htm");
    assert_string_equal(str(doc, "title", "en-us"),
                        "Identifying Unknown Transformations");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(doc, "languages"), 0)),
        "en-us");
    assert_null(json_object_get(doc, "created")); /* "2000" is no date */
    assert_int_equal(json_array_size(json_object_get(doc, "levels")), 3);
    got_release(&g);
}

static void test_lr_oai_dc(void **state)
{
    struct got g;
    char why[256];
    json_t *doc;

    assert_int_equal(read_shared(&g, "lr/oai_dc-loc-lr-v0.23-101docs.json", why,
                                 sizeof(why)),
                     0);
    assert_int_equal(json_array_size(g.docs), 101);
    doc = by_url(&g, "http://hdl.loc.gov/loc.gdc/collgdc.gc000019");
    assert_string_equal(str(doc, "title", "en"),
                        "African-American sheet music, 1850-1920 selected "
                        "from the collection of Brown University.");
    assert_string_equal(str(doc, "licence", NULL), "LicenseRef-unknown");
    assert_null(json_object_get(doc, "levels"));
    got_release(&g);

    assert_int_equal(read_shared(&g,
                                 "lr/04-loc-oai_dc-signed-first5-v0.23."
                                 "json",
                                 why, sizeof(why)),
                     0);
    assert_int_equal(json_array_size(g.docs), 5);
    got_release(&g);
}

static void test_lr_lifecycle_and_replacement(void **state)
{
    struct got g;
    char why[256];
    json_t *doc;

    /* before signing, signed, and as served (with a doc_ID) */
    assert_int_equal(read_shared(&g,
                                 "lr/05-khan-nsdl_dc-envelope-lifecycle-"
                                 "v0.23.json",
                                 why, sizeof(why)),
                     0);
    assert_int_equal(json_array_size(g.docs), 3);
    doc = json_array_get(g.docs, 2);
    assert_string_equal(str(doc, "source_id", NULL),
                        "77d1e7a401da4dd7b00806d37ac7d81a");
    assert_string_equal(str(doc, "title", "und"), "Subtracting Fractions");
    got_release(&g);

    assert_int_equal(read_shared(&g,
                                 "lr/08-oercommons-replaces-delete-"
                                 "signed-v0.49.json",
                                 why, sizeof(why)),
                     0);
    assert_int_equal(json_array_size(g.docs), 0);
    assert_int_equal(count(&g, g.deleted, "804026fc367a4a44a76bd5b4c24809d8"),
                     1);
    got_release(&g);
}

static void test_lr_not_dublin_core(void **state)
{
    struct got g;
    char why[256];

    assert_int_equal(read_shared(&g, "lr/02-eun-comm_para-paradata-v0.23.json",
                                 why, sizeof(why)),
                     0);
    assert_int_equal(count(&g, g.skipped, "not Dublin Core: paradata"), 1);
    got_release(&g);
    assert_int_equal(read_shared(&g,
                                 "lr/06-boe-lr_paradata-1.0-alignment-"
                                 "signed-stored-v0.23.json",
                                 why, sizeof(why)),
                     0);
    assert_int_equal(count(&g, g.skipped, "not Dublin Core: paradata"), 1);
    got_release(&g);
    assert_int_equal(read_shared(&g,
                                 "lr/09-inbloom-lrmi-microdata-signed-"
                                 "v0.23.json",
                                 why, sizeof(why)),
                     0);
    assert_int_equal(count(&g, g.skipped, "not Dublin Core: JSON payload"), 1);
    got_release(&g);
    assert_int_equal(read_shared(&g,
                                 "lr/10-lr-paradata-1.0-payload-examples."
                                 "json",
                                 why, sizeof(why)),
                     OER_EINVAL);
    got_release(&g);
    assert_int_equal(read_shared(&g,
                                 "lr/03-nsdl-nsdl_dc-signed-first5-v0.23."
                                 "json",
                                 why, sizeof(why)),
                     0);
    assert_int_equal(json_array_size(g.docs), 5);
    got_release(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oai_dc_record_alone),
        cmocka_unit_test(test_impossible_dates),
        cmocka_unit_test(test_qualified_dc),
        cmocka_unit_test(test_provider_terms_are_unknown),
        cmocka_unit_test(test_oai_page_with_deleted),
        cmocka_unit_test(test_b07_repairs),
        cmocka_unit_test(test_url_needs_a_host),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_lr_nsdl_dc_v023),
        cmocka_unit_test(test_lr_nsdl_dc_cc_licence),
        cmocka_unit_test(test_lr_nsdl_dc_v011),
        cmocka_unit_test(test_lr_oai_dc),
        cmocka_unit_test(test_lr_lifecycle_and_replacement),
        cmocka_unit_test(test_lr_not_dublin_core),
    };

    log_set_stream(fopen("/dev/null", "w"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
