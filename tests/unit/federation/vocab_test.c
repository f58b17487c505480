/*
 * Tests of federation/vocab: the shipped vocabularies of vocab/ (every
 * file loads, every term maps to a pivot that exists), filters and
 * displays across the Flemish and Dutch systems, labels by language,
 * unmapped terms, LOM age ranges, bad files, and the real vocabularies in
 * ../shared/data/vocab (the Dutch VDEX level table, the German KIM list).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "federation/vocab.h"
#include "node/error.h"
#include "node/log.h"
#include "testutil.h"

#define BEGRIPPENKADER "http://purl.edustandaard.nl/begrippenkader"

static struct vocab *shipped(void)
{
    char dir[4096];
    struct vocab *v = NULL;

    snprintf(dir, sizeof(dir), "%s/vocab", testutil_srcdir());
    assert_int_equal(vocab_load(&v, dir), 0);
    return v;
}

static const struct vocab_term *level(const struct vocab *v, const char *system,
                                      const char *id)
{
    const struct vocab_term *t = vocab_find(v, system, VOCAB_LEVEL, id);

    if (t == NULL)
        fail_msg("no level %s in %s", id, system);
    return t;
}

/* The one mapping of t: its pivot and kind. */
static void assert_maps(const struct vocab_term *t, const char *pivot,
                        enum vocab_match match)
{
    const struct vocab_mapping *m;
    size_t n = vocab_term_mappings(t, &m);

    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].pivot, pivot) == 0 && m[i].match == match)
            return;
    fail_msg("%s does not map to %s (%s)", vocab_term_id(t), pivot,
             vocab_match_name(match));
}

static void test_every_file_loads_and_maps(void **state)
{
    struct vocab *v = shipped();
    const struct vocab_term *t;
    const char *sys;
    size_t terms = 0;

    assert_string_equal(vocab_pivot_system(v, VOCAB_LEVEL), "isced-2011");
    assert_string_equal(vocab_pivot_system(v, VOCAB_SUBJECT), "subjects");
    for (size_t i = 0; (sys = vocab_system_at(v, i)) != NULL; i++) {
        char path[4096];
        char *text;

        /* every file cites its source in its comment */
        snprintf(path, sizeof(path), "%s/vocab/%s.json", testutil_srcdir(),
                 sys);
        text = testutil_read(path, NULL);
        assert_non_null(text);
        assert_non_null(strstr(text, "\"comment\""));
        free(text);

        for (int kind = 0; kind < 2; kind++) {
            const char *piv = vocab_pivot_system(v, (enum vocab_kind)kind);

            for (size_t j = 0;
                 (t = vocab_term_at(v, sys, (enum vocab_kind)kind, j)); j++) {
                const struct vocab_mapping *m;
                size_t n = vocab_term_mappings(t, &m);

                assert_true(n >= 1);
                for (size_t k = 0; k < n; k++)
                    if (vocab_find(v, piv, (enum vocab_kind)kind, m[k].pivot) ==
                        NULL)
                        fail_msg("%s %s: no pivot %s", sys, vocab_term_id(t),
                                 m[k].pivot);
                /* every label in every language finds its own term */
                for (const char *const *l =
                         (const char *const[]){"nl", "en", "fr", "de", NULL};
                     *l != NULL; l++)
                    if (vocab_find_label(v, sys, (enum vocab_kind)kind, *l,
                                         vocab_term_label(t, *l)) != t)
                        fail_msg("%s %s: label %s \"%s\" finds another term",
                                 sys, vocab_term_id(t), *l,
                                 vocab_term_label(t, *l));
                terms++;
            }
        }
    }
    assert_true(terms > 150);
    for (size_t i = 0; i < 9; i++) {
        char code[2] = {(char)('0' + i), '\0'};

        assert_int_equal(vocab_term_levels(level(v, "isced-2011", code)),
                         VOCAB_LEVEL_BIT(i));
    }
    vocab_free(v);
}

struct found {
    const char *want;
    int seen;
    size_t count;
};

static int on_term(const struct vocab_term *t, const struct vocab_mapping *m,
                   void *arg)
{
    struct found *f = arg;

    f->count++;
    if (strcmp(vocab_term_id(t), f->want) == 0)
        f->seen = 1;
    return 0;
}

static void assert_translates(const struct vocab *v, const char *pivot,
                              const char *system, const char *id)
{
    struct found f = {id, 0, 0};

    assert_int_equal(
        vocab_translate(v, VOCAB_LEVEL, pivot, system, on_term, &f), 0);
    if (!f.seen)
        fail_msg("pivot %s does not find %s in %s", pivot, id, system);
}

struct keys {
    char list[16][256];
    size_t n;
};

static int on_key(const char *key, void *arg)
{
    struct keys *k = arg;

    assert_true(k->n < 16);
    snprintf(k->list[k->n++], sizeof(k->list[0]), "%s", key);
    return 0;
}

static int keys_meet(const struct keys *a, const struct keys *b)
{
    for (size_t i = 0; i < a->n; i++)
        for (size_t j = 0; j < b->n; j++)
            if (strcmp(a->list[i], b->list[j]) == 0)
                return 1;
    return 0;
}

/* Whether a search filtered by filter (in fsys) finds a record labelled
 * record (in rsys), through the keys the index uses. */
static int filter_finds(const struct vocab *v, enum vocab_kind kind,
                        const char *fsys, const char *filter, const char *rsys,
                        const char *record)
{
    struct keys f = {.n = 0}, r = {.n = 0};

    assert_int_equal(vocab_filter_keys(v, kind, fsys, filter, NULL, on_key, &f),
                     0);
    assert_int_equal(vocab_index_keys(v, kind, rsys, record, NULL, on_key, &r),
                     0);
    return keys_meet(&f, &r);
}

static void test_flemish_and_dutch_primary(void **state)
{
    struct vocab *v = shipped();
    const struct vocab_term *vl, *nl, *eq;
    enum vocab_match match;

    vl = vocab_find_label(v, "be-vl", VOCAB_LEVEL, "nl",
                          "Lager onderwijs, 5e leerjaar");
    nl = vocab_find_label(v, "nl", VOCAB_LEVEL, "nl", "groep 7");
    assert_non_null(vl);
    assert_non_null(nl);
    assert_string_equal(vocab_term_id(vl), "lager-5");
    assert_string_equal(vocab_term_id(nl), "po_groep7");
    assert_maps(vl, "1", VOCAB_BROADER);
    assert_maps(nl, "1", VOCAB_BROADER);
    assert_int_equal(vocab_term_levels(vl), VOCAB_LEVEL_BIT(1));
    assert_int_equal(vocab_term_levels(nl), VOCAB_LEVEL_BIT(1));

    /* filters, both ways, and the pivot finds both */
    assert_true(
        filter_finds(v, VOCAB_LEVEL, "be-vl", "lager-5", "nl", "po_groep7"));
    assert_true(
        filter_finds(v, VOCAB_LEVEL, "nl", "po_groep7", "be-vl", "lager-5"));
    assert_false(
        filter_finds(v, VOCAB_LEVEL, "be-vl", "lager-5", "nl", "havo4"));
    assert_translates(v, "1", "nl", "po_groep7");
    assert_translates(v, "1", "be-vl", "lager-5");

    /* display: the best equivalent is the year of the same age */
    eq = vocab_equivalent(&match, v, vl, "nl");
    assert_non_null(eq);
    assert_string_equal(vocab_term_id(eq), "po_groep7");
    assert_int_equal(match, VOCAB_BROADER);
    eq = vocab_equivalent(NULL, v, nl, "be-vl");
    assert_string_equal(vocab_term_id(eq), "lager-5");
    assert_string_equal(vocab_term_label(eq, "nl-be"),
                        "lager onderwijs, 5e leerjaar");
    vocab_free(v);
}

static void test_second_stage_and_havo4(void **state)
{
    struct vocab *v = shipped();
    const struct vocab_term *graad2, *havo4, *eq;

    /* UIS mappings: 2e graad is ISCED 3 in Flanders; havo 4 is ISCED 344
     * (general, access to tertiary).  Both narrower than the pivot. */
    graad2 = vocab_find_label(v, "be-vl", VOCAB_LEVEL, "nl",
                              "2e graad secundair onderwijs");
    havo4 = vocab_find_label(v, "nl", VOCAB_LEVEL, NULL, "HAVO 4");
    assert_non_null(graad2);
    assert_non_null(havo4);
    assert_maps(graad2, "3", VOCAB_BROADER);
    assert_maps(havo4, "344", VOCAB_BROADER);
    assert_int_equal(vocab_term_levels(graad2), VOCAB_LEVEL_BIT(3));
    assert_int_equal(vocab_term_levels(havo4), VOCAB_LEVEL_BIT(3));
    assert_true(
        filter_finds(v, VOCAB_LEVEL, "be-vl", "so-graad2", "nl", "havo4"));
    assert_true(
        filter_finds(v, VOCAB_LEVEL, "nl", "havo4", "be-vl", "so-graad2"));
    /* the 1e graad is ISCED 2: havo 1 but not havo 4 */
    assert_true(
        filter_finds(v, VOCAB_LEVEL, "be-vl", "so-graad1", "nl", "havo1"));
    assert_false(
        filter_finds(v, VOCAB_LEVEL, "be-vl", "so-graad1", "nl", "havo4"));

    /* havo 4 shown in Flemish terms: 4e leerjaar, doorstroom (344) */
    eq = vocab_equivalent(NULL, v, havo4, "be-vl");
    assert_non_null(eq);
    assert_string_equal(vocab_term_id(eq), "so-4-d");
    assert_translates(v, "344", "be-vl", "so-graad2-d");
    assert_translates(v, "3", "nl", "mbo_niveau4");
    assert_translates(v, "344", "nl", "vwo5");
    vocab_free(v);
}

static void test_higher_education_and_subjects(void **state)
{
    struct vocab *v = shipped();
    const struct vocab_term *t, *eq;

    assert_true(
        filter_finds(v, VOCAB_LEVEL, "be-vl", "hoger", "nl", "hbo_bachelor"));
    assert_true(
        filter_finds(v, VOCAB_LEVEL, "nl", "wo_master", "be-vl", "master"));
    t = level(v, "be-vl", "pba");
    eq = vocab_equivalent(NULL, v, t, "nl");
    assert_string_equal(vocab_term_id(eq), "hbo_bachelor");

    /* subjects: a label in common decides between foreign languages */
    t = vocab_find_label(v, "be-vl", VOCAB_SUBJECT, "en", "french");
    assert_non_null(t);
    eq = vocab_equivalent(NULL, v, t, "nl");
    assert_string_equal(vocab_term_id(eq), "frans");
    assert_true(
        filter_finds(v, VOCAB_SUBJECT, "be-vl", "fysica", "nl", "natuurkunde"));
    /* a science filter finds physics; a physics filter not all science */
    assert_true(filter_finds(v, VOCAB_SUBJECT, "be-vl", "natuurwetenschappen",
                             "nl", "natuurkunde"));
    assert_false(
        filter_finds(v, VOCAB_SUBJECT, "be-vl", "fysica", "nl", "biologie"));
    vocab_free(v);
}

/* Edurep records carry the national concept id of a level (public mapping
 * of Kennisnet: HBO is be140797-...); the Dutch system knows it as a
 * notation of its term HBO, and the old VDEX context list's "WO" too. */
static void test_national_concept_ids(void **state)
{
    struct vocab *v = shipped();
    const struct vocab_term *hbo = vocab_find(v, "nl", VOCAB_LEVEL, "HBO");

    assert_non_null(hbo);
    assert_ptr_equal(vocab_resolve(v, VOCAB_LEVEL, BEGRIPPENKADER,
                                   "be140797-803f-4b9e-81cc-5572c711e09c",
                                   NULL),
                     hbo);
    assert_ptr_equal(vocab_find(v, "nl", VOCAB_LEVEL,
                                "be140797-803f-4b9e-81cc-5572c711e09c"),
                     hbo);
    assert_ptr_equal(
        vocab_resolve(v, VOCAB_LEVEL,
                      "http://purl.edustandaard.nl/vdex_context_czp_20060628.xml",
                      "WO", NULL),
        vocab_find(v, "nl", VOCAB_LEVEL, "WO"));
    /* an unknown concept id stays unresolved */
    assert_null(vocab_resolve(v, VOCAB_LEVEL, BEGRIPPENKADER,
                              "00000000-0000-0000-0000-000000000000", NULL));
    vocab_free(v);
}

static void test_unmapped_term(void **state)
{
    struct vocab *v = shipped();
    struct keys k = {.n = 0};
    const char *src = "http://purl.edustandaard.nl/"
                      "vdex_classification_educationallevel_czp_20071115.xml";

    assert_null(vocab_resolve(v, VOCAB_LEVEL, src, "bedrijfsopleiding", NULL));
    assert_int_equal(vocab_index_keys(v, VOCAB_LEVEL, src, "bedrijfsopleiding",
                                      NULL, on_key, &k),
                     0);
    assert_int_equal(k.n, 1);
    assert_string_equal(vocab_key_label(v, k.list[0], "nl"),
                        "bedrijfsopleiding");
    /* filters only exactly */
    assert_true(filter_finds(v, VOCAB_LEVEL, src, "bedrijfsopleiding", src,
                             "bedrijfsopleiding"));
    assert_false(filter_finds(v, VOCAB_LEVEL, src, "bedrijfsopleiding", src,
                              "Bedrijfsopleiding "));
    assert_false(
        filter_finds(v, VOCAB_LEVEL, src, "bedrijfsopleiding", src, "mbo"));
    /* a term of a known source resolves by id or label; free text by the
     * origin's system */
    assert_non_null(vocab_resolve(v, VOCAB_LEVEL, src, "havo4", NULL));
    assert_null(vocab_resolve(v, VOCAB_LEVEL, "", "Groep 7", NULL));
    assert_string_equal(
        vocab_term_id(vocab_resolve(v, VOCAB_LEVEL, "", "Groep 7", "nl")),
        "po_groep7");
    vocab_free(v);
}

static void test_labels_in_each_language(void **state)
{
    struct vocab *v = shipped();
    const struct vocab_term *p = level(v, "isced-2011", "2");
    const struct vocab_term *t = level(v, "be-vl", "kleuter");
    struct keys k = {.n = 0};

    assert_string_equal(vocab_term_label(p, "en"), "Lower secondary education");
    assert_string_equal(vocab_term_label(p, "nl"), "Lager secundair onderwijs");
    assert_string_equal(vocab_term_label(p, "fr"),
                        "Premier cycle de l'enseignement secondaire");
    assert_string_equal(vocab_term_label(p, "de"), "Sekundarbereich I");
    assert_string_equal(vocab_term_label(p, "de-AT"), "Sekundarbereich I");
    assert_string_equal(vocab_term_label(p, "es"), "Lower secondary education");
    assert_string_equal(vocab_term_label(t, "fr"), "enseignement maternel");
    assert_ptr_equal(vocab_find_label(v, "be-vl", VOCAB_LEVEL, "fr",
                                      "  ENSEIGNEMENT   Maternel "),
                     t);
    assert_null(vocab_find_label(v, "be-vl", VOCAB_LEVEL, "de",
                                 "enseignement maternel"));
    assert_string_equal(vocab_system_label(v, "nl", "fr"), "Pays-Bas");
    assert_string_equal(
        vocab_term_label(
            vocab_find(v, "subjects", VOCAB_SUBJECT, "mathematics"), "de"),
        "Mathematik");

    assert_int_equal(
        vocab_index_keys(v, VOCAB_LEVEL, "be-vl", "kleuter", NULL, on_key, &k),
        0);
    assert_int_equal(k.n, 1);
    assert_string_equal(k.list[0], "isced:0");
    assert_string_equal(vocab_key_label(v, "isced:0", "de"),
                        "Elementarbereich");
    vocab_free(v);
}

static void check_age(const char *context, const char *range, unsigned want)
{
    unsigned got;
    int rc = vocab_age_levels(&got, context, range);

    if (want == 0) {
        assert_int_equal(rc, OER_ENOTFOUND);
        return;
    }
    assert_int_equal(rc, 0);
    if (got != want)
        fail_msg("%s, %s: got %#x, want %#x", context ? context : "-",
                 range ? range : "-", got, want);
}

#define B(n) VOCAB_LEVEL_BIT(n)

static void test_age_range(void **state)
{
    int lo, hi;

    check_age(NULL, "10-12", B(1) | B(2));
    check_age("school", "10-12", B(1) | B(2));
    check_age(NULL, "7", B(1));
    check_age("school", "16-", B(3));
    check_age(NULL, "16-", B(3) | B(4) | B(5) | B(6) | B(7) | B(8));
    check_age("higher education", "18-", B(5) | B(6) | B(7) | B(8));
    check_age("higher education", NULL, B(5) | B(6) | B(7) | B(8));
    check_age("Training", " 16 - 18 ", B(3) | B(4) | B(5));
    check_age(NULL, "3-5", B(0));
    check_age("other", "13", B(2));
    check_age("school", "25-", 0);
    check_age(NULL, "for all ages", 0);
    check_age(NULL, NULL, 0);
    check_age("school", "U-10", B(0) | B(1) | B(2) | B(3));

    assert_int_equal(vocab_age_parse(&lo, &hi, "16-"), 0);
    assert_int_equal(lo, 16);
    assert_int_equal(hi, -1);
    assert_int_equal(vocab_age_parse(&lo, &hi, "12-10"), OER_EINVAL);
    assert_int_equal(vocab_age_parse(&lo, &hi, "1000"), OER_EINVAL);
    assert_int_equal(vocab_age_parse(&lo, &hi, "-5"), OER_EINVAL);
}

/* Load text as one file of a fresh vocab with the shipped pivots; returns
 * the code and the log through *log (caller frees). */
static int load_bad(const char *text, char **log, int pivots)
{
    char dir[4096];
    struct vocab *v = NULL;
    size_t len = 0;
    FILE *f = open_memstream(log, &len);
    int rc;

    assert_non_null(f);
    snprintf(dir, sizeof(dir), "%s/vocab", testutil_srcdir());
    assert_int_equal(vocab_new(&v), 0);
    log_set_stream(f);
    log_set_level(LOG_LEVEL_WARN);
    rc = vocab_add(v, "bad.json", text, strlen(text));
    if (rc == 0 && !pivots)
        rc = vocab_check(v);
    else if (rc == 0) {
        char path[4200];

        snprintf(path, sizeof(path), "%s/isced-2011.json", dir);
        assert_int_equal(vocab_add_file(v, path), 0);
        snprintf(path, sizeof(path), "%s/subjects.json", dir);
        assert_int_equal(vocab_add_file(v, path), 0);
        rc = vocab_check(v);
    }
    log_set_level(LOG_LEVEL_ERROR);
    log_set_stream(NULL);
    fclose(f);
    vocab_free(v);
    return rc;
}

static void expect_bad_as(const char *text, int pivots, const char *term,
                          const char *what)
{
    char *log = NULL;

    assert_int_equal(load_bad(text, &log, pivots), OER_EINVAL);
    if (strstr(log, "file=bad.json") == NULL || strstr(log, what) == NULL ||
        (term != NULL && strstr(log, term) == NULL))
        fail_msg("log does not name file, %s and '%s': %s", term, what, log);
    free(log);
}

static void expect_bad(const char *text, const char *term, const char *what)
{
    expect_bad_as(text, 1, term, what);
}

#define HEAD "{\"format\":1,\"system\":\"xx\",\"label\":{\"en\":\"X\"},"

static void test_bad_files(void **state)
{
    char *log = NULL;

    expect_bad(HEAD "\"levels\":[{\"id\":\"y1\",\"label\":{\"en\":\"Y\"},"
                    "\"map\":[{\"pivot\":\"9\",\"match\":\"exact\"}]}]}",
               "term=y1", "unknown pivot");
    expect_bad(HEAD "\"levels\":[{\"id\":\"y2\",\"label\":{\"en\":\"Y\"},"
                    "\"map\":[{\"pivot\":\"1\",\"match\":\"same\"}]}]}",
               "term=y2", "unknown match kind");
    expect_bad(HEAD "\"levels\":[{\"id\":\"y3\",\"label\":{\"en\":\"Y\"}}]}",
               "term=y3", "needs a map");
    expect_bad(HEAD "\"levels\":[{\"id\":\"y4\",\"label\":{}}]}", "term=y4",
               "needs labels");
    expect_bad(HEAD "\"levels\":[{\"id\":\"y5\",\"label\":{\"EN\":\"Y\"},"
                    "\"map\":[{\"pivot\":\"1\",\"match\":\"exact\"}]}]}",
               "term=y5", "bad language tag");
    expect_bad(HEAD "\"subjects\":[{\"id\":\"s\",\"label\":{\"en\":\"S\"},"
                    "\"map\":[{\"pivot\":\"maths\",\"match\":\"exact\"}]}]}",
               "term=s", "unknown pivot");
    expect_bad(HEAD "\"levels\":[{\"id\":\"d\",\"label\":{\"en\":\"Y\"},"
                    "\"map\":[{\"pivot\":\"1\",\"match\":\"exact\"}]},"
                    "{\"id\":\"d\",\"label\":{\"en\":\"Z\"},"
                    "\"map\":[{\"pivot\":\"1\",\"match\":\"exact\"}]}]}",
               "term=d", "appears twice");
    expect_bad(HEAD "\"levels\":[{\"id\":\"a\",\"label\":{\"en\":\"Y\"},"
                    "\"age\":\"old\",\"map\":[]}]}",
               "term=a", "age");
    expect_bad(HEAD "\"levels\":[{\"id\":\"n1\",\"label\":{\"en\":\"Y\"},"
                    "\"notations\":\"u1\","
                    "\"map\":[{\"pivot\":\"1\",\"match\":\"exact\"}]}]}",
               "term=n1", "notations must be a list");
    expect_bad(HEAD "\"levels\":[{\"id\":\"n2\",\"label\":{\"en\":\"Y\"},"
                    "\"notations\":[\"\"],"
                    "\"map\":[{\"pivot\":\"1\",\"match\":\"exact\"}]}]}",
               "term=n2", "non-empty id");
    /* a notation may not name another term */
    expect_bad(HEAD "\"levels\":[{\"id\":\"n3\",\"label\":{\"en\":\"Y\"},"
                    "\"map\":[{\"pivot\":\"1\",\"match\":\"exact\"}]},"
                    "{\"id\":\"n4\",\"label\":{\"en\":\"Z\"},"
                    "\"notations\":[\"n3\"],"
                    "\"map\":[{\"pivot\":\"1\",\"match\":\"exact\"}]}]}",
               "term=n4", "appears twice");
    expect_bad(HEAD "\"levles\":[]}", NULL, "unknown member");
    expect_bad("{\"format\":2}", NULL, "format");
    expect_bad("{\"format\":1,\n\"system\":", NULL, "not a JSON file");

    /* a pivot code needs its broader code */
    expect_bad_as("{\"format\":1,\"system\":\"p\",\"pivot\":\"levels\","
                  "\"label\":{\"en\":\"P\"},"
                  "\"levels\":[{\"id\":\"34\",\"label\":{\"en\":\"x\"}}]}",
                  0, "term=34", "broader level code missing");
    assert_int_equal(load_bad(HEAD "\"levels\":[]}", &log, 1), 0);
    free(log);
}

static void test_bad_folder(void **state)
{
    char *dir = testutil_tmpdir("vocab-bad");
    char path[4200];
    struct vocab *v = NULL;
    const char *one = "{\"format\":1,\"system\":\"a\",\"label\":{\"en\":\"A\"},"
                      "\"levels\":[{\"id\":\"x\",\"label\":{\"en\":\"X\"},"
                      "\"map\":[{\"pivot\":\"1\",\"match\":\"exact\"}]}]}";

    assert_int_equal(vocab_load(&v, "/nonexistent/vocab"), OER_EIO);
    snprintf(path, sizeof(path), "%s/a.json", dir);
    testutil_write(path, one, strlen(one));
    /* no pivot file */
    assert_int_equal(vocab_load(&v, dir), OER_EINVAL);
    assert_null(v);
    snprintf(path, sizeof(path), "%s/b.json", dir);
    testutil_write(path, one, strlen(one));
    assert_int_equal(vocab_load(&v, dir), OER_EEXISTS);
    free(dir);
}

/* ---- the real vocabularies in ../shared/data/vocab ---- */

/* ISCED levels the Dutch VDEX terms resolve to, by the UIS mapping. */
static const struct {
    const char *id;
    unsigned levels;
} vdex_levels[] = {
    {"VVE", B(0)},
    {"PO", B(0) | B(1)},
    {"SBaO", B(1)},
    {"VO", B(2) | B(3)},
    {"praktonderwijs", B(2)},
    {"vmbo", B(2)},
    {"havo", B(2) | B(3)},
    {"vwo", B(2) | B(3)},
    {"mbo", B(2) | B(3)},
    {"HBO", B(5) | B(6) | B(7)},
    {"WO", B(6) | B(7) | B(8)},
    {"BVE", B(2) | B(3)},
    {"educatie", B(1) | B(2)},
    {"vavo", B(2) | B(3)},
};

/* Left out: no public ISCED mapping (company training, adult literacy
 * levels) or not one level (special education spans them all). */
static const char *const vdex_unmapped[] = {
    "SO",
    "educatie_niveau1",
    "educatie_niveau2",
    "educatie_niveau3",
    "educatie_niveau4",
    "bedrijfsopleiding",
};

/* Years and levels by family: groep 1-2 ISCED 0, 3-8 ISCED 1; vmbo
 * ISCED 2; havo 1-3 and vwo 1-3 ISCED 2, then 3; mbo 1 ISCED 2, 2-4 3. */
static int family_levels(const char *id, unsigned *out)
{
    int n;
    char w[3];

    if (sscanf(id, "po_groep%d", &n) == 1)
        *out = n <= 2 ? B(0) : B(1);
    else if (sscanf(id, "vmbo_%2[a-z]%d", w, &n) == 2)
        *out = B(2);
    else if (sscanf(id, "havo%d", &n) == 1 || sscanf(id, "vwo%d", &n) == 1)
        *out = n <= 3 ? B(2) : B(3);
    else if (sscanf(id, "mbo_niveau%d", &n) == 1)
        *out = n == 1 ? B(2) : B(3);
    else
        return 0;
    return 1;
}

static unsigned expected_levels(const char *id, int *listed)
{
    unsigned levels;

    *listed = 1;
    for (size_t i = 0; i < sizeof(vdex_levels) / sizeof(vdex_levels[0]); i++)
        if (strcmp(vdex_levels[i].id, id) == 0)
            return vdex_levels[i].levels;
    for (size_t i = 0; i < sizeof(vdex_unmapped) / sizeof(vdex_unmapped[0]);
         i++)
        if (strcmp(vdex_unmapped[i], id) == 0)
            return 0;
    if (family_levels(id, &levels))
        return levels;
    *listed = 0;
    return 0;
}

/* One row of the CSV: fields split on ';' in place. */
static size_t split(char *line, char **fields, size_t max)
{
    size_t n = 0;

    fields[n++] = line;
    for (char *p = line; *p != '\0' && n < max; p++)
        if (*p == ';') {
            *p = '\0';
            fields[n++] = p + 1;
        }
    return n;
}

static void check_vdex_row(const struct vocab *v, char **f, size_t *checked)
{
    const char *src = "http://purl.edustandaard.nl/"
                      "vdex_classification_educationallevel_czp_20071115.xml";
    const struct vocab_term *by_id, *by_label;
    unsigned want;
    int listed;

    want = expected_levels(f[2], &listed);
    if (!listed)
        fail_msg("VDEX term %s (%s) is new: map it or list it", f[2], f[4]);
    by_id = vocab_resolve(v, VOCAB_LEVEL, f[1], f[2], NULL);
    by_label = vocab_find_label(v, "nl", VOCAB_LEVEL, "nl", f[4]);
    if (want == 0) {
        assert_null(by_id);
        assert_null(by_label);
        return;
    }
    if (by_id == NULL || by_label != by_id)
        fail_msg("VDEX %s / \"%s\" does not resolve to one term", f[2], f[4]);
    if (vocab_term_levels(by_id) != want)
        fail_msg("VDEX %s: levels %#x, want %#x", f[2],
                 vocab_term_levels(by_id), want);
    assert_ptr_equal(vocab_resolve(v, VOCAB_LEVEL, src, f[2], NULL), by_id);
    /* The national concept id (Edurep records carry it) is a notation of
     * the same term. */
    if (vocab_resolve(v, VOCAB_LEVEL, BEGRIPPENKADER, f[3], NULL) != by_id)
        fail_msg("concept %s (%s) does not resolve to VDEX %s", f[3], f[4],
                 f[2]);
    (*checked)++;
}

static void test_shared_vdex_levels(void **state)
{
    char *path =
        testutil_shared_or_skip("vocab/nl-vdex-educationallevel-to-obk.csv");
    char *text = testutil_read(path, NULL), *line, *save = NULL;
    struct vocab *v = shipped();
    size_t checked = 0;

    assert_non_null(text);
    line = strtok_r(text, "\r\n", &save); /* the header */
    assert_non_null(strstr(line, "term.identifier"));
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
        char *f[8];

        if (split(line, f, 8) != 6)
            fail_msg("not 6 fields: %s", line);
        if (strcmp(f[5], "educational level") == 0)
            check_vdex_row(v, f, &checked);
    }
    assert_true(checked >= 50);
    vocab_free(v);
    free(text);
    free(path);
}

/* The KIM list's concepts <level_N> with "ISCED 2011, Level N": the code
 * agrees and the English and German preferred labels find our pivot N. */
static void check_kim_concept(const struct vocab *v, const char *block,
                              size_t *checked)
{
    char name[32], tag[64], label[256];
    const char *p;
    int n;

    if (sscanf(block, "<level_%31[0-9]>", name) != 1 ||
        strstr(block, "\"ISCED 2011, Level ") == NULL)
        return;
    snprintf(tag, sizeof(tag), "\"ISCED 2011, Level %s\"", name);
    if (strstr(block, tag) == NULL)
        fail_msg("KIM level_%s has another ISCED level", name);
    n = vocab_pivot_level(name);
    assert_true(n >= 0);
    assert_non_null(vocab_find(v, "isced-2011", VOCAB_LEVEL, name));

    p = strstr(block, "skos:prefLabel \"");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "skos:prefLabel \"%255[^\"]\"@en", label), 1);
    if (vocab_find_label(v, "isced-2011", VOCAB_LEVEL, "en", label) !=
        vocab_find(v, "isced-2011", VOCAB_LEVEL, name))
        fail_msg("KIM \"%s\"@en is not our level %s", label, name);
    p = strstr(p, "@en, \"");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "@en, \"%255[^\"]\"@de", label), 1);
    if (vocab_find_label(v, "isced-2011", VOCAB_LEVEL, "de", label) !=
        vocab_find(v, "isced-2011", VOCAB_LEVEL, name))
        fail_msg("KIM \"%s\"@de is not our level %s", label, name);
    (*checked)++;
}

static void test_shared_kim_isced(void **state)
{
    char *path =
        testutil_shared_or_skip("vocab/kim-educationalLevel-isced.ttl");
    char *text = testutil_read(path, NULL);
    struct vocab *v = shipped();
    size_t checked = 0;

    assert_non_null(text);
    for (char *p = strstr(text, "\n<level_"); p != NULL;
         p = strstr(p + 1, "\n<level_")) {
        char *end = strstr(p + 1, "\n\n");

        if (end != NULL)
            *end = '\0';
        check_kim_concept(v, p + 1, &checked);
        if (end == NULL)
            break;
        *end = '\n';
    }
    assert_int_equal(checked, 9);
    vocab_free(v);
    free(text);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_file_loads_and_maps),
        cmocka_unit_test(test_flemish_and_dutch_primary),
        cmocka_unit_test(test_second_stage_and_havo4),
        cmocka_unit_test(test_higher_education_and_subjects),
        cmocka_unit_test(test_national_concept_ids),
        cmocka_unit_test(test_unmapped_term),
        cmocka_unit_test(test_labels_in_each_language),
        cmocka_unit_test(test_age_range),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_bad_folder),
        cmocka_unit_test(test_shared_vdex_levels),
        cmocka_unit_test(test_shared_kim_isced),
    };

    log_set_level(LOG_LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
