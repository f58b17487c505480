/*
 * Tests of node/metadata: canonical bytes, normalisation, each kind of
 * problem with its field path, limits at and over the edge, tombstones,
 * and local ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/error.h"
#include "node/metadata.h"

#define BLOB "0123456789abcdef0123456789abcdef01234567"
#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define FILE_OK                                                                \
    "{\"name\":\"oefening.pdf\",\"media_type\":\"application/pdf\","           \
    "\"size\":1234,\"blob\":\"" BLOB "\",\"sha256\":\"" SHA "\"}"
#define RECORD                                                                 \
    "{\"schema\":1,\"id\":\"be-vl/k3j9x2\","                                   \
    "\"updated\":\"2024-05-01T10:00:00Z\",\"title\":{\"nl\":\"Breuken\"},"     \
    "\"languages\":[\"nl\"],\"licence\":\"CC-BY-4.0\"}"
#define TOMBSTONE                                                              \
    "{\"schema\":1,\"id\":\"be-vl/k3j9x2\","                                   \
    "\"updated\":\"2024-06-01T08:00:00Z\",\"deleted\":true,"                   \
    "\"reason\":\"withdrawn by the author\",\"source_id\":\"oai:x:1\"}"

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, &je);

    if (doc == NULL)
        fail_msg("bad test json: %s", je.text);
    return doc;
}

/* doc with key set to value (stolen); returns doc. */
static json_t *with(json_t *doc, const char *key, json_t *value)
{
    assert_int_equal(json_object_set_new(doc, key, value), 0);
    return doc;
}

static json_t *with_json(json_t *doc, const char *key, const char *text)
{
    return with(doc, key, load(text));
}

static json_t *without(json_t *doc, const char *key)
{
    assert_int_equal(json_object_del(doc, key), 0);
    return doc;
}

/* A string of n copies of unit. */
static json_t *repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *buf = malloc(u * n + 1);
    json_t *s;

    assert_non_null(buf);
    for (size_t i = 0; i < n; i++)
        memcpy(buf + i * u, unit, u);
    buf[u * n] = '\0';
    s = json_string(buf);
    free(buf);
    assert_non_null(s);
    return s;
}

/* A language tag "aa", "ab", ... for i < 676. */
static const char *tag_of(char buf[3], size_t i)
{
    buf[0] = (char)('a' + i / 26);
    buf[1] = (char)('a' + i % 26);
    buf[2] = '\0';
    return buf;
}

/* Validate doc, check the verdict, and free doc. */
static void expect(json_t *doc, unsigned flags, enum metadata_problem problem,
                   const char *field)
{
    struct metadata_error err;
    int rc = metadata_validate(doc, flags, &err);
    size_t n = strlen(err.detail);

    json_decref(doc);
    if (problem == METADATA_OK) {
        if (rc != 0)
            fail_msg("refused: %s at \"%s\": %s",
                     metadata_problem_name(err.problem), err.field, err.detail);
        assert_int_equal(err.problem, METADATA_OK);
        return;
    }
    if (rc != OER_EINVAL || err.problem != problem ||
        strcmp(err.field, field) != 0)
        fail_msg("expected %s at \"%s\", got rc %d, %s at \"%s\": %s",
                 metadata_problem_name(problem), field, rc,
                 metadata_problem_name(err.problem), err.field, err.detail);
    assert_true(n > 0);
    assert_false(err.detail[0] >= 'A' && err.detail[0] <= 'Z');
    assert_true(err.detail[n - 1] != '.');
}

/* The canonical bytes of doc as a string the caller frees. */
static char *canon(const json_t *doc)
{
    char *out = NULL;
    size_t len = 0;

    assert_int_equal(metadata_canonical(&out, &len, doc), 0);
    assert_int_equal(strlen(out), len);
    return out;
}

static void test_canonical_exact_bytes(void **state)
{
    json_t *doc =
        load("{\n  \"updated\": \"2024-05-01T10:00:00Z\",\n"
             "  \"title\": {\"nl\": \"Breuken \\\"oefenen\\\"\", "
             "\"fr\": \"Fractions / exercices\"},\n"
             "  \"schema\": 1, \"licence\": \"CC-BY-SA-4.0\",\n"
             "  \"languages\": [\"nl\", \"fr\"], \"id\": \"be-vl/k3j9x2\",\n"
             "  \"files\": [{\"sha256\": \"" SHA "\", \"size\": 1234,"
             " \"name\": \"oefening.pdf\", \"media_type\": \"application/pdf\","
             " \"blob\": \"" BLOB "\"}],\n"
             "  \"description\": {\"nl\": \"Regel 1\\nRegel 2\\tcaf\\u00e9\"}\n"
             "}\n");
    char *bytes;

    assert_int_equal(metadata_validate(doc, METADATA_STRICT, NULL), 0);
    bytes = canon(doc);
    assert_string_equal(
        bytes,
        "{\"description\":{\"nl\":\"Regel 1\\nRegel 2\\tcaf\xc3\xa9\"},"
        "\"files\":[{\"blob\":\"" BLOB "\",\"media_type\":\"application/pdf\","
        "\"name\":\"oefening.pdf\",\"sha256\":\"" SHA "\",\"size\":1234}],"
        "\"id\":\"be-vl/k3j9x2\",\"languages\":[\"nl\",\"fr\"],"
        "\"licence\":\"CC-BY-SA-4.0\",\"schema\":1,"
        "\"title\":{\"fr\":\"Fractions / exercices\","
        "\"nl\":\"Breuken \\\"oefenen\\\"\"},"
        "\"updated\":\"2024-05-01T10:00:00Z\"}");
    free(bytes);
    json_decref(doc);
}

static void test_canonical_escapes(void **state)
{
    static const char k[] =
        "\"\\/\b\f\n\r\t\x01\x1f\x7f\xc3\xa9\xe2\x80\xa8\0z";
    json_t *doc = json_object();
    char *bytes;

    /* Only ", \ and U+0000..U+001F are escaped; DEL, U+2028 and / are
     * written as they are. */
    with(doc, "k", json_stringn(k, sizeof(k) - 1));
    with(doc, "n", json_integer(-42));
    with_json(doc, "z", "[true,false,null,{},[]]");
    bytes = canon(doc);
    assert_string_equal(bytes, "{\"k\":\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001F"
                               "\x7f\xc3\xa9\xe2\x80\xa8\\u0000z\","
                               "\"n\":-42,\"z\":[true,false,null,{},[]]}");
    free(bytes);
    json_decref(doc);
}

static void test_canonical_round_trip(void **state)
{
    static const char *const docs[] = {
        RECORD,
        TOMBSTONE,
        "{\"schema\":1,\"id\":\"nl-edurep/a_b-9\",\"updated\":\"2024-01-01\","
        "\"title\":{\"nl\":\"\\u00e9\\u4e2d \\ud83d\\ude00\",\"de-ch\":\"x\"},"
        "\"keywords\":{\"nl\":[\"a\",\"b\"]},\"languages\":[\"nl\",\"und\"],"
        "\"licence\":\"CC0-1.0\",\"levels\":[{\"source\":\"\","
        "\"value\":\"havo 4\",\"label\":{\"nl\":\"havo 4\"}}],"
        "\"files\":[" FILE_OK "],\"future\":{\"b\":[1,-2],\"a\":\"\\t\"}}",
    };

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_t *doc = load(docs[i]);
        json_t *again = NULL;
        char *first, *second;
        size_t len;

        assert_int_equal(metadata_validate(doc, 0, NULL), 0);
        first = canon(doc);
        len = strlen(first);
        assert_true(len <= METADATA_DOC_MAX);
        assert_int_equal(metadata_parse(&again, first, len, NULL), 0);
        assert_int_equal(metadata_validate(again, 0, NULL), 0);
        second = canon(again);
        assert_string_equal(first, second);
        assert_true(json_equal(doc, again));
        free(first);
        free(second);
        json_decref(again);
        json_decref(doc);
    }
}

static void test_keys_sorted_by_bytes(void **state)
{
    json_t *doc = json_object();
    char *bytes;

    /* Inserted out of order: upper case, non-ASCII, prefixes. */
    with(doc, "\xe4\xb8\xad", json_integer(1)); /* U+4E2D, E4 B8 AD */
    with(doc, "b", json_integer(2));
    with(doc, "\xc3\xa9", json_integer(3)); /* U+00E9, C3 A9 */
    with(doc, "ab", json_integer(4));
    with(doc, "a", json_integer(5));
    with(doc, "Z", json_integer(6));
    with(doc, "a_", json_integer(7));
    with(doc, "\xf0\x9f\x98\x80", json_integer(8)); /* U+1F600, F0 .. */
    with(doc, "\xef\xbd\x81", json_integer(9));     /* U+FF41, EF BD 81 */
    bytes = canon(doc);
    assert_string_equal(bytes, "{\"Z\":6,\"a\":5,\"a_\":7,\"ab\":4,\"b\":2,"
                               "\"\xc3\xa9\":3,\"\xe4\xb8\xad\":1,"
                               "\"\xef\xbd\x81\":9,"
                               "\"\xf0\x9f\x98\x80\":8}");
    free(bytes);
    json_decref(doc);
}

static void test_canonical_refuses_reals(void **state)
{
    json_t *doc = load("{\"a\":[1,{\"b\":1.5}]}");
    json_t *top = load("[1]");
    char *out = (char *)"x";
    size_t len = 7;

    assert_int_equal(metadata_canonical(&out, &len, doc), OER_EINVAL);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_int_equal(metadata_canonical(&out, &len, top), OER_EINVAL);
    json_decref(doc);
    json_decref(top);

    /* Invalid UTF-8 that got in through jansson's _nocheck. */
    doc = with(json_object(), "a", json_stringn_nocheck("\xff", 1));
    assert_int_equal(metadata_canonical(&out, &len, doc), OER_EINVAL);
    json_decref(doc);
}

static void test_nfd_becomes_nfc(void **state)
{
    json_t *doc =
        with_json(load(RECORD), "title", "{\"nl\":\"caf\\u0065\\u0301\"}");
    char *bytes;

    with_json(doc, "extra", "{\"cafe\\u0301\":[\"A\\u030a\"]}");
    assert_int_equal(metadata_validate(doc, 0, NULL), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "title"), "nl")),
        "caf\xc3\xa9");
    bytes = canon(doc);
    assert_non_null(
        strstr(bytes, "\"extra\":{\"caf\xc3\xa9\":[\"\xc3\x85\"]}"));
    assert_non_null(strstr(bytes, "\"nl\":\"caf\xc3\xa9\""));
    free(bytes);
    json_decref(doc);

    /* Two keys that are one after NFC. */
    doc = with_json(load(RECORD), "extra",
                    "{\"caf\\u00e9\":1,\"cafe\\u0301\":2}");
    expect(doc, 0, METADATA_BAD_VALUE, "extra");
}

static void test_language_tags(void **state)
{
    static const char *const bad[] = {
        "n",      "dutch",        "nl_be", "nl-",       "-nl",
        "nl--be", "nl-abcdefghi", "1a",    "x-klingon", "\xc3\xa9n",
    };
    json_t *doc = with_json(load(RECORD), "title",
                            "{\"NL-BE\":\"a\",\"X-NONE\":\"b\","
                            "\"de-CH-1901\":\"c\"}");
    json_t *title;
    char path[64];

    with_json(doc, "languages", "[\"EN\",\"x-none\",\"zh-Hant-TW\"]");
    assert_int_equal(metadata_validate(doc, METADATA_STRICT, NULL), 0);
    title = json_object_get(doc, "title");
    assert_int_equal(json_object_size(title), 3);
    assert_string_equal(json_string_value(json_object_get(title, "nl-be")),
                        "a");
    assert_string_equal(json_string_value(json_object_get(title, "und")), "b");
    assert_non_null(json_object_get(title, "de-ch-1901"));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(doc, "languages"), 2)),
        "zh-hant-tw");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(doc, "languages"), 1)),
        "und");
    json_decref(doc);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        doc = load(RECORD);
        json_array_append_new(json_object_get(doc, "languages"),
                              json_string(bad[i]));
        snprintf(path, sizeof(path), "languages[1]");
        expect(doc, 0, METADATA_BAD_VALUE, path);
        doc = with(load(RECORD), "description", json_object());
        json_object_set_new(json_object_get(doc, "description"), bad[i],
                            json_string("x"));
        expect(doc, 0, METADATA_BAD_VALUE, "description");
    }

    /* "nl" and "NL" are one language. */
    expect(with_json(load(RECORD), "title", "{\"nl\":\"a\",\"NL\":\"b\"}"), 0,
           METADATA_BAD_VALUE, "title");
}

static void test_valid_full_record(void **state)
{
    json_t *doc = load(
        "{\"schema\":1,\"id\":\"be-vl/k3j9x2\","
        "\"updated\":\"2024-05-01T10:00:00Z\","
        "\"title\":{\"nl\":\"Breuken\",\"en\":\"Fractions\"},"
        "\"description\":{\"nl\":\"Oefeningen\\nmet breuken\"},"
        "\"keywords\":{\"nl\":[\"breuk\",\"teller\"],\"en\":[\"fraction\"]},"
        "\"languages\":[\"nl\"],"
        "\"levels\":[{\"source\":\"http://example.org/vdex/levels\","
        "\"value\":\"tweede graad\",\"lom\":\"school\","
        "\"label\":{\"nl\":\"tweede graad\"}}],"
        "\"subjects\":[{\"source\":\"\",\"value\":\"wiskunde\"}],"
        "\"resource_types\":[{\"source\":\"LOMv1.0\",\"value\":\"exercise\"}],"
        "\"audience\":[{\"source\":\"LOMv1.0\",\"value\":\"learner\"}],"
        "\"age_range\":\"12-14\","
        "\"contributors\":[{\"role\":\"author\",\"name\":\"An Peeters\","
        "\"org\":\"KlasCement\",\"date\":\"voorjaar 2019\"}],"
        "\"licence\":\"CC-BY-SA-4.0\",\"licence_flags\":[\"alias\",\"mixed\"],"
        "\"rights\":\"Naamsvermelding\",\"source_url\":\"https://example.org/r/"
        "1\","
        "\"source_id\":\"oai:example.org:1\",\"created\":\"2019-03-02\","
        "\"files\":[" FILE_OK "],\"flags\":[\"namespace-missing\"],"
        "\"deleted\":false}");

    assert_int_equal(metadata_is_tombstone(doc), 0);
    expect(doc, METADATA_STRICT, METADATA_OK, NULL);
}

static void test_missing(void **state)
{
    static const char *const required[] = {"schema",    "id",      "title",
                                           "languages", "licence", "updated"};
    json_t *doc;

    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        expect(without(load(RECORD), required[i]), 0, METADATA_MISSING,
               required[i]);
    expect(with_json(load(RECORD), "title", "{}"), 0, METADATA_MISSING,
           "title");
    expect(with_json(load(RECORD), "title", "{\"nl\":\"\"}"), 0,
           METADATA_MISSING, "title.nl");
    expect(with_json(load(RECORD), "languages", "[]"), 0, METADATA_MISSING,
           "languages");
    expect(with_json(load(RECORD), "licence", "\"\""), 0, METADATA_MISSING,
           "licence");
    expect(with_json(load(RECORD), "keywords", "{\"nl\":[\"a\",\"\"]}"), 0,
           METADATA_MISSING, "keywords.nl[1]");
    expect(with_json(load(RECORD), "subjects", "[{\"source\":\"\"}]"), 0,
           METADATA_MISSING, "subjects[0].value");
    expect(with_json(load(RECORD), "contributors", "[{\"role\":\"author\"}]"),
           0, METADATA_MISSING, "contributors[0].name");

    doc = load(FILE_OK);
    json_object_del(doc, "sha256");
    expect(with(load(RECORD), "files", json_pack("[o]", doc)), 0,
           METADATA_MISSING, "files[0].sha256");

    /* A submission gets its id and updated from the store. */
    doc = without(without(load(RECORD), "id"), "updated");
    expect(doc, METADATA_SUBMISSION | METADATA_STRICT, METADATA_OK, NULL);
    expect(with_json(without(load(RECORD), "updated"), "id", "\"be-vl\""),
           METADATA_SUBMISSION, METADATA_BAD_VALUE, "id");
}

static void test_type(void **state)
{
    struct metadata_error err;
    json_t *file = load(FILE_OK);

    expect(with_json(load(RECORD), "title", "\"Breuken\""), 0, METADATA_TYPE,
           "title");
    expect(with_json(load(RECORD), "schema", "\"1\""), 0, METADATA_TYPE,
           "schema");
    expect(with_json(load(RECORD), "schema", "1.0"), 0, METADATA_TYPE,
           "schema");
    expect(with_json(load(RECORD), "languages", "\"nl\""), 0, METADATA_TYPE,
           "languages");
    expect(with_json(load(RECORD), "languages", "[7]"), 0, METADATA_TYPE,
           "languages[0]");
    expect(with_json(load(RECORD), "levels", "[\"havo\"]"), 0, METADATA_TYPE,
           "levels[0]");
    expect(with_json(load(RECORD), "deleted", "\"yes\""), 0, METADATA_TYPE,
           "deleted");
    expect(with_json(load(RECORD), "extra", "{\"a\":[1,2.5]}"), 0,
           METADATA_TYPE, "extra.a[1]");
    json_object_set_new(file, "size", json_string("1234"));
    expect(with(load(RECORD), "files", json_pack("[o]", file)), 0,
           METADATA_TYPE, "files[0].size");

    file = load("[]");
    assert_int_equal(metadata_validate(file, 0, &err), OER_EINVAL);
    assert_int_equal(err.problem, METADATA_TYPE);
    assert_string_equal(err.field, "");
    json_decref(file);
}

/* Checks one size limit: ok at max, too long at max + 1. */
static void limit(const char *key, json_t *at_max, json_t *over,
                  const char *field)
{
    expect(with(load(RECORD), key, at_max), 0, METADATA_OK, NULL);
    expect(with(load(RECORD), key, over), 0, METADATA_TOO_LONG, field);
}

static json_t *langmap(size_t n, const char *text)
{
    json_t *map = json_object();
    char tag[3];

    for (size_t i = 0; i < n; i++)
        json_object_set_new(map, tag_of(tag, i), json_string(text));
    return map;
}

static json_t *list(size_t n, const char *item_json)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, load(item_json));
    return a;
}

static void test_string_limits(void **state)
{
    /* Characters, not bytes: U+00E9 is two bytes. */
    limit("title", json_pack("{s:o}", "nl", repeat("\xc3\xa9", 1000)),
          json_pack("{s:o}", "nl", repeat("\xc3\xa9", 1001)), "title.nl");
    /* Counted after NFC: 2,000 code points of NFD are 1,000 of NFC. */
    expect(with(load(RECORD), "title",
                json_pack("{s:o}", "nl", repeat("e\xcc\x81", 1000))),
           0, METADATA_OK, NULL);
    limit("description", json_pack("{s:o}", "en", repeat("d", 20000)),
          json_pack("{s:o}", "en", repeat("d", 20001)), "description.en");
    limit("rights", repeat("r", 2000), repeat("r", 2001), "rights");
    limit("keywords", json_pack("{s:[o]}", "nl", repeat("k", 2000)),
          json_pack("{s:[o]}", "nl", repeat("k", 2001)), "keywords.nl[0]");
    limit("extra", json_pack("{s:o}", "a", repeat("\xe4\xb8\xad", 2000)),
          json_pack("{s:o}", "a", repeat("\xe4\xb8\xad", 2001)), "extra.a");
}

static void test_list_limits(void **state)
{
    char file[512];
    json_t *files_max = json_array(), *files_over = json_array();

    limit("title", langmap(50, "t"), langmap(51, "t"), "title");
    limit("keywords", json_pack("{s:o}", "nl", list(200, "\"k\"")),
          json_pack("{s:o}", "nl", list(201, "\"k\"")), "keywords.nl");
    limit("levels", list(200, "{\"source\":\"\",\"value\":\"v\"}"),
          list(201, "{\"source\":\"\",\"value\":\"v\"}"), "levels");
    limit("contributors", list(200, "{\"role\":\"author\",\"name\":\"n\"}"),
          list(201, "{\"role\":\"author\",\"name\":\"n\"}"), "contributors");
    for (int i = 0; i < 101; i++) {
        snprintf(file, sizeof(file),
                 "{\"name\":\"f%d.pdf\",\"media_type\":\"application/pdf\","
                 "\"size\":1,\"blob\":\"%s\",\"sha256\":\"%s\"}",
                 i, BLOB, SHA);
        if (i < 100)
            json_array_append_new(files_max, load(file));
        json_array_append_new(files_over, load(file));
    }
    limit("files", files_max, files_over, "files");
}

static void test_document_limit(void **state)
{
    json_t *doc = load(RECORD);
    json_t *desc = json_object();
    char tag[3];
    char *bytes;
    size_t len;

    /* 13 descriptions of 20,000 bytes, then one that fills it exactly. */
    for (size_t i = 0; i < 13; i++)
        json_object_set_new(desc, tag_of(tag, i), repeat("x", 20000));
    with(doc, "description", desc);
    bytes = canon(doc);
    len = strlen(bytes);
    free(bytes);
    assert_true(len + 8 < METADATA_DOC_MAX);
    json_object_set_new(desc, "zz", repeat("x", METADATA_DOC_MAX - len - 8));
    expect(json_incref(doc), 0, METADATA_OK, NULL);
    bytes = canon(doc);
    assert_int_equal(strlen(bytes), METADATA_DOC_MAX);
    free(bytes);

    json_object_set_new(desc, "zz", repeat("x", METADATA_DOC_MAX - len - 7));
    expect(doc, 0, METADATA_TOO_LONG, "");
}

static void test_nesting_limit(void **state)
{
    json_t *deep = json_array();
    char path[128] = "extra";

    for (int i = 0; i < 40; i++)
        deep = json_pack("[o]", deep);
    for (int i = 0; i < 32; i++)
        strcat(path, "[0]");
    expect(with(load(RECORD), "extra", deep), 0, METADATA_TOO_LONG, path);
}

static void test_long_path_stays_utf8(void **state)
{
    struct metadata_error err;
    json_t *key = repeat("\xc3\xa9", 70);
    json_t *doc = with(load(RECORD), "extra",
                       json_pack("{s:f}", json_string_value(key), 1.5));
    json_t *field;

    /* "extra." and 60 whole U+00E9: the 61st would not fit. */
    assert_int_equal(metadata_validate(doc, 0, &err), OER_EINVAL);
    assert_int_equal(err.problem, METADATA_TYPE);
    assert_int_equal(strlen(err.field), 6 + 120);
    assert_memory_equal(err.field, "extra.\xc3\xa9", 8);
    field = json_string(err.field);
    assert_non_null(field);
    json_decref(field);
    json_decref(key);
    json_decref(doc);
}

static void test_bad_utf8(void **state)
{
    static const char bad[] = "{\"a\":\"\xff\"}";
    struct metadata_error err;
    json_t *doc = NULL;
    json_t *title = json_object();

    json_object_set_new(title, "nl", json_stringn_nocheck("caf\xe9", 4));
    expect(with(load(RECORD), "title", title), 0, METADATA_BAD_UTF8,
           "title.nl");
    /* UTF-8 of a surrogate, and an overlong "/". */
    expect(
        with(load(RECORD), "rights", json_stringn_nocheck("\xed\xa0\x80", 3)),
        0, METADATA_BAD_UTF8, "rights");
    expect(with(load(RECORD), "extra",
                json_pack("[o]", json_stringn_nocheck("\xc0\xaf", 2))),
           0, METADATA_BAD_UTF8, "extra[0]");
    doc = load(RECORD);
    json_object_setn_new_nocheck(doc, "\xff", 1, json_true());
    expect(doc, 0, METADATA_BAD_UTF8, "");

    assert_int_equal(metadata_parse(&doc, bad, sizeof(bad) - 1, &err),
                     OER_EINVAL);
    assert_null(doc);
    assert_int_equal(err.problem, METADATA_BAD_UTF8);
}

static void test_xml_char(void **state)
{
    expect(with(load(RECORD), "description",
                json_pack("{s:s}", "en", "bell \x07")),
           0, METADATA_XML_CHAR, "description.en");
    expect(with(load(RECORD), "rights", json_string("\xef\xbf\xbe")), 0,
           METADATA_XML_CHAR, "rights");
    expect(with(load(RECORD), "rights", json_string("\xef\xbf\xbf")), 0,
           METADATA_XML_CHAR, "rights");
    expect(with(load(RECORD), "age_range",
                json_stringn("1\0"
                             "2",
                             3)),
           0, METADATA_XML_CHAR, "age_range");
    expect(with(load(RECORD), "extra", json_pack("{s:s}", "k\x1b", "v")), 0,
           METADATA_XML_CHAR, "extra");
    /* Tab, newline and carriage return are allowed, U+FFFD too. */
    expect(with(load(RECORD), "rights", json_string("a\tb\nc\rd\xef\xbf\xbd")),
           0, METADATA_OK, NULL);
}

static void test_bad_filename(void **state)
{
    static const char *const bad[] = {
        "",     ".",    "..",   "a/b",   "/etc/passwd",
        "a\\b", "a\tb", "a\x7f", "a\xc2\x85",
    };
    json_t *file;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        file = load(FILE_OK);
        json_object_set_new(file, "name", json_string(bad[i]));
        expect(with(load(RECORD), "files", json_pack("[o]", file)), 0,
               METADATA_BAD_FILENAME, "files[0].name");
    }
    file = load(FILE_OK);
    json_object_set_new(file, "name",
                        json_string("Les 1 - caf\xc3\xa9.v2...pdf"));
    expect(with(load(RECORD), "files", json_pack("[o]", file)), METADATA_STRICT,
           METADATA_OK, NULL);
}

static void test_unknown_fields(void **state)
{
    json_t *doc = with_json(load(RECORD), "colour", "{\"b\":[1,\"x\"]}");
    json_t *file = load(FILE_OK);
    char *bytes;

    expect(json_incref(doc), METADATA_STRICT, METADATA_UNKNOWN_FIELD, "colour");

    /* Kept, and in the canonical bytes, without METADATA_STRICT. */
    expect(json_incref(doc), 0, METADATA_OK, NULL);
    bytes = canon(doc);
    assert_non_null(strstr(bytes, "\"colour\":{\"b\":[1,\"x\"]}"));
    free(bytes);
    json_decref(doc);

    json_object_set_new(file, "colour", json_string("red"));
    doc = with(load(RECORD), "files", json_pack("[o]", file));
    expect(json_incref(doc), METADATA_STRICT, METADATA_UNKNOWN_FIELD,
           "files[0].colour");
    expect(doc, 0, METADATA_OK, NULL);
    expect(with_json(load(RECORD), "levels",
                     "[{\"source\":\"\",\"value\":\"v\",\"x\":1}]"),
           METADATA_STRICT, METADATA_UNKNOWN_FIELD, "levels[0].x");

    /* reason belongs to tombstones only. */
    expect(with_json(load(RECORD), "reason", "\"gone\""), 0,
           METADATA_UNKNOWN_FIELD, "reason");
}

static void test_bad_value(void **state)
{
    static const char *const ids[] = {
        "\"be-vl\"",     "\"Be-vl/x\"", "\"1be/x\"",
        "\"be-vl/-x\"",  "\"be-vl/\"",  "\"/x\"",
        "\"be-vl/a/b\"", "\"be_vl/x\"", "\"be-vl/X\"",
    };
    static const char *const times[] = {
        "\"2024-02-30\"",
        "\"2023-02-29\"",
        "\"2024-13-01\"",
        "\"2024-05-01 10:00:00\"",
        "\"2024-05-01T24:00:00Z\"",
        "\"2024-05-01T10:00:00+02:00\"",
        "\"2024-5-1\"",
        "\"yesterday\"",
    };
    json_t *file;

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        expect(with_json(load(RECORD), "id", ids[i]), 0, METADATA_BAD_VALUE,
               "id");
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        expect(with_json(load(RECORD), "updated", times[i]), 0,
               METADATA_BAD_VALUE, "updated");
    expect(with_json(load(RECORD), "created", "\"2024-02-29\""), 0, METADATA_OK,
           NULL);
    expect(with_json(load(RECORD), "schema", "2"), 0, METADATA_BAD_VALUE,
           "schema");
    expect(with_json(load(RECORD), "licence", "\"CC-BY-9.9\""),
           METADATA_STRICT, METADATA_BAD_VALUE, "licence");
    expect(with_json(load(RECORD), "licence_flags", "[\"guessed\"]"), 0,
           METADATA_BAD_VALUE, "licence_flags[0]");
    expect(with_json(load(RECORD), "source_url", "\"javascript:alert(1)\""), 0,
           METADATA_BAD_VALUE, "source_url");
    expect(with_json(load(RECORD), "source_url", "\"http://a b\""), 0,
           METADATA_BAD_VALUE, "source_url");
    expect(with_json(load(RECORD), "source_url", "\"FTP://ftp.example.org/x\""),
           0, METADATA_OK, NULL);

    file = load(FILE_OK);
    json_object_set_new(file, "blob", json_string(BLOB "0"));
    expect(with(load(RECORD), "files", json_pack("[o]", file)), 0,
           METADATA_BAD_VALUE, "files[0].blob");
    file = load(FILE_OK);
    json_object_set_new(file, "sha256",
                        json_string("g123456789abcdef0123456789abcdef"
                                    "0123456789abcdef0123456789abcdef"));
    expect(with(load(RECORD), "files", json_pack("[o]", file)), 0,
           METADATA_BAD_VALUE, "files[0].sha256");
    file = load(FILE_OK);
    json_object_set_new(file, "size", json_integer(-1));
    expect(with(load(RECORD), "files", json_pack("[o]", file)), 0,
           METADATA_BAD_VALUE, "files[0].size");
}

static void test_hashes_lower_cased(void **state)
{
    json_t *file = load(FILE_OK);
    json_t *doc;

    json_object_set_new(
        file, "blob", json_string("0123456789ABCDEF0123456789ABCDEF01234567"));
    doc = with(load(RECORD), "files", json_pack("[O]", file));
    assert_int_equal(metadata_validate(doc, 0, NULL), 0);
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(doc, "files"), 0), "blob")),
        BLOB);
    json_decref(file);
    json_decref(doc);
}

static void test_licences(void **state)
{
    const char *ids[] = {"LicenseRef-unknown", "LicenseRef-PDM-1.0",
                         "LicenseRef-all-rights-reserved", "CC0-1.0"};

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        expect(with(load(RECORD), "licence", json_string(ids[i])),
               METADATA_STRICT, METADATA_OK, NULL);

    /* Another node's own LicenseRef is kept, but no user submits one. */
    expect(with_json(load(RECORD), "licence", "\"LicenseRef-school-x\""), 0,
           METADATA_OK, NULL);
    expect(with_json(load(RECORD), "licence", "\"LicenseRef-school-x\""),
           METADATA_STRICT, METADATA_BAD_VALUE, "licence");
    /* An id from a newer licence table of another node is kept too. */
    expect(with_json(load(RECORD), "licence", "\"CC-BY-5.0\""), 0,
           METADATA_OK, NULL);
    expect(with_json(load(RECORD), "licence", "\"CC-BY-5.0\""),
           METADATA_STRICT, METADATA_BAD_VALUE, "licence");
    expect(with_json(load(RECORD), "licence", "\"cc by 4.0\""), 0,
           METADATA_BAD_VALUE, "licence");
    expect(with_json(load(RECORD), "licence", "\"LicenseRef-<x>\""), 0,
           METADATA_BAD_VALUE, "licence");
}

static void test_tombstones(void **state)
{
    json_t *doc = load(TOMBSTONE);

    assert_int_equal(metadata_is_tombstone(doc), 1);
    expect(doc, METADATA_STRICT, METADATA_OK, NULL);
    expect(without(load(TOMBSTONE), "reason"), 0, METADATA_MISSING, "reason");
    expect(with_json(load(TOMBSTONE), "reason", "\"\""), 0, METADATA_MISSING,
           "reason");
    expect(without(load(TOMBSTONE), "id"), 0, METADATA_MISSING, "id");
    expect(without(load(TOMBSTONE), "updated"), 0, METADATA_MISSING, "updated");
    expect(without(load(TOMBSTONE), "source_id"), METADATA_STRICT, METADATA_OK,
           NULL);

    /* Nothing of the record stays, whatever the options. */
    expect(with_json(load(TOMBSTONE), "title", "{\"nl\":\"x\"}"), 0,
           METADATA_UNKNOWN_FIELD, "title");
    expect(with_json(load(TOMBSTONE), "files", "[]"), 0, METADATA_UNKNOWN_FIELD,
           "files");
    expect(with_json(load(TOMBSTONE), "future", "1"), METADATA_STRICT,
           METADATA_UNKNOWN_FIELD, "future");
    expect(with_json(load(TOMBSTONE), "future", "1"), 0, METADATA_OK, NULL);

    /* "deleted": false is a record, which needs a title. */
    expect(with_json(load(TOMBSTONE), "deleted", "false"), 0, METADATA_MISSING,
           "title");
}

static void test_parse(void **state)
{
    struct metadata_error err;
    json_t *doc = NULL;
    const char dup[] = "{\"a\":1,\"a\":2}";
    const char nul[] = "{\"a\":\"\\u0000\"}";

    assert_int_equal(metadata_parse(&doc, "[1]", 3, &err), OER_EINVAL);
    assert_int_equal(err.problem, METADATA_TYPE);
    assert_int_equal(metadata_parse(&doc, "{\"a\":", 5, &err), OER_EINVAL);
    assert_int_equal(err.problem, METADATA_BAD_VALUE);
    assert_int_equal(metadata_parse(&doc, dup, sizeof(dup) - 1, &err),
                     OER_EINVAL);
    assert_int_equal(err.problem, METADATA_BAD_VALUE);
    assert_non_null(strstr(err.detail, "duplicate key"));
    assert_int_equal(metadata_parse(&doc, nul, sizeof(nul) - 1, &err),
                     OER_EINVAL);
    assert_int_equal(err.problem, METADATA_XML_CHAR);
    assert_int_equal(metadata_parse(&doc, "{} x", 4, &err), OER_EINVAL);
    assert_null(doc);

    /* Only len bytes are read. */
    assert_int_equal(metadata_parse(&doc, "{\"a\":1}garbage", 7, NULL), 0);
    assert_int_equal(json_integer_value(json_object_get(doc, "a")), 1);
    json_decref(doc);
}

static void test_ids(void **state)
{
    char id[66];

    assert_true(metadata_valid_origin("be-vl"));
    assert_true(metadata_valid_origin("a"));
    assert_true(metadata_valid_origin("nl-edurep-2"));
    assert_false(metadata_valid_origin(""));
    assert_false(metadata_valid_origin("2be"));
    assert_false(metadata_valid_origin("-be"));
    assert_false(metadata_valid_origin("be_vl"));
    assert_false(metadata_valid_origin("BE"));
    assert_false(metadata_valid_origin(NULL));
    memset(id, 'a', 64);
    id[64] = '\0';
    assert_true(metadata_valid_origin(id));
    assert_true(metadata_valid_local_id(id));
    id[64] = 'a';
    id[65] = '\0';
    assert_false(metadata_valid_origin(id));
    assert_false(metadata_valid_local_id(id));
    assert_true(metadata_valid_local_id("8f3k2"));
    assert_true(metadata_valid_local_id("_a-b_"));
    assert_false(metadata_valid_local_id("-a"));
    assert_false(metadata_valid_local_id(""));
    assert_false(metadata_valid_local_id("a.b"));
    assert_false(metadata_valid_local_id("a/b"));
    assert_false(metadata_valid_local_id("A"));
    assert_false(metadata_valid_local_id(NULL));
}

static void test_local_id(void **state)
{
    char a[13], b[13], c[13];

    /* Base32 of SHA-256("oai:wikiwijs.nl:12345"), as coreutils gives it. */
    assert_int_equal(metadata_local_id(a, "oai:wikiwijs.nl:12345"), 0);
    assert_string_equal(a, "mbqoqzjjtewb");
    assert_int_equal(metadata_local_id(b, "oai:wikiwijs.nl:12345"), 0);
    assert_string_equal(a, b);
    assert_int_equal(metadata_local_id(b, ""), 0);
    assert_string_equal(b, "4oymiquy7qob");

    assert_int_equal(metadata_local_id(a, NULL), 0);
    assert_int_equal(metadata_local_id(b, NULL), 0);
    assert_int_equal(metadata_local_id(c, NULL), 0);
    assert_int_equal(strlen(a), 12);
    assert_int_equal(strspn(a, "abcdefghijklmnopqrstuvwxyz234567"), 12);
    assert_true(metadata_valid_local_id(a));
    assert_true(strcmp(a, b) != 0 || strcmp(b, c) != 0);
}

static void test_now(void **state)
{
    char now[21];
    json_t *doc;

    metadata_now(now);
    assert_int_equal(strlen(now), 20);
    assert_memory_equal(now, "20", 2);
    doc = with(load(RECORD), "updated", json_string(now));
    expect(doc, METADATA_STRICT, METADATA_OK, NULL);
}

static void test_problem_names(void **state)
{
    assert_string_equal(metadata_problem_name(METADATA_OK), "ok");
    assert_string_equal(metadata_problem_name(METADATA_MISSING), "missing");
    assert_string_equal(metadata_problem_name(METADATA_TOO_LONG), "too-long");
    assert_string_equal(metadata_problem_name(METADATA_BAD_VALUE), "bad-value");
    assert_string_equal(metadata_problem_name((enum metadata_problem)99),
                        "unknown");
}

static void test_valid_language(void **state)
{
    (void)state;
    assert_true(metadata_valid_language("en"));
    assert_true(metadata_valid_language("nl-BE"));
    assert_true(metadata_valid_language("gsw"));
    assert_true(metadata_valid_language("zh-Hant-TW"));
    assert_false(metadata_valid_language("english"));
    assert_false(metadata_valid_language("e"));
    assert_false(metadata_valid_language("en-"));
    assert_false(metadata_valid_language("en-toolongsubtag"));
    assert_false(metadata_valid_language("1e"));
    assert_false(metadata_valid_language(""));
    assert_false(metadata_valid_language(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_exact_bytes),
        cmocka_unit_test(test_canonical_escapes),
        cmocka_unit_test(test_canonical_round_trip),
        cmocka_unit_test(test_keys_sorted_by_bytes),
        cmocka_unit_test(test_canonical_refuses_reals),
        cmocka_unit_test(test_nfd_becomes_nfc),
        cmocka_unit_test(test_language_tags),
        cmocka_unit_test(test_valid_full_record),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_string_limits),
        cmocka_unit_test(test_list_limits),
        cmocka_unit_test(test_document_limit),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_long_path_stays_utf8),
        cmocka_unit_test(test_bad_utf8),
        cmocka_unit_test(test_xml_char),
        cmocka_unit_test(test_bad_filename),
        cmocka_unit_test(test_unknown_fields),
        cmocka_unit_test(test_bad_value),
        cmocka_unit_test(test_hashes_lower_cased),
        cmocka_unit_test(test_licences),
        cmocka_unit_test(test_tombstones),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_local_id),
        cmocka_unit_test(test_now),
        cmocka_unit_test(test_problem_names),
        cmocka_unit_test(test_valid_language),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
