/*
 * Tests of node/mapping: a MAP file read into fields, each kind of
 * mistake refused naming its line and key, and records mapped into
 * documents (value tables, separators, defaults, extended JSON).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/error.h"
#include "node/mapping.h"
#include "node/metadata.h"
#include "testutil.h"

static char *dir;
static char path[600];

static int load(struct mapping **out, struct mapping_error *err,
                enum mapping_kind kind, const char *text)
{
    testutil_write(path, text, strlen(text));
    return mapping_load(out, path, kind, err);
}

/* The map must be refused naming line, key and detail. */
static void refused(enum mapping_kind kind, const char *text, unsigned line,
                    const char *key, const char *detail)
{
    struct mapping *map = NULL;
    struct mapping_error err;

    assert_int_equal(load(&map, &err, kind, text), OER_EINVAL);
    assert_null(map);
    assert_string_equal(err.file, path);
    assert_int_equal(err.line, line);
    assert_string_equal(err.key, key);
    if (strstr(err.detail, detail) == NULL)
        fail_msg("detail \"%s\" lacks \"%s\"", err.detail, detail);
}

static json_t *apply(const struct mapping *map, const char *record)
{
    json_t *rec = json_loads(record, 0, NULL), *doc = NULL;
    char reason[200], *sid = NULL;

    assert_non_null(rec);
    assert_int_equal(
        mapping_apply(&doc, &sid, map, rec, reason, sizeof(reason)), 0);
    assert_string_equal(sid,
                        json_string_value(json_object_get(doc, "source_id")));
    free(sid);
    json_decref(rec);
    return doc;
}

static void assert_json(const json_t *doc, const char *want)
{
    char *got = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);

    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static const char table_map[] =
    "# a mapping\n"
    "[source]\n"
    "\tid = key\n"
    "\tprefix = ot:\n"
    "\tseparator = tab\n"
    "[field \"title\"]\n"
    "\tcolumn = title\n"
    "[field \"languages\"]\n"
    "\tcolumn = lang\n"
    "\tseparator = \";\"\n"
    "\tvalues = language\n"
    "\tdefault = und\n"
    "[field \"licence\"]\n"
    "\tcolumn = license\n"
    "\tvalues = licence\n"
    "[field \"levels\"]\n"
    "\tcolumn = grade\n"
    "\tvalues = grade\n"
    "\tunmapped = drop\n"
    "\tvocabulary = school\n"
    "[values \"language\"]\n"
    "\tmap = English => en\n"
    "\tmap = Deutsch => de\n"
    "[values \"licence\"]\n"
    "\tmap = Standard Youtube => all rights reserved\n"
    "\tmap = CC0 => CC0 1.0\n"
    "[values \"grade\"]\n"
    "\tmap = 4. Klasse => grade 4\n"
    "\tkeep = K12\n";

static void test_table_record(void **state)
{
    struct mapping *map = NULL;
    char *names[] = {"key", "title", "lang", "license", "grade"};
    json_t *doc;

    assert_int_equal(load(&map, NULL, MAPPING_TABLE, table_map), 0);
    assert_int_equal(mapping_separator(map), '\t');
    assert_int_equal(mapping_check_columns(map, names, 5, NULL), 0);

    doc = apply(map, "{\"key\": \"b1\", \"title\": \" Algebra \", "
                     "\"lang\": \"English; Deutsch;en\", \"license\": "
                     "\"Standard Youtube\", \"grade\": \"4. Klasse\"}");
    assert_json(doc, "{\"languages\":[\"en\",\"de\"],\"levels\":[{\"source\":"
                     "\"school\",\"value\":\"grade 4\"}],\"licence\":"
                     "\"LicenseRef-all-rights-reserved\",\"schema\":1,"
                     "\"source_id\":\"ot:b1\",\"title\":{\"und\":"
                     "\"Algebra\"}}");
    json_decref(doc);

    /* one language names the title's; unknown licence text is kept */
    doc = apply(map, "{\"key\": \"b2\", \"title\": \"T\", \"lang\": "
                     "\"Deutsch\", \"license\": \"CC BY-NC\", \"grade\": "
                     "\"9. Klasse\"}");
    assert_json(doc, "{\"languages\":[\"de\"],\"licence\":"
                     "\"LicenseRef-unknown\",\"licence_flags\":"
                     "[\"no-version\"],\"rights\":\"CC BY-NC\",\"schema\":1,"
                     "\"source_id\":\"ot:b2\",\"title\":{\"de\":\"T\"}}");
    json_decref(doc);
    mapping_free(map);
}

static void test_json_paths(void **state)
{
    struct mapping *map = NULL;
    json_t *doc;
    const char *text =
        "[source]\n\tid = _id\n"
        "[field \"title\"]\n\tpath = meta.titles[1]\n\tlanguage = de\n"
        "[field \"keywords\"]\n\tpath = tags\n\tpath = more[].name\n"
        "\tlanguage = de\n"
        "[field \"created\"]\n\tpath = createdAt\n"
        "[field \"licence\"]\n\tpath = licenses[0]\n"
        "[field \"source_url\"]\n\tpath = url\n";

    assert_int_equal(load(&map, NULL, MAPPING_JSON, text), 0);
    doc = apply(map, "{\"_id\": {\"$oid\": \"59919169c9\"}, \"meta\": "
                     "{\"titles\": [\"a\", \"Zahlen\"]}, \"tags\": [\"x\", "
                     "\"y\"], \"more\": [{\"name\": \"z\"}, {\"name\": "
                     "\"x\"}], \"createdAt\": {\"$date\": "
                     "\"2017-08-14T14:02:49.107+0200\"}, \"licenses\": "
                     "[\"CC BY-SA 4.0\"], \"url\": \"https://e.org/v\"}");
    assert_json(doc, "{\"created\":\"2017-08-14T12:02:49Z\",\"keywords\":"
                     "{\"de\":[\"x\",\"y\",\"z\"]},\"languages\":[\"und\"],"
                     "\"licence\":\"CC-BY-SA-4.0\",\"schema\":1,"
                     "\"source_id\":\"59919169c9\",\"source_url\":"
                     "\"https://e.org/v\",\"title\":{\"de\":\"Zahlen\"}}");
    json_decref(doc);
    mapping_free(map);
}

static void test_no_identifier(void **state)
{
    struct mapping *map = NULL;
    json_t *rec = json_loads("{\"key\": \"\", \"title\": \"T\"}", 0, NULL);
    json_t *doc = NULL;
    char reason[200], *sid = NULL;

    assert_int_equal(load(&map, NULL, MAPPING_TABLE,
                          "[source]\n\tid = key\n[field \"title\"]\n"
                          "\tcolumn = title\n"),
                     0);
    assert_int_equal(
        mapping_apply(&doc, &sid, map, rec, reason, sizeof(reason)),
        OER_EINVAL);
    assert_null(doc);
    assert_null(sid);
    assert_string_equal(reason, "no source identifier (column key is empty)");
    json_decref(rec);
    mapping_free(map);
}

static void test_unknown_column(void **state)
{
    struct mapping *map = NULL;
    struct mapping_error err;
    char *names[] = {"key", "title", "lang", "licence", "grade"};

    assert_int_equal(load(&map, NULL, MAPPING_TABLE, table_map), 0);
    memset(&err, 0, sizeof(err));
    assert_int_equal(mapping_check_columns(map, names, 5, &err), OER_EINVAL);
    assert_int_equal(err.line, 14);
    assert_string_equal(err.key, "field.licence.column");
    assert_string_equal(err.detail, "unknown column 'license': the table has "
                                    "no such column");
    mapping_free(map);
}

static void test_duplicate_key(void **state)
{
    refused(MAPPING_TABLE,
            "[source]\n\tid = key\n"
            "[field \"licence\"]\n\tcolumn = l\n\tvalues = lic\n"
            "[values \"lic\"]\n"
            "\tmap = CC0 => CC0 1.0\n"
            "\tmap = CC BY => CC BY 4.0\n"
            "\tmap = \"CC0 => CC0 1.0 Universal\"\n",
            9, "values.lic.map", "value table 'lic' has the key 'CC0' twice");
}

static void test_unknown_field(void **state)
{
    refused(MAPPING_JSON,
            "[source]\n\tid = id\n"
            "[field \"title\"]\n\tpath = t\n"
            "# the grade\n"
            "[field \"grade\"]\n\tpath = g\n",
            6, "field.grade.path", "unknown oernode field 'grade'");
    refused(MAPPING_JSON, "[source]\n\tid = id\n[field \"id\"]\n\tpath = x\n",
            3, "field.id.path", "unknown oernode field 'id'");
}

static void test_other_mistakes(void **state)
{
    refused(MAPPING_TABLE, "[source]\n\tid = key\n[field \"title\"\n", 3, "",
            "failed to parse");
    refused(MAPPING_TABLE, "[field \"title\"]\n\tcolumn = t\n", 0, "source.id",
            "missing");
    refused(MAPPING_TABLE, "[source]\n\tid = k\n\tcolour = red\n", 0,
            "source.colour", "unknown key");
    refused(MAPPING_JSON,
            "[source]\n\tid = k\n[field \"title\"]\n"
            "\tcolumn = t\n",
            4, "field.title.column", "a JSON mapping names a path");
    refused(MAPPING_JSON,
            "[source]\n\tid = k\n[field \"title\"]\n"
            "\tpath = a..b\n",
            4, "field.title.path", "bad path 'a..b'");
    refused(MAPPING_TABLE,
            "[source]\n\tid = k\n[field \"licence\"]\n"
            "\tcolumn = l\n\tvalues = nope\n",
            5, "field.licence.values", "no value table 'nope'");
    refused(MAPPING_TABLE,
            "[source]\n\tid = k\n[values \"v\"]\n"
            "\tmap = just a value\n",
            4, "values.v.map", "lacks '=>'");
    refused(MAPPING_TABLE,
            "[source]\n\tid = k\n[field \"title\"]\n"
            "\tlanguage = en\n",
            3, "field.title", "names no column and no default");
}

static void test_timestamps(void **state)
{
    char out[24];

    assert_int_equal(mapping_timestamp(out, "2024-06-07"), 0);
    assert_string_equal(out, "2024-06-07");
    assert_int_equal(mapping_timestamp(out, "2017-08-14T12:02:49.107+0000"), 0);
    assert_string_equal(out, "2017-08-14T12:02:49Z");
    assert_int_equal(mapping_timestamp(out, "2020-01-01T00:30:00-01:00"), 0);
    assert_string_equal(out, "2020-01-01T01:30:00Z");
    assert_int_equal(mapping_timestamp(out, "1502712169107"), 0);
    assert_string_equal(out, "2017-08-14T12:02:49Z");
    assert_int_equal(mapping_timestamp(out, "yesterday"), OER_EINVAL);
    assert_int_equal(mapping_timestamp(out, "2020-01-01T10:00:00 junk"),
                     OER_EINVAL);
}

static void test_shared_mappings(void **state)
{
    static const char *const names[][2] = {{"openstax.map", "t"},
                                           {"open-textbook-library.map", "t"},
                                           {"bc-open-collection.map", "t"},
                                           {"khan-academy-de.map", "j"},
                                           {"dalia.map", "j"}};
    struct mapping_error err;
    char file[700];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct mapping *map = NULL;

        snprintf(file, sizeof(file), "%s/mappings/%s", testutil_srcdir(),
                 names[i][0]);
        if (mapping_load(&map, file,
                         names[i][1][0] == 't' ? MAPPING_TABLE : MAPPING_JSON,
                         &err) != 0)
            fail_msg("%s:%u: %s: %s", file, err.line, err.key, err.detail);
        mapping_free(map);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_record),
        cmocka_unit_test(test_json_paths),
        cmocka_unit_test(test_no_identifier),
        cmocka_unit_test(test_unknown_column),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_unknown_field),
        cmocka_unit_test(test_other_mistakes),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_shared_mappings),
    };
    int failed;

    dir = testutil_tmpdir("mapping");
    snprintf(path, sizeof(path), "%s/test.map", dir);
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    free(dir);
    return failed;
}
