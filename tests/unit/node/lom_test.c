/*
 * Tests of node/lom: the real LOM records and OAI-PMH pages of the shared
 * sample folder, field by field, and the failure cases B07 (encoding),
 * B11 (namespaces) and B12 (vocabularies) written inline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "node/error.h"
#include "node/log.h"
#include "node/lom.h"
#include "node/metadata.h"
#include "testutil.h"

/* What a reading reported. */
struct seen {
    json_t *docs;    /* documents, in order */
    json_t *deleted; /* {"id", "datestamp"} */
    json_t *errors;  /* {"id", "error"} */
    int stop_after;  /* return 7 from the callback after this many */
    int calls;
};

static void seen_init(struct seen *s)
{
    memset(s, 0, sizeof(*s));
    s->docs = json_array();
    s->deleted = json_array();
    s->errors = json_array();
}

static void seen_release(struct seen *s)
{
    json_decref(s->docs);
    json_decref(s->deleted);
    json_decref(s->errors);
}

static int on_record(const struct lom_record *rec, void *arg)
{
    struct seen *s = arg;

    assert_int_equal(rec->index, (size_t)++s->calls);
    if (rec->error != NULL) {
        assert_null(rec->doc);
        json_array_append_new(s->errors,
                              json_pack("{s:s?, s:s}", "id", rec->source_id,
                                        "error", rec->error));
    } else if (rec->deleted) {
        assert_null(rec->doc);
        json_array_append_new(s->deleted,
                              json_pack("{s:s, s:s?}", "id", rec->source_id,
                                        "datestamp", rec->datestamp));
    } else {
        assert_non_null(rec->doc);
        assert_string_equal(
            json_string_value(json_object_get(rec->doc, "source_id")),
            rec->source_id);
        json_array_append(s->docs, rec->doc);
    }
    return s->stop_after > 0 && s->calls >= s->stop_after ? 7 : 0;
}

static int read_shared(struct seen *s, struct lom_page *page, const char *rel)
{
    char *path = testutil_shared_or_skip(rel);
    int rc;

    seen_init(s);
    rc = lom_read_file(page, path, on_record, s);
    free(path);
    return rc;
}

static int read_text(struct seen *s, struct lom_page *page, const char *xml,
                     size_t len)
{
    seen_init(s);
    return lom_read_memory(page, xml, len, "inline", on_record, s);
}

static json_t *doc_by_id(const struct seen *s, const char *id)
{
    size_t i;
    json_t *doc;

    json_array_foreach(s->docs, i, doc)
    {
        if (strcmp(json_string_value(json_object_get(doc, "source_id")), id) ==
            0)
            return doc;
    }
    fail_msg("no document %s", id);
    return NULL;
}

static const char *str_at(const json_t *obj, const char *path)
{
    const json_t *v = obj;
    char key[64];

    while (v != NULL && *path != '\0') {
        size_t n = strcspn(path, ".");

        snprintf(key, sizeof(key), "%.*s", (int)n, path);
        v = json_is_array(v) ? json_array_get(v, (size_t)atoi(key))
                             : json_object_get(v, key);
        path += n + (path[n] == '.');
    }
    assert_true(json_is_string(v));
    return json_string_value(v);
}

/* The term of list whose value is value. */
static const json_t *term(const json_t *doc, const char *field,
                          const char *value)
{
    size_t i;
    json_t *t;

    json_array_foreach(json_object_get(doc, field), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "value")), value) == 0)
            return t;
    }
    fail_msg("no %s term %s", field, value);
    return NULL;
}

static int has_flag(const json_t *doc, const char *flag)
{
    size_t i;
    json_t *f;

    json_array_foreach(json_object_get(doc, "flags"), i, f)
    {
        if (strcmp(json_string_value(f), flag) == 0)
            return 1;
    }
    return 0;
}

static void assert_valid(const json_t *doc)
{
    json_t *copy = json_deep_copy(doc);
    struct metadata_error err;
    int rc = metadata_validate(copy, METADATA_SUBMISSION, &err);

    if (rc != 0)
        fail_msg("invalid document: %s: %s", err.field, err.detail);
    assert_null(json_object_get(doc, "id"));
    json_decref(copy);
}

/* ------------------------------------------------------------------ */

static void test_nl_lom_record(void **state)
{
    struct seen s;
    struct lom_page page;
    const json_t *doc, *t;

    assert_int_equal(read_shared(&s, &page, "lom/nl-lom-aanbevolen.xml"), 0);
    assert_int_equal(page.oai, 0);
    assert_int_equal(page.records, 1);
    assert_int_equal(json_array_size(s.errors), 0);
    doc = doc_by_id(&s, "urn:isbn:9789034553966");
    assert_valid(doc);

    assert_string_equal(str_at(doc, "title.nl"),
                        "De titel van een leerobject : over hoe je titels "
                        "en ondertitels vastlegt");
    assert_int_equal(json_array_size(json_object_get(doc, "languages")), 1);
    assert_string_equal(str_at(doc, "languages.0"), "nl");
    assert_string_equal(str_at(doc, "keywords.nl.0"),
                        "toepassingsprofiel van LOM");
    assert_string_equal(str_at(doc, "source_url"),
                        "http://example.org/file.abc");
    assert_string_equal(str_at(doc, "age_range"), "8-13");
    assert_string_equal(str_at(doc, "created"), "1997-07-16T18:20:30Z");
    assert_string_equal(str_at(doc, "contributors.0.name"), "Joe Friday");
    assert_string_equal(str_at(doc, "contributors.0.role"), "author");

    /* copyright "yes" and a description that names no licence */
    assert_string_equal(str_at(doc, "licence"), "LicenseRef-unknown");
    assert_string_equal(str_at(doc, "rights"), "De copyright tekst die van "
                                               "toepassing is op het "
                                               "leermiddel.");

    t = term(doc, "levels", "bc213214-b83d-4673-b9c1-8fdaa63d6d56");
    assert_string_equal(str_at(t, "source"),
                        "http://purl.edustandaard.nl/begrippenkader");
    assert_string_equal(str_at(t, "label.und"), "Groep 5");
    t = term(doc, "levels", "VO");
    assert_string_equal(str_at(t, "lom"), "school");
    t = term(doc, "subjects", "d35b903f-1598-4bdd-a2fa-8aba854df762");
    assert_string_equal(str_at(t, "label.nl"), "Filosofie");
    t = term(doc, "audience", "learner");
    assert_string_equal(str_at(t, "lom"), "learner");
    t = term(doc, "resource_types", "open opdracht");
    assert_null(json_object_get(t, "lom"));
    assert_false(has_flag(doc, "nonstandard-vocabulary"));

    seen_release(&s);
    lom_page_release(&page);
}

static void test_anatomy_tool_page(void **state)
{
    struct seen s;
    struct lom_page page;
    const json_t *doc, *kw;

    assert_int_equal(
        read_shared(&s, &page, "oai/anatomy-tool-oaipmh.initial.0.xml"), 0);
    assert_int_equal(page.oai, 1);
    assert_int_equal(page.records, 10);
    assert_int_equal(page.deleted, 0);
    assert_int_equal(page.errors, 0);
    assert_string_equal(page.verb, "ListRecords");
    assert_string_equal(page.response_date, "2021-10-06T09:01:03Z");
    assert_string_equal(page.resumption_token,
                        "63dee2213b993cf13abbb33de8d842c0");
    assert_int_equal(page.complete_list_size, 3712);
    assert_int_equal(page.cursor, 0);

    doc = doc_by_id(&s, "oai:anatomytool.org:56055");
    assert_valid(doc);
    assert_string_equal(str_at(doc, "title.und"),
                        "Leiden Photo Duodenum and pancreas dissection "
                        "specimen no labels");
    assert_string_equal(str_at(doc, "languages.0"), "und");
    kw = json_object_get(doc, "keywords");
    assert_int_equal(json_object_size(kw), 1); /* the empty und dropped */
    assert_int_equal(json_array_size(json_object_get(kw, "la")), 2);
    assert_string_equal(str_at(kw, "la.0"), "A05.6.02.001 Duodenum");
    assert_string_equal(str_at(kw, "la.1"), "A05.9.01.001 Pancreas");
    assert_string_equal(str_at(term(doc, "resource_types", "figure"), "lom"),
                        "figure");
    assert_string_equal(str_at(doc, "age_range"), "16+");
    assert_string_equal(str_at(doc, "licence"), "CC-BY-NC-SA-4.0");
    assert_string_equal(str_at(doc, "source_url"),
                        "https://anatomytool.org/node/56055");
    assert_string_equal(str_at(doc, "updated"), "2020-10-28T02:39:34Z");
    assert_string_equal(str_at(doc, "created"), "2016-06-05T21:30:00Z");
    assert_string_equal(str_at(doc, "contributors.0.name"),
                        "O. Paul Gobée, MD");
    assert_string_equal(str_at(term(doc, "audience", "teacher"), "source"), "");
    assert_string_equal(
        str_at(term(doc, "subjects", "5c98610c-3f7d-4521-b231-d0932b4ca799"),
               "label.und"),
        "Geneeskunde");

    seen_release(&s);
    lom_page_release(&page);
}

static void test_edurep_pages(void **state)
{
    struct seen s;
    struct lom_page page;
    const json_t *doc;

    assert_int_equal(read_shared(&s, &page, "oai/edurep-oaipmh.initial.0.xml"),
                     0);
    assert_int_equal(page.records, 8);
    assert_int_equal(page.deleted, 1);
    assert_int_equal(page.errors, 0);
    assert_string_equal(page.resumption_token,
                        "c1576069959151499|u|f1970-01-01T00:00:00Z|mlom|ssurf");
    assert_string_equal(str_at(s.deleted, "0.id"),
                        "surfsharekit:oai:surfsharekit.nl:"
                        "3d2940a0-9573-412e-8fa2-067c55e2a72f");
    assert_string_equal(str_at(s.deleted, "0.datestamp"),
                        "2019-11-05T00:06:37Z");

    doc = doc_by_id(&s, "surfsharekit:oai:surfsharekit.nl:"
                        "5be6dfeb-b9ad-41a8-b4f5-94b9438e4257");
    assert_valid(doc);
    assert_string_equal(str_at(doc, "title.und"),
                        "Using a Vortex | Wageningen UR");
    assert_string_equal(str_at(doc, "description.und"),
                        "Instruction on how to use a Vortex mixer");
    assert_int_equal(json_array_size(json_object_get(doc, "languages")), 1);
    assert_string_equal(str_at(doc, "languages.0"), "en");
    assert_int_equal(json_array_size(json_object_get(
                         json_object_get(doc, "keywords"), "und")),
                     3);
    assert_string_equal(str_at(doc, "licence"), "CC-BY-4.0"); /* cc-by-40 */
    assert_null(json_object_get(doc, "rights"));
    assert_string_equal(str_at(doc, "source_url"),
                        "https://www.youtube.com/watch?v=Zl59P5ZNX3M");
    assert_string_equal(str_at(doc, "created"), "2016-09-02");
    assert_string_equal(str_at(doc, "updated"), "2019-12-11T13:06:21Z");
    assert_string_equal(str_at(term(doc, "levels", "WO"), "lom"),
                        "higher education");
    assert_string_equal(
        str_at(term(doc, "levels", "18656a7c-95a5-4831-8085-020d3151aceb"),
               "label.nl"),
        "WO - Bachelor");
    assert_string_equal(str_at(doc, "contributors.0.name"),
                        "Wageningen University & Research");
    /* role "university" is not a LOMv1.0 role, though said to be */
    assert_string_equal(str_at(doc, "contributors.0.role"), "university");
    assert_true(has_flag(doc, "nonstandard-vocabulary"));
    seen_release(&s);
    lom_page_release(&page);

    /* the last page: an empty token says the list is complete */
    assert_int_equal(read_shared(&s, &page, "oai/edurep-oaipmh.initial.1.xml"),
                     0);
    assert_int_equal(page.records, 3);
    assert_int_equal(page.deleted + page.errors, 0);
    assert_string_equal(page.resumption_token, "");
    doc = doc_by_id(&s, "surfsharekit:oai:surfsharekit.nl:wrong-copyright");
    assert_string_equal(str_at(doc, "licence"), "LicenseRef-unknown");
    seen_release(&s);
    lom_page_release(&page);
}

static void test_page_with_bad_and_deleted_records(void **state)
{
    struct seen s;
    struct lom_page page;

    assert_int_equal(
        read_shared(&s, &page, "oai/oai-listrecords-lom-with-deleted.xml"), 0);
    assert_int_equal(page.records, 0);
    assert_int_equal(page.deleted, 1);
    assert_int_equal(page.errors, 2);
    assert_string_equal(str_at(s.errors, "0.id"),
                        "b3091055-e419-4eac-8282-3e77f90a0cda");
    assert_non_null(
        strstr(str_at(s.errors, "0.error"), "unsupported metadata namespace"));
    /* the plain-text metadata */
    assert_string_equal(str_at(s.errors, "1.id"),
                        "1d919cd0-3aef-43c0-bd71-fd9ebc733fde");
    assert_string_equal(str_at(s.errors, "1.error"),
                        "metadata holds no XML element");
    assert_string_equal(str_at(s.deleted, "0.id"),
                        "0a7009a2-54ce-4649-a626-d8d94f1636a4");
    assert_null(page.resumption_token);
    seen_release(&s);
    lom_page_release(&page);
}

static void test_getrecord_deleted(void **state)
{
    struct seen s;
    struct lom_page page;

    assert_int_equal(
        read_shared(&s, &page, "oai/oai-dspace-2004-getrecord-deleted.xml"), 0);
    assert_string_equal(page.verb, "GetRecord");
    assert_int_equal(page.records + page.errors, 0);
    assert_int_equal(page.deleted, 1);
    assert_string_equal(str_at(s.deleted, "0.id"), "hdl:1765/1160");
    assert_string_equal(str_at(s.deleted, "0.datestamp"),
                        "2004-02-16T13:29:54Z");
    seen_release(&s);
    lom_page_release(&page);
}

static void test_oai_error_and_other_verbs(void **state)
{
    static const char empty[] =
        "<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\">"
        "<responseDate>2024-01-01T00:00:00Z</responseDate>"
        "<request verb=\"ListRecords\">x</request>"
        "<error code=\"noRecordsMatch\">nothing</error></OAI-PMH>";
    struct seen s;
    struct lom_page page;

    assert_int_equal(
        read_shared(&s, &page, "oai/oai-error-cannotDisseminateFormat.xml"),
        OER_EPROTO);
    assert_string_equal(page.error_code, "cannotDisseminateFormat");
    assert_string_equal(page.error_message, "invalid metadataPrefix");
    assert_int_equal(s.calls, 0);
    seen_release(&s);
    lom_page_release(&page);

    assert_int_equal(
        read_shared(&s, &page, "oai/oai-identify-day-granularity.xml"),
        OER_EUNSUPPORTED);
    assert_string_equal(page.verb, "Identify");
    assert_int_equal(s.calls, 0);
    seen_release(&s);
    lom_page_release(&page);

    assert_int_equal(read_text(&s, &page, empty, strlen(empty)), 0);
    assert_string_equal(page.error_code, "noRecordsMatch");
    assert_int_equal(s.calls, 0);
    seen_release(&s);
    lom_page_release(&page);
}

/* Every document of every sample file passes the submission checks. */
static void test_every_sample_validates(void **state)
{
    static const char *const files[] = {
        "lom/nl-lom-aanbevolen.xml", "oai/anatomy-tool-oaipmh.initial.0.xml",
        "oai/edurep-oaipmh.initial.0.xml", "oai/edurep-oaipmh.initial.1.xml"};

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct seen s;
        size_t k;
        json_t *doc;

        assert_int_equal(read_shared(&s, NULL, files[i]), 0);
        assert_true(json_array_size(s.docs) > 0);
        json_array_foreach(s.docs, k, doc) assert_valid(doc);
        seen_release(&s);
    }
}

/* ------------------------------------------------------------------ */
/* B11: one record, several bindings                                    */

#define IEEE_RECORD(ns)                                                        \
    "<lom" ns "><general><identifier><catalog>URI</catalog>"                   \
    "<entry>urn:x:cell</entry></identifier><title>\n"                          \
    "  <string language=\"en\">Cell biology</string></title></general>\n"      \
    "  <educational><learningResourceType><source>LOMv1.0</source>"            \
    "<value>lecture</value>\n"                                                 \
    "  </learningResourceType></educational></lom>"

#define IMS_RECORD(ns)                                                         \
    "<lom xmlns=\"" ns "\"><general><catalogentry><catalog>URI</catalog>"      \
    "<entry><langstring xml:lang=\"x-none\">urn:x:cell</langstring>"           \
    "</entry></catalogentry><title>\n"                                         \
    "  <langstring xml:lang=\"en\">Cell biology</langstring></title>"          \
    "</general>\n  <educational><learningresourcetype><source>"                \
    "<langstring xml:lang=\"x-none\">LOMv1.0</langstring></source>\n"          \
    "  <value><langstring xml:lang=\"x-none\">Lecture</langstring></value>"    \
    "</learningresourcetype></educational></lom>"

static json_t *only_doc(const char *xml, struct seen *s)
{
    assert_int_equal(read_text(s, NULL, xml, strlen(xml)), 0);
    assert_int_equal(json_array_size(s->errors), 0);
    assert_int_equal(json_array_size(s->docs), 1);
    return json_array_get(s->docs, 0);
}

static void test_b11_namespaces(void **state)
{
    static const char *const same[] = {
        IMS_RECORD("http://www.imsglobal.org/xsd/imsmd_v1p2"),
        IMS_RECORD("http://www.imsglobal.org/xsd/imsmd_rootv1p2p1"),
        IMS_RECORD("http://www.imsproject.org/xsd/imsmd_rootv1p2"),
        IMS_RECORD("http://www.imsglobal.org/xsd/imsmd_v1p2p4"),
    };
    static const char unknown[] =
        IEEE_RECORD(" xmlns=\"urn:example:unknown-lom\"");
    struct seen s, o;
    json_t *ieee = only_doc(IEEE_RECORD(" xmlns=\"" LOM_NS_IEEE "\""), &s);

    assert_valid(ieee);
    assert_string_equal(str_at(ieee, "title.en"), "Cell biology");
    assert_string_equal(str_at(ieee, "resource_types.0.value"), "lecture");
    assert_string_equal(str_at(ieee, "resource_types.0.source"), "LOMv1.0");
    assert_null(json_object_get(ieee, "flags"));
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        assert_true(json_equal(only_doc(same[i], &o), ieee));
        seen_release(&o);
    }

    assert_int_equal(read_text(&o, NULL, unknown, strlen(unknown)), 0);
    assert_int_equal(json_array_size(o.docs), 0);
    assert_int_equal(json_array_size(o.errors), 1);
    assert_non_null(
        strstr(str_at(o.errors, "0.error"), "unsupported metadata namespace"));
    seen_release(&o);

    /* no namespace: read by local names, flagged */
    {
        json_t *bare = only_doc(IEEE_RECORD(""), &o);

        assert_true(has_flag(bare, "namespace-missing"));
        json_object_del(bare, "flags");
        assert_true(json_equal(bare, ieee));
        seen_release(&o);
    }
    seen_release(&s);
}

/* Dates of any year keep four digits, or are not used (found by the
 * fuzz driver: year 660 came out as "660-12-01T..."). */
static void test_dates_keep_four_digit_years(void **state)
{
    static const char *const given[] = {
        "0660-12-01T09:00:00Z", "0026-12-01", "2026-12-01T10:00:00+01:00",
        "0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"};
    static const char *const want[] = {
        "0660-12-01T09:00:00Z", "0026-12-01", "2026-12-01T09:00:00Z", NULL,
        NULL};
    char xml[1024];

    for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++) {
        struct seen s;
        json_t *doc;

        snprintf(xml, sizeof(xml),
                 "<lom xmlns=\"" LOM_NS_IEEE "\"><general><identifier>"
                 "<catalog>URI</catalog><entry>d:1</entry></identifier>"
                 "<title><string language=\"en\">T</string></title>"
                 "</general><lifeCycle><contribute><role><source>LOMv1.0"
                 "</source><value>author</value></role><date><dateTime>%s"
                 "</dateTime></date></contribute></lifeCycle></lom>",
                 given[i]);
        doc = only_doc(xml, &s);
        assert_valid(doc);
        if (want[i] != NULL)
            assert_string_equal(str_at(doc, "created"), want[i]);
        else
            assert_null(json_object_get(doc, "created"));
        seen_release(&s);
    }
}

/* ------------------------------------------------------------------ */
/* B12: vocabulary values outside LOMv1.0                               */

static void test_b12_vocabulary(void **state)
{
    static const char xml[] =
        "<lom xmlns=\"http://ltsc.ieee.org/xsd/LOM\"><general><identifier>"
        "<entry>es-1</entry></identifier><title><string language=\"es\">"
        "Mapa</string></title></general><educational>\n"
        "<learningResourceType><source>LOM-ESv1.0</source>"
        "<value>conceptual map</value></learningResourceType>\n"
        "<learningResourceType><source>LOMv1.0</source>"
        "<value>Lecture </value></learningResourceType>\n"
        "<learningResourceType><source>LOMv1.0</source>"
        "<value>podcast</value></learningResourceType>\n"
        "<context><source>LOMv1.0</source><value>school</value></context>\n"
        "<context><value>primary education</value></context>\n"
        "</educational></lom>";
    struct seen s;
    json_t *doc = only_doc(xml, &s);
    const json_t *t;

    assert_valid(doc);
    t = term(doc, "resource_types", "conceptual map");
    assert_string_equal(str_at(t, "source"), "LOM-ESv1.0");
    assert_string_equal(str_at(t, "lom"), "diagram");
    t = term(doc, "resource_types", "lecture");
    assert_string_equal(str_at(t, "source"), "LOMv1.0");
    assert_null(json_object_get(t, "lom"));
    t = term(doc, "resource_types", "podcast");
    assert_string_equal(str_at(t, "source"), "LOMv1.0");
    assert_null(json_object_get(t, "lom"));
    assert_true(has_flag(doc, "nonstandard-vocabulary"));
    assert_string_equal(str_at(term(doc, "levels", "school"), "source"),
                        "LOMv1.0");
    t = term(doc, "levels", "primary education");
    assert_string_equal(str_at(t, "source"), "");
    assert_null(json_object_get(t, "lom"));
    seen_release(&s);
}

/* ------------------------------------------------------------------ */
/* B07: encoding and prolog                                             */

#define TINY_LOM(title)                                                        \
    "<lom xmlns=\"http://ltsc.ieee.org/xsd/LOM\"><general><identifier>"        \
    "<entry>e-1</entry></identifier><title><string language=\"fr\">" title     \
    "</string></title></general></lom>"

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

/* Send log lines to *buf until log_set_stream(NULL) and fclose. */
static FILE *capture_begin(char **buf, size_t *len)
{
    FILE *f = open_memstream(buf, len);

    assert_non_null(f);
    log_set_stream(f);
    return f;
}

static void test_b07_prolog(void **state)
{
    static const char bom[] = "\xef\xbb\xbf" DECL TINY_LOM("\xc3\xa9"
                                                           "cole");
    static const char latin1[] =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>" TINY_LOM("\xe9"
                                                                   "cole");
    static const char spaced[] = "\n  " DECL TINY_LOM("\xc3\xa9"
                                                      "cole");
    const char *inputs[] = {bom, latin1, spaced};
    char *logs = NULL;
    size_t len;
    FILE *f = NULL;

    for (size_t i = 0; i < 3; i++) {
        struct seen s;
        json_t *doc;

        if (i == 2)
            f = capture_begin(&logs, &len);
        doc = only_doc(inputs[i], &s);
        assert_string_equal(str_at(doc, "title.fr"), "\xc3\xa9"
                                                     "cole");
        assert_false(has_flag(doc, "encoding-repaired"));
        seen_release(&s);
    }
    log_set_stream(NULL);
    fclose(f);
    assert_non_null(strstr(logs, "level=warn"));
    assert_non_null(strstr(logs, "white space before the xml declaration"));
    free(logs);
}

static void test_b07_repair(void **state)
{
    static const char page[] =
        DECL "<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\">"
             "<responseDate>2024-01-01T00:00:00Z</responseDate>"
             "<request verb=\"ListRecords\">x</request><ListRecords>"
             "<record><header><identifier>oai:x:1</identifier>"
             "<datestamp>2024-01-01</datestamp></header><metadata>" TINY_LOM(
                 "caf\xe9") "</metadata></record>"
                            "<record><header><identifier>oai:x:2</identifier>"
                            "<datestamp>2024-01-02T10:00:00+02:00</datestamp></"
                            "header>"
                            "<metadata>" DECL
                            "\n" TINY_LOM("clean") "</metadata></record>"
                                                   "</ListRecords></OAI-PMH>";
    struct seen s;
    struct lom_page pg;
    char *logs = NULL;
    size_t len;
    FILE *f;
    json_t *doc;

    f = capture_begin(&logs, &len);
    assert_int_equal(read_text(&s, &pg, page, sizeof(page) - 1), 0);
    log_set_stream(NULL);
    fclose(f);
    assert_int_equal(pg.records, 2);
    assert_int_equal(pg.errors, 0);

    doc = doc_by_id(&s, "oai:x:1");
    assert_valid(doc);
    assert_string_equal(str_at(doc, "title.fr"), "caf\xef\xbf\xbd");
    assert_true(has_flag(doc, "encoding-repaired"));
    assert_string_equal(str_at(doc, "updated"), "2024-01-01");
    doc = doc_by_id(&s, "oai:x:2");
    assert_string_equal(str_at(doc, "title.fr"), "clean");
    assert_false(has_flag(doc, "encoding-repaired"));
    assert_string_equal(str_at(doc, "updated"), "2024-01-02T08:00:00Z");
    assert_non_null(strstr(logs, "invalid utf-8 replaced"));
    assert_non_null(strstr(logs, "xml declarations inside the document"));
    free(logs);
    seen_release(&s);
    lom_page_release(&pg);
}

/* ------------------------------------------------------------------ */
/* Inputs refused whole, and the callback contract                      */

static void test_refused_inputs(void **state)
{
    static const char *const bad[] = {
        /* XXE: the DOCTYPE stops the parser before anything is loaded */
        "<?xml version=\"1.0\"?><!DOCTYPE lom [<!ENTITY x SYSTEM "
        "\"file:///etc/passwd\">]>" TINY_LOM("&x;"),
        "<!DOCTYPE lom SYSTEM \"http://example.org/lom.dtd\">" TINY_LOM("a"),
        "<!DOCTYPE html><html><body>not here</body></html>",
        "<html><body><p>moved</p></body></html>",
        "<lom><general><title><string>a & b</string></title></general>",
        "",
    };
    struct seen s;
    struct lom_page page;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(read_text(&s, &page, bad[i], strlen(bad[i])),
                         OER_EINVAL);
        assert_int_equal(s.calls, 0);
        seen_release(&s);
        lom_page_release(&page);
    }
    assert_int_equal(read_text(&s, NULL, "<lom/>", LOM_INPUT_MAX + 1ul),
                     OER_EINVAL);
    assert_int_equal(s.calls, 0);
    seen_release(&s);
}

static void test_records_in_error(void **state)
{
    static const char untitled[] =
        "<lom xmlns=\"http://ltsc.ieee.org/xsd/LOM\"><general><identifier>"
        "<entry>e-9</entry></identifier><title><string language=\"en\"> "
        "</string></title></general></lom>";
    static const char anonymous[] =
        "<lom xmlns=\"http://ltsc.ieee.org/xsd/LOM\"><general><title>"
        "<string language=\"en\">x</string></title></general></lom>";
    struct seen s;

    assert_int_equal(read_text(&s, NULL, untitled, strlen(untitled)), 0);
    assert_string_equal(str_at(s.errors, "0.id"), "e-9");
    assert_string_equal(str_at(s.errors, "0.error"), "no title");
    seen_release(&s);

    assert_int_equal(read_text(&s, NULL, anonymous, strlen(anonymous)), 0);
    assert_true(
        json_is_null(json_object_get(json_array_get(s.errors, 0), "id")));
    assert_string_equal(str_at(s.errors, "0.error"), "no identifier");
    seen_release(&s);
}

static void test_callback_stops_reading(void **state)
{
    struct seen s;
    char *path =
        testutil_shared_or_skip("oai/anatomy-tool-oaipmh.initial.0.xml");

    seen_init(&s);
    s.stop_after = 2;
    assert_int_equal(lom_read_file(NULL, path, on_record, &s), 7);
    assert_int_equal(s.calls, 2);
    seen_release(&s);
    free(path);

    seen_init(&s);
    assert_int_equal(lom_read_file(NULL, "/nonexistent/lom.xml", on_record, &s),
                     OER_EIO);
    assert_int_equal(lom_read_file(NULL, "/", on_record, &s), OER_EINVAL);
    seen_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nl_lom_record),
        cmocka_unit_test(test_anatomy_tool_page),
        cmocka_unit_test(test_edurep_pages),
        cmocka_unit_test(test_page_with_bad_and_deleted_records),
        cmocka_unit_test(test_getrecord_deleted),
        cmocka_unit_test(test_oai_error_and_other_verbs),
        cmocka_unit_test(test_every_sample_validates),
        cmocka_unit_test(test_b11_namespaces),
        cmocka_unit_test(test_dates_keep_four_digit_years),
        cmocka_unit_test(test_b12_vocabulary),
        cmocka_unit_test(test_b07_prolog),
        cmocka_unit_test(test_b07_repair),
        cmocka_unit_test(test_refused_inputs),
        cmocka_unit_test(test_records_in_error),
        cmocka_unit_test(test_callback_stops_reading),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
