/*
 * Tests of node/licence: the statements of cases B13 (CC URL variants) and
 * B14 (free text), the strings that must stay unknown, every jurisdiction
 * and NL-LOM code, URL round trips, the sharing gate, and the licences of
 * the real catalogues in ../shared/data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/error.h"
#include "node/licence.h"
#include "testutil.h"

struct expect {
    const char *text;
    const char *id;
    unsigned flags;
};

static void check(const char *text, const char *id, unsigned flags)
{
    struct licence lic;

    assert_int_equal(licence_normalise(&lic, text), 0);
    if (strcmp(lic.id, id) != 0 || lic.flags != flags)
        fail_msg("\"%s\": got %s flags %#x, want %s flags %#x", text, lic.id,
                 lic.flags, id, flags);
}

static void check_all(const struct expect *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check(e[i].text, e[i].id, e[i].flags);
}

#define CHECK_ALL(table) check_all(table, sizeof(table) / sizeof(table[0]))
#define U LICENCE_UNKNOWN

static void test_b13_url_variants(void **state)
{
    static const struct expect b13[] = {
        {"https://creativecommons.org/licenses/by-nc-sa/4.0/",
         "CC-BY-NC-SA-4.0", 0},
        {"http://creativecommons.org/licenses/by-nc-sa/4.0", "CC-BY-NC-SA-4.0",
         0},
        {"https://creativecommons.org/licenses/by-nc-sa/4.0/deed.nl",
         "CC-BY-NC-SA-4.0", 0},
        {"https://creativecommons.org/licenses/by-nc-sa/4.0/deed.nl/",
         "CC-BY-NC-SA-4.0", 0},
        {"http://www.creativecommons.org/licenses/by-nc-sa/4.0/legalcode.de",
         "CC-BY-NC-SA-4.0", 0},
        {"HTTPS://CreativeCommons.org/licenses/by-nc-sa/4.0/?ref=x#top",
         "CC-BY-NC-SA-4.0", 0},
        {"https://creativecommons.org/licenses/by/3.0/nl/", "CC-BY-3.0-NL", 0},
        {"https://creativecommons.org/licenses/by/3.0/us/deed.en",
         "CC-BY-3.0-US", 0},
        {"https://creativecommons.org/licenses/by-sa/3.0/de/legalcode",
         "CC-BY-SA-3.0-DE", 0},
        {"https://creativecommons.org/publicdomain/zero/1.0/", "CC0-1.0", 0},
        {"https://creativecommons.org/licenses/cc0/1.0/", "CC0-1.0",
         LICENCE_NONCANONICAL},
        {"https://creativecommons.org/publicdomain/mark/1.0/", LICENCE_PDM, 0},
        {"https://creativecommons.org/licenses/by-nc-sa/", U,
         LICENCE_NO_VERSION},
        {"https://creativecommons.org/licenses/by-nc-sa/5.0/", U, 0},
        {"https://creativecommons.org/licenses/by-nd-sa/4.0/", U, 0},
        {"https://cc.example.org/creativecommons.org/licenses/by/4.0/", U, 0},
    };

    CHECK_ALL(b13);
}

static void test_b14_free_text(void **state)
{
    static const struct expect b14[] = {
        {"CC BY-NC-SA 4.0", "CC-BY-NC-SA-4.0", 0},
        {"CC-BY-NC-SA-4.0", "CC-BY-NC-SA-4.0", 0},
        {"cc by nc sa 4.0", "CC-BY-NC-SA-4.0", 0},
        {"CC BY-SA-NC 4.0", "CC-BY-NC-SA-4.0", 0},
        {"Creative Commons Naamsvermelding-NietCommercieel-GelijkDelen 4.0 "
         "Internationaal",
         "CC-BY-NC-SA-4.0", LICENCE_ALIAS},
        {"CC BY-NC-SA", U, LICENCE_NO_VERSION},
        {"Commercial", U, 0},
        {"Non-commercial use only", U, 0},
        {"All rights reserved", LICENCE_ALL_RIGHTS_RESERVED, 0},
        {"\xc2\xa9 2023 Example School. "
         "https://creativecommons.org/licenses/by/4.0/",
         "CC-BY-4.0", LICENCE_PROSE},
        {"CC BY 4.0; images CC BY-ND 4.0", "CC-BY-ND-4.0",
         LICENCE_MIXED | LICENCE_PROSE},
        {"https://creativecommons.org/licenses/by/4.0/", "CC-BY-4.0", 0},
        {"", U, 0},
    };

    CHECK_ALL(b14);
}

/* The version-less reading keeps what was meant, for the user to see. */
static void test_no_version_keeps_family(void **state)
{
    struct licence lic;

    assert_int_equal(licence_normalise(&lic, "CC BY-NC-SA"), 0);
    assert_string_equal(lic.id, LICENCE_UNKNOWN);
    assert_string_equal(lic.family, "CC BY-NC-SA");
    assert_int_equal(
        licence_normalise(&lic, "https://creativecommons.org/licenses/by-nd/"),
        0);
    assert_string_equal(lic.family, "CC BY-ND");
    assert_int_equal(licence_normalise(&lic, "CC0"), 0);
    assert_string_equal(lic.family, "CC0");
    assert_int_equal(lic.flags, LICENCE_NO_VERSION);
    assert_int_equal(licence_normalise(&lic, "CC BY 3.0 NL"), 0);
    assert_string_equal(lic.family, "CC BY");
    assert_int_equal(
        licence_normalise(&lic, "http://spdx.org/licenses/CC-BY-SA-4.0"), 0);
    assert_string_equal(lic.family, "CC BY-SA");
    assert_int_equal(licence_normalise(&lic, "Commercial"), 0);
    assert_string_equal(lic.family, "");
}

static void test_must_stay_unknown(void **state)
{
    static const char *const texts[] = {
        "Commercial",
        "Non-commercial use only",
        "non commercial",
        "CC BY 5.0",
        "CC BY-ND-SA 4.0",
        "CC NC-SA 4.0",
        "BY-NC 4.0",
        "Attribution 4.0",
        "CC BY 4",
        "CC BY-BY 4.0",
        "CC BY 2.1",
        "CC BY 4.0 Unported",
        "CC BY 3.0 International",
        "CC BY 3.0 JP",
        "CC BY 4.0 NL",
        "CC BY 2.0 US license",
        "CC0 2.0",
        "PDM 2.0",
        "Creative Commons",
        "Public Domain",
        "Publiek Domein",
        "GFDL",
        "GFDL-1.4",
        "Free Documentation License (GNU)",
        "no",
        "unknown",
        "Standard Youtube",
        "https://example.org/cc/by/4.0",
        "https://creativecommons.org/",
        "https://creativecommons.org/licenses/",
        "https://creativecommons.org/licenses/by/4.0/nl/",
        "https://creativecommons.org/licenses/by/2.1/",
        "https://creativecommons.org/licenses/by/3.0/xx/",
        "https://creativecommons.org/licenses/by//4.0/",
        "https://creativecommons.org/licenses/by/4.0/extra/page",
        "https://creativecommons.org:8080/licenses/by/4.0/",
        "https://creativecommons.org.example.com/licenses/by/4.0/",
        "https://user@creativecommons.org/licenses/by/4.0/",
        "https://evilcreativecommons.org/licenses/by/4.0/",
        "http://spdx.org/licenses/MIT",
        "http://purl.org/ontology/modalia#"
        "ProprietaryLicense",
        "LicenseRef-unknown",
        "   \t\n ",
    };
    struct licence lic;

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_int_equal(licence_normalise(&lic, texts[i]), 0);
        if (strcmp(lic.id, LICENCE_UNKNOWN) != 0)
            fail_msg("\"%s\" read as %s", texts[i], lic.id);
    }
}

static void test_case_and_space_variants(void **state)
{
    static const struct expect variants[] = {
        {"  CC BY-SA 4.0\n", "CC-BY-SA-4.0", 0},
        {"cc-by-sa-4.0", "CC-BY-SA-4.0", 0},
        {"Cc By-Sa 4.0", "CC-BY-SA-4.0", 0},
        {"CC\tBY\tSA\t4.0", "CC-BY-SA-4.0", 0},
        {"CC\xc2\xa0"
         "BY\xe2\x80\x93SA 4.0",
         "CC-BY-SA-4.0", 0},
        {"CC BY_SA 4.0", "CC-BY-SA-4.0", 0},
        {"CC BY-SA 4.0 International", "CC-BY-SA-4.0", 0},
        {"Creative Commons Attribution-ShareAlike 4.0 International License",
         "CC-BY-SA-4.0", 0},
        {"CC Attribution-NonCommercial-ShareAlike 4.0 International license",
         "CC-BY-NC-SA-4.0", 0},
        {"Creative Commons Attribution-NoDerivatives 4.0 International "
         "Public License",
         "CC-BY-ND-4.0", 0},
        {"Creative Commons Attribution-NonCommercial-NoDerivs 3.0 Unported",
         "CC-BY-NC-ND-3.0", 0},
        {"Creative Commons Attribution 2.5 Generic", "CC-BY-2.5", 0},
        {"License: CC BY 4.0", "CC-BY-4.0", 0},
        {"CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)",
         "CC-BY-4.0", 0},
        {"CC BY-SA 4.0 (CC BY-SA)", "CC-BY-SA-4.0", 0},
        {"CC0", U, LICENCE_NO_VERSION},
        {"CC0 1.0", "CC0-1.0", 0},
        {"cc0-1.0", "CC0-1.0", 0},
        {"CC0 1.0 Universal (CC0 1.0) Public Domain Dedication", "CC0-1.0", 0},
        {"CC0 1.0 Universeel (CC0 1.0) Publiek Domein Verklaring", "CC0-1.0",
         LICENCE_ALIAS},
        {"Public Domain Mark 1.0", LICENCE_PDM, 0},
        {"Publiek Domein Merk 1.0", LICENCE_PDM, LICENCE_ALIAS},
        {"Public Domain Mark", U, LICENCE_NO_VERSION},
        {"licenseref-pdm-1.0", LICENCE_PDM, 0},
        {"gfdl-1.3", "GFDL-1.3", 0},
        {"GFDL-1.3-or-later", "GFDL-1.3-or-later", 0},
        {"GFDL-1.2-no-invariants-only", "GFDL-1.2-no-invariants-only", 0},
        {"http://spdx.org/licenses/CC-BY-SA-4.0", "CC-BY-SA-4.0", 0},
        {"https://spdx.org/licenses/GFDL-1.3-only.html", "GFDL-1.3-only", 0},
        {"see creativecommons.org/licenses/by/4.0/.", "CC-BY-4.0",
         LICENCE_PROSE},
        {"Licensed under CC BY-NC 4.0 in this course", "CC-BY-NC-4.0",
         LICENCE_PROSE},
    };

    CHECK_ALL(variants);
}

static void test_dutch_and_flemish_aliases(void **state)
{
    static const struct expect aliases[] = {
        {"Creative Commons Naamsvermelding 4.0 Internationaal", "CC-BY-4.0",
         LICENCE_ALIAS},
        {"CC Naamsvermelding-Niet-commercieel 4.0", "CC-BY-NC-4.0",
         LICENCE_ALIAS},
        {"Naamsvermelding-GeenAfgeleideWerken 4.0", U, 0},
        {"Creative Commons Naamsvermelding-NietCommercieel-"
         "GeenAfgeleideWerken 4.0 Internationaal Licentie",
         "CC-BY-NC-ND-4.0", LICENCE_ALIAS},
        {"Creative Commons Naamsvermelding-Gelijk Delen 3.0 Nederland",
         "CC-BY-SA-3.0-NL", LICENCE_ALIAS},
        {"Creative Commons Naamsvermelding-NietCommercieel 2.0 Belgi\xc3\xab",
         "CC-BY-NC-2.0-BE", LICENCE_ALIAS},
        {"Creative Commons Naamsvermelding-Geen Afgeleide Werken 3.0 "
         "Internationaal",
         U, LICENCE_ALIAS},
        {"CC Naamsvermelding-GelijkDelen", U,
         LICENCE_ALIAS | LICENCE_NO_VERSION},
        {"Alle rechten voorbehouden", LICENCE_ALL_RIGHTS_RESERVED,
         LICENCE_ALIAS},
        {"Dit werk valt onder een Creative Commons Naamsvermelding 4.0 "
         "Internationaal-licentie.",
         "CC-BY-4.0", LICENCE_ALIAS | LICENCE_PROSE},
    };

    CHECK_ALL(aliases);
}

static void test_all_rights_reserved(void **state)
{
    static const struct expect reserved[] = {
        {"All rights reserved", LICENCE_ALL_RIGHTS_RESERVED, 0},
        {"ALL RIGHTS RESERVED.", LICENCE_ALL_RIGHTS_RESERVED, 0},
        {"yes", LICENCE_ALL_RIGHTS_RESERVED, 0},
        {"Copyright", LICENCE_ALL_RIGHTS_RESERVED, 0},
        {"LicenseRef-all-rights-reserved", LICENCE_ALL_RIGHTS_RESERVED, 0},
        {"\xc2\xa9 2023 School. All rights reserved.",
         LICENCE_ALL_RIGHTS_RESERVED, LICENCE_PROSE},
        {"CC BY 4.0; logo: all rights reserved", LICENCE_ALL_RIGHTS_RESERVED,
         LICENCE_MIXED | LICENCE_PROSE},
    };

    CHECK_ALL(reserved);
}

static void test_mixed_statements(void **state)
{
    static const struct expect mixed[] = {
        {"CC BY 4.0; CC BY-SA 4.0", "CC-BY-SA-4.0", LICENCE_MIXED},
        {"CC BY-NC 4.0; CC BY-NC-SA 4.0", "CC-BY-NC-SA-4.0", LICENCE_MIXED},
        /* neither covers the other: nothing governs */
        {"CC BY-NC 4.0; CC BY-ND 4.0", U, LICENCE_MIXED},
        {"CC BY 4.0; images CC BY-NC", U,
         LICENCE_MIXED | LICENCE_NO_VERSION | LICENCE_PROSE},
        {"CC0 1.0, https://creativecommons.org/licenses/by-nc/4.0/",
         "CC-BY-NC-4.0", LICENCE_MIXED},
        {"https://creativecommons.org/licenses/by/4.0/ "
         "https://creativecommons.org/licenses/by/4.0/deed.nl",
         "CC-BY-4.0", 0},
    };

    CHECK_ALL(mixed);
}

/* Every jurisdiction of every version, as URL, SPDX id and name. */
static void test_each_jurisdiction(void **state)
{
    static const struct expect ports[] = {
        {"https://creativecommons.org/licenses/by/1.0/nl/", "CC-BY-1.0-NL", 0},
        {"https://creativecommons.org/licenses/by-nd-nc/1.0/fi/",
         "CC-BY-NC-ND-1.0-FI", 0},
        {"https://creativecommons.org/licenses/by-nc/2.0/be/",
         "CC-BY-NC-2.0-BE", 0},
        {"https://creativecommons.org/licenses/by-sa/2.0/uk/",
         "CC-BY-SA-2.0-UK", 0},
        {"https://creativecommons.org/licenses/by/2.1/jp/", "CC-BY-2.1-JP", 0},
        {"https://creativecommons.org/licenses/by-nc-nd/2.5/scotland/",
         "CC-BY-NC-ND-2.5-SCOTLAND", 0},
        {"https://creativecommons.org/licenses/by/3.0/igo/deed.fr",
         "CC-BY-3.0-IGO", 0},
        {"https://creativecommons.org/licenses/by-nc-sa/3.0/fr/",
         "CC-BY-NC-SA-3.0-FR", 0},
        {"https://creativecommons.org/licenses/by/3.0/at/", "CC-BY-3.0-AT", 0},
        {"CC-BY-NC-SA-3.0-NL", "CC-BY-NC-SA-3.0-NL", 0},
        {"CC BY 3.0 NL", "CC-BY-3.0-NL", 0},
        {"CC BY 3.0 Netherlands", "CC-BY-3.0-NL", 0},
        {"CC BY-SA 3.0 DE license", "CC-BY-SA-3.0-DE", 0},
        {"CC BY-SA 3.0 Deutschland", "CC-BY-SA-3.0-DE", 0},
        {"CC BY 3.0 (US)", "CC-BY-3.0-US", 0},
        {"CC BY 3.0 in the Netherlands", "CC-BY-3.0", LICENCE_PROSE},
    };
    struct licence lic;
    char text[96];
    size_t count = 0;

    CHECK_ALL(ports);

    /* the catalogue: every ported id, written with spaces */
    for (size_t i = 0; licence_id(i) != NULL; i++) {
        const char *id = licence_id(i);
        const char *last = id + strlen(id) - 1;

        if (strncmp(id, "CC-", 3) != 0 || *last < 'A' || *last > 'Z')
            continue;
        snprintf(text, sizeof(text), "%s", id);
        for (char *c = text; *c != '\0'; c++)
            *c = *c == '-' ? ' ' : *c;
        assert_int_equal(licence_normalise(&lic, text), 0);
        assert_string_equal(lic.id, id);
        assert_int_equal(lic.flags, 0);
        count++;
    }
    assert_true(count > 400);
}

static void test_nl_lom_codes(void **state)
{
    static const struct expect codes[] = {
        {"cc-by-30", "CC-BY-3.0", 0},
        {"cc-by-sa-40", "CC-BY-SA-4.0", 0},
        {"cc-by-nc-nd-25", "CC-BY-NC-ND-2.5", 0},
        {"cc-by-nc-sa-30", "CC-BY-NC-SA-3.0", 0},
        {"cc-by-nd-20", "CC-BY-ND-2.0", 0},
        {"cc-by-nc-10", "CC-BY-NC-1.0", 0},
        {"cc-by-40", "CC-BY-4.0", 0},
        {"CC-BY-NC-40", "CC-BY-NC-4.0", 0},
        {"cc0-10", "CC0-1.0", 0},
        {"pdm-10", LICENCE_PDM, 0},
        {"cc-by-50", U, 0},
        {"cc-by", U, LICENCE_NO_VERSION},
        {"yes", LICENCE_ALL_RIGHTS_RESERVED, 0},
        {"no", U, 0},
    };

    CHECK_ALL(codes);
}

/* The rights codes of the real NL-LOM records: each is a licence or
 * "yes", never unknown. */
static void test_nl_lom_codes_in_real_records(void **state)
{
    static const char *const files[] = {"oai/edurep-oaipmh.initial.0.xml",
                                        "oai/edurep-oaipmh.initial.1.xml",
                                        "lom/nl-lom-aanbevolen.xml"};
    size_t seen = 0;

    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char *path = testutil_shared_or_skip(files[f]);
        char *xml;
        const char *p;

        xml = testutil_read(path, NULL);
        assert_non_null(xml);
        for (p = strstr(xml, "copyrightandotherrestrictions>"); p != NULL;
             p = strstr(p + 1, "copyrightandotherrestrictions>")) {
            const char *value = strstr(p, "value>");
            const char *start;
            const char *end;
            char code[64];
            struct licence lic;
            const char *open = p;

            while (open > xml && *open != '<')
                open--;
            if (open[1] == '/' || value == NULL)
                continue;
            start = strstr(value, "langstring");
            start = start != NULL ? strchr(start, '>') : NULL;
            end = start != NULL ? strchr(start, '<') : NULL;
            if (end == NULL || end - start - 1 >= (long)sizeof(code))
                continue;
            snprintf(code, sizeof(code), "%.*s", (int)(end - start - 1),
                     start + 1);
            assert_int_equal(licence_normalise(&lic, code), 0);
            if (strcmp(lic.id, LICENCE_UNKNOWN) == 0 || lic.flags != 0)
                fail_msg("%s: code \"%s\" read as %s", files[f], code, lic.id);
            seen++;
        }
        free(xml);
        free(path);
    }
    assert_true(seen >= 5);
}

/* The licence column of a real textbook catalogue: versioned names are
 * read exactly, version-less ones say so, nothing is guessed. */
static void test_textbook_catalogue(void **state)
{
    char *path = testutil_shared_or_skip(
        "bulk/open-textbooks/open_textbook_library.tsv");
    char *tsv;
    char *line;
    char *save = NULL;
    size_t rows = 0;

    tsv = testutil_read(path, NULL);
    assert_non_null(tsv);
    for (line = strtok_r(tsv, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *field = line;
        struct licence lic;

        for (int i = 0; i < 4 && field != NULL; i++) {
            field = strchr(field, '\t');
            field = field != NULL ? field + 1 : NULL;
        }
        if (field == NULL || rows++ == 0)
            continue;
        field[strcspn(field, "\t")] = '\0';
        assert_int_equal(licence_normalise(&lic, field), 0);
        if (strchr(field, '.') != NULL)
            assert_int_equal(strncmp(lic.id, "CC", 2), 0);
        else if (strncmp(field, "CC", 2) == 0)
            assert_int_equal(lic.flags, LICENCE_NO_VERSION);
        else
            assert_string_equal(lic.id, LICENCE_UNKNOWN);
        assert_int_equal(lic.flags & (LICENCE_MIXED | LICENCE_PROSE), 0);
    }
    assert_true(rows > 100);
    free(tsv);
    free(path);
}

static void test_url_round_trip(void **state)
{
    struct licence lic;
    size_t with_url = 0;

    for (size_t i = 0; licence_id(i) != NULL; i++) {
        const char *id = licence_id(i);
        const char *url = licence_url(id);

        assert_true(licence_is_canonical(id));
        assert_int_equal(licence_normalise(&lic, id), 0);
        if (strcmp(lic.id, id) != 0 || lic.flags != 0)
            fail_msg("id %s read as %s flags %#x", id, lic.id, lic.flags);
        if (url == NULL)
            continue;
        with_url++;
        assert_int_equal(licence_normalise(&lic, url), 0);
        if (strcmp(lic.id, id) != 0 || lic.flags != 0)
            fail_msg("url %s read as %s, not %s", url, lic.id, id);
    }
    assert_true(with_url > 600);
}

static void test_canonical_urls(void **state)
{
    assert_string_equal(licence_url("CC-BY-SA-4.0"),
                        "https://creativecommons.org/licenses/by-sa/4.0/");
    assert_string_equal(licence_url("CC-BY-3.0-NL"),
                        "https://creativecommons.org/licenses/by/3.0/nl/");
    assert_string_equal(licence_url("CC-BY-NC-ND-1.0"),
                        "https://creativecommons.org/licenses/by-nd-nc/1.0/");
    assert_string_equal(licence_url("CC0-1.0"),
                        "https://creativecommons.org/publicdomain/zero/1.0/");
    assert_string_equal(licence_url(LICENCE_PDM),
                        "https://creativecommons.org/publicdomain/mark/1.0/");
    assert_string_equal(licence_url("GFDL-1.3-or-later"),
                        "https://spdx.org/licenses/GFDL-1.3-or-later.html");
    assert_null(licence_url(LICENCE_UNKNOWN));
    assert_null(licence_url(LICENCE_ALL_RIGHTS_RESERVED));
    assert_null(licence_url("cc-by-4.0"));
    assert_null(licence_url(NULL));
}

static void test_is_canonical(void **state)
{
    assert_true(licence_is_canonical("CC-BY-NC-SA-3.0-NL"));
    assert_true(licence_is_canonical("CC-BY-2.5-SCOTLAND"));
    assert_true(licence_is_canonical(LICENCE_UNKNOWN));
    assert_true(licence_is_canonical(LICENCE_ALL_RIGHTS_RESERVED));
    assert_true(licence_is_canonical(LICENCE_PDM));
    assert_false(licence_is_canonical("CC-BY-3.0-BE"));
    assert_false(licence_is_canonical("CC-BY-4.0-NL"));
    assert_false(licence_is_canonical("cc-by-4.0"));
    assert_false(licence_is_canonical("CC BY 4.0"));
    assert_false(licence_is_canonical("PDM-1.0"));
    assert_false(licence_is_canonical(""));
    assert_false(licence_is_canonical(NULL));
}

static void test_allows_per_family_and_use(void **state)
{
    /* id, then allowed for: (private, no adapt) (commercial) (adapts)
     * (commercial and adapts) */
    static const struct {
        const char *id;
        int allows[4];
    } gate[] = {
        {"CC-BY-4.0", {1, 1, 1, 1}},
        {"CC-BY-SA-3.0-NL", {1, 1, 1, 1}},
        {"CC-BY-NC-4.0", {1, 0, 1, 0}},
        {"CC-BY-NC-SA-2.5-SCOTLAND", {1, 0, 1, 0}},
        {"CC-BY-ND-4.0", {1, 1, 0, 0}},
        {"CC-BY-NC-ND-1.0", {1, 0, 0, 0}},
        {"CC0-1.0", {1, 1, 1, 1}},
        {LICENCE_PDM, {1, 1, 1, 1}},
        {"GFDL-1.3-or-later", {1, 1, 1, 1}},
        {LICENCE_UNKNOWN, {0, 0, 0, 0}},
        {LICENCE_ALL_RIGHTS_RESERVED, {0, 0, 0, 0}},
        {"LicenseRef-anything", {0, 0, 0, 0}},
        {"cc-by-4.0", {0, 0, 0, 0}},
        {"", {0, 0, 0, 0}},
    };

    for (size_t i = 0; i < sizeof(gate) / sizeof(gate[0]); i++)
        for (int use = 0; use < 4; use++)
            if (licence_allows(gate[i].id, use & 1, use >> 1) !=
                gate[i].allows[use])
                fail_msg("%s commercial=%d adapts=%d", gate[i].id, use & 1,
                         use >> 1);
    assert_int_equal(licence_allows(NULL, 0, 0), 0);
}

static void test_terms(void **state)
{
    assert_int_equal(licence_terms("CC-BY-NC-SA-4.0"),
                     LICENCE_TERM_BY | LICENCE_TERM_NC | LICENCE_TERM_SA);
    assert_int_equal(licence_terms("CC-BY-NC-ND-3.0-DE"),
                     LICENCE_TERM_BY | LICENCE_TERM_NC | LICENCE_TERM_ND);
    assert_int_equal(licence_terms("CC0-1.0"), 0);
    assert_int_equal(licence_terms(LICENCE_UNKNOWN), LICENCE_TERM_RESERVED);
    assert_int_equal(licence_terms("nonsense"), LICENCE_TERM_RESERVED);
}

static void test_flag_names(void **state)
{
    const char *names[5];

    assert_int_equal(licence_flag_names(names, 5, 0), 0);
    assert_int_equal(licence_flag_names(names, 5, 0x1f), 5);
    assert_string_equal(names[0], "noncanonical-path");
    assert_string_equal(names[1], "no-version");
    assert_string_equal(names[2], "mixed");
    assert_string_equal(names[3], "alias");
    assert_string_equal(names[4], "prose");
    assert_int_equal(
        licence_flag_names(names, 1, LICENCE_MIXED | LICENCE_PROSE), 2);
    assert_string_equal(names[0], "mixed");
    assert_int_equal(licence_flag_names(NULL, 0, LICENCE_ALIAS), 1);
    assert_int_equal(licence_flag_names(names, 5, 1u << 7), 0);
}

static void test_null_and_hostile_input(void **state)
{
    struct licence lic;
    char *big = malloc(100001);

    assert_int_equal(licence_normalise(NULL, "CC BY 4.0"), OER_EINVAL);
    memset(&lic, 'x', sizeof(lic));
    assert_int_equal(licence_normalise(&lic, NULL), OER_EINVAL);
    assert_string_equal(lic.id, LICENCE_UNKNOWN);

    /* not UTF-8: read as bytes */
    check("CC BY 4.0 \xff\xfe", "CC-BY-4.0", LICENCE_PROSE);
    check("\xff", U, 0);

    /* long text, many mentions */
    assert_non_null(big);
    for (size_t i = 0; i < 100000; i++)
        big[i] = "cc by 4.0 "[i % 10];
    big[100000] = '\0';
    check(big, "CC-BY-4.0", 0);
    for (size_t i = 0; i < 100000; i++)
        big[i] = "cc by 4.0 cc by-nc 3.0 "[i % 23];
    big[100000 - 100000 % 23] = '\0';
    check(big, "CC-BY-NC-3.0", LICENCE_MIXED);
    memset(big, 'h', 100000);
    check(big, U, 0);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b13_url_variants),
        cmocka_unit_test(test_b14_free_text),
        cmocka_unit_test(test_no_version_keeps_family),
        cmocka_unit_test(test_must_stay_unknown),
        cmocka_unit_test(test_case_and_space_variants),
        cmocka_unit_test(test_dutch_and_flemish_aliases),
        cmocka_unit_test(test_all_rights_reserved),
        cmocka_unit_test(test_mixed_statements),
        cmocka_unit_test(test_each_jurisdiction),
        cmocka_unit_test(test_nl_lom_codes),
        cmocka_unit_test(test_nl_lom_codes_in_real_records),
        cmocka_unit_test(test_textbook_catalogue),
        cmocka_unit_test(test_url_round_trip),
        cmocka_unit_test(test_canonical_urls),
        cmocka_unit_test(test_is_canonical),
        cmocka_unit_test(test_allows_per_family_and_use),
        cmocka_unit_test(test_terms),
        cmocka_unit_test(test_flag_names),
        cmocka_unit_test(test_null_and_hostile_input),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
