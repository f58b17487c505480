/*
 * licence: licence statements to canonical ids, and the licence gate of
 * file sharing.  Everything is read through the tables at the top of this
 * file: Creative Commons versions with the jurisdictions of their real
 * ports, element sets, the words of names (English, Dutch and Flemish),
 * and the phrases of all-rights-reserved statements.  A statement is read
 * in two passes over a case-folded copy: URLs first (then blanked), then
 * the remaining words as tokens.  Nothing is guessed: a mention that does
 * not fit the tables exactly reads as LicenseRef-unknown.
 */
#include "node/licence.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <utf8proc.h>

#include "node/error.h"
#include "node/log.h"

#define BY LICENCE_TERM_BY
#define NC LICENCE_TERM_NC
#define ND LICENCE_TERM_ND
#define SA LICENCE_TERM_SA

/* ---- Creative Commons versions and their ports ---- */

enum { V10, V20, V21, V25, V30, V40, VERSION_COUNT };

/* clang-format off */

/* Jurisdiction codes of the ported licences of each version, as in their
 * URLs (/licenses/by/3.0/nl/).  4.0 has no ports. */
static const char *const ports_10[] = {"fi", "il", "nl", NULL};
static const char *const ports_20[] = {
    "at", "au", "be", "br", "ca", "cl", "de", "es", "fr", "hr",
    "it", "jp", "kr", "nl", "pl", "tw", "uk", "za", NULL};
static const char *const ports_21[] = {"au", "ca", "es", "jp", NULL};
static const char *const ports_25[] = {
    "ar", "au", "bg", "br", "ca", "ch", "cn", "co", "dk", "es",
    "hr", "hu", "il", "in", "it", "mk", "mt", "mx", "my", "nl",
    "pe", "pl", "pt", "scotland", "se", "si", "tw", "za", NULL};
static const char *const ports_30[] = {
    "am", "at", "au", "az", "br", "ca", "ch", "cl", "cn", "cr", "cz",
    "de", "ec", "ee", "eg", "es", "fr", "ge", "gr", "gt", "hk", "hr",
    "ie", "igo", "it", "lu", "nl", "no", "nz", "ph", "pl", "pr", "pt",
    "ro", "rs", "sg", "th", "tw", "ug", "us", "ve", "vn", "za", NULL};
static const char *const ports_40[] = {NULL};

static const struct cc_version {
    const char *number; /* as in URLs and SPDX ids: "3.0" */
    const char *code;   /* the NL-LOM spelling: "30" */
    int unported;       /* 0: only ported licences exist (2.1) */
    const char *const *ports;
} versions[VERSION_COUNT] = {
    [V10] = {"1.0", "10", 1, ports_10},
    [V20] = {"2.0", "20", 1, ports_20},
    [V21] = {"2.1", "21", 0, ports_21},
    [V25] = {"2.5", "25", 1, ports_25},
    [V30] = {"3.0", "30", 1, ports_30},
    [V40] = {"4.0", "40", 1, ports_40},
};

/* ---- element sets: one row per licence of a version ---- */

static const struct cc_set {
    unsigned terms;
    const char *name;    /* in SPDX ids and families: "BY-NC-SA" */
    const char *path;    /* in URLs: "by-nc-sa" */
    const char *path_10; /* the 1.0 URL, where it differs */
} sets[] = {
    {BY, "BY", "by", NULL},
    {BY | NC, "BY-NC", "by-nc", NULL},
    {BY | ND, "BY-ND", "by-nd", NULL},
    {BY | SA, "BY-SA", "by-sa", NULL},
    {BY | NC | SA, "BY-NC-SA", "by-nc-sa", NULL},
    {BY | NC | ND, "BY-NC-ND", "by-nc-nd", "by-nd-nc"},
};
#define SET_COUNT (sizeof(sets) / sizeof(sets[0]))

/* ---- the words of names, case-folded, one space between tokens ---- */

enum word_kind {
    W_ANCHOR,   /* starts a Creative Commons name */
    W_ELEMENT,  /* value: one LICENCE_TERM_* */
    W_SCOPE,    /* value: mask of the versions the word belongs to */
    W_PLACE,    /* place: the jurisdiction code the name stands for */
    W_FILLER,   /* "license": allowed after a name, and before one */
    W_CC0,      /* starts a CC0 name */
    W_CC0_TAIL, /* may follow a CC0 name */
    W_PDM,      /* starts a Public Domain Mark name */
    W_RESERVED  /* an all-rights-reserved statement */
};

#define VM(v) (1u << (v))

static const struct word {
    const char *phrase;
    enum word_kind kind;
    unsigned value;
    const char *place;
    int alias; /* Dutch or Flemish: sets LICENCE_ALIAS */
} words[] = {
    {"cc", W_ANCHOR, 0, NULL, 0},
    {"creative commons", W_ANCHOR, 0, NULL, 0},
    {"creativecommons", W_ANCHOR, 0, NULL, 0},

    {"by", W_ELEMENT, BY, NULL, 0},
    {"attribution", W_ELEMENT, BY, NULL, 0},
    {"naamsvermelding", W_ELEMENT, BY, NULL, 1},
    {"nc", W_ELEMENT, NC, NULL, 0},
    {"noncommercial", W_ELEMENT, NC, NULL, 0},
    {"non commercial", W_ELEMENT, NC, NULL, 0},
    {"nietcommercieel", W_ELEMENT, NC, NULL, 1},
    {"niet commercieel", W_ELEMENT, NC, NULL, 1},
    {"nd", W_ELEMENT, ND, NULL, 0},
    {"noderivs", W_ELEMENT, ND, NULL, 0},
    {"noderivatives", W_ELEMENT, ND, NULL, 0},
    {"no derivs", W_ELEMENT, ND, NULL, 0},
    {"no derivatives", W_ELEMENT, ND, NULL, 0},
    {"no derivative works", W_ELEMENT, ND, NULL, 0},
    {"geenafgeleidewerken", W_ELEMENT, ND, NULL, 1},
    {"geen afgeleide werken", W_ELEMENT, ND, NULL, 1},
    {"sa", W_ELEMENT, SA, NULL, 0},
    {"sharealike", W_ELEMENT, SA, NULL, 0},
    {"share alike", W_ELEMENT, SA, NULL, 0},
    {"gelijkdelen", W_ELEMENT, SA, NULL, 1},
    {"gelijk delen", W_ELEMENT, SA, NULL, 1},

    {"international", W_SCOPE, VM(V40), NULL, 0},
    {"internationaal", W_SCOPE, VM(V40), NULL, 1},
    {"unported", W_SCOPE, VM(V30), NULL, 0},
    {"generic", W_SCOPE, VM(V10) | VM(V20) | VM(V25), NULL, 0},

    {"netherlands", W_PLACE, 0, "nl", 0},
    {"nederland", W_PLACE, 0, "nl", 1},
    {"belgium", W_PLACE, 0, "be", 0},
    {"belgi\xc3\xab", W_PLACE, 0, "be", 1},
    {"belgie", W_PLACE, 0, "be", 1},
    {"germany", W_PLACE, 0, "de", 0},
    {"deutschland", W_PLACE, 0, "de", 0},
    {"austria", W_PLACE, 0, "at", 0},
    {"\xc3\xb6sterreich", W_PLACE, 0, "at", 0},
    {"france", W_PLACE, 0, "fr", 0},
    {"united states", W_PLACE, 0, "us", 0},

    {"license", W_FILLER, 0, NULL, 0},
    {"licence", W_FILLER, 0, NULL, 0},
    {"public license", W_FILLER, 0, NULL, 0},
    {"licentie", W_FILLER, 0, NULL, 1},
    {"lizenz", W_FILLER, 0, NULL, 0},

    {"cc0", W_CC0, 0, NULL, 0},
    {"universal", W_CC0_TAIL, 0, NULL, 0},
    {"universeel", W_CC0_TAIL, 0, NULL, 1},
    {"public domain dedication", W_CC0_TAIL, 0, NULL, 0},
    {"publiek domein verklaring", W_CC0_TAIL, 0, NULL, 1},
    {"publiekdomeinverklaring", W_CC0_TAIL, 0, NULL, 1},

    {"public domain mark", W_PDM, 0, NULL, 0},
    {"publiek domein merk", W_PDM, 0, NULL, 1},
    {"pdm", W_PDM, 0, NULL, 0},

    {"all rights reserved", W_RESERVED, 0, NULL, 0},
    {"alle rechten voorbehouden", W_RESERVED, 0, NULL, 1},
    {"alle rechte vorbehalten", W_RESERVED, 0, NULL, 0},
    {"tous droits r\xc3\xa9serv\xc3\xa9s", W_RESERVED, 0, NULL, 0},
};
#define WORD_COUNT (sizeof(words) / sizeof(words[0]))

/* Whole statements that are codes, not names (NL-LOM "yes": copyright
 * applies, no licence given). */
static const char *const reserved_codes[] = {
    "yes", "copyright", "copyrighted", NULL};

/* GNU FDL versions and SPDX suffixes: "GFDL-1.3-or-later". */
static const char *const gfdl_versions[] = {"1.1", "1.2", "1.3", NULL};
static const char *const gfdl_suffixes[] = {
    "", "-only", "-or-later", "-invariants-only", "-invariants-or-later",
    "-no-invariants-only", "-no-invariants-or-later", NULL};

/* clang-format on */

/* ---- the catalogue: every canonical id, built once ---- */

#define CATALOGUE_MAX 768

struct entry {
    char id[40];
    char url[80];    /* "" when the id has no URL */
    char family[24]; /* as in struct licence */
    unsigned terms;
};

static struct entry catalogue[CATALOGUE_MAX];
static size_t catalogue_len;
static pthread_once_t catalogue_once = PTHREAD_ONCE_INIT;

static void catalogue_add(const char *id, const char *url, const char *family,
                          unsigned terms)
{
    struct entry *e;

    if (catalogue_len == CATALOGUE_MAX)
        return; /* the test of the whole catalogue would show it */
    e = &catalogue[catalogue_len++];
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->url, sizeof(e->url), "%s", url != NULL ? url : "");
    snprintf(e->family, sizeof(e->family), "%s", family);
    e->terms = terms;
}

/* The SPDX id of a CC licence: "CC-BY-NC-SA-3.0-NL". */
static void cc_id(char *out, size_t cap, size_t set, int ver, const char *port)
{
    size_t len = (size_t)snprintf(out, cap, "CC-%s-%s", sets[set].name,
                                  versions[ver].number);

    if (port == NULL || len + 1 >= cap)
        return;
    out[len++] = '-';
    for (; *port != '\0' && len + 1 < cap; port++)
        out[len++] = (char)toupper((unsigned char)*port);
    out[len] = '\0';
}

static void cc_url(char *out, size_t cap, size_t set, int ver, const char *port)
{
    const char *path = sets[set].path;

    if (ver == V10 && sets[set].path_10 != NULL)
        path = sets[set].path_10;
    snprintf(out, cap, "https://creativecommons.org/licenses/%s/%s/%s%s", path,
             versions[ver].number, port != NULL ? port : "",
             port != NULL ? "/" : "");
}

static void catalogue_add_cc(size_t set, int ver, const char *port)
{
    char id[40];
    char url[80];
    char family[24];

    cc_id(id, sizeof(id), set, ver, port);
    cc_url(url, sizeof(url), set, ver, port);
    snprintf(family, sizeof(family), "CC %s", sets[set].name);
    catalogue_add(id, url, family, sets[set].terms);
}

static int entry_order(const void *a, const void *b)
{
    return strcasecmp(((const struct entry *)a)->id,
                      ((const struct entry *)b)->id);
}

static void on_catalogue_init(void)
{
    char id[40];
    char url[80];

    for (int v = 0; v < VERSION_COUNT; v++)
        for (size_t s = 0; s < SET_COUNT; s++) {
            if (versions[v].unported)
                catalogue_add_cc(s, v, NULL);
            for (size_t p = 0; versions[v].ports[p] != NULL; p++)
                catalogue_add_cc(s, v, versions[v].ports[p]);
        }
    catalogue_add("CC0-1.0",
                  "https://creativecommons.org/publicdomain/zero/1.0/", "CC0",
                  0);
    catalogue_add(LICENCE_PDM,
                  "https://creativecommons.org/publicdomain/mark/1.0/",
                  "Public Domain Mark", 0);
    for (size_t v = 0; gfdl_versions[v] != NULL; v++)
        for (size_t s = 0; gfdl_suffixes[s] != NULL; s++) {
            snprintf(id, sizeof(id), "GFDL-%s%s", gfdl_versions[v],
                     gfdl_suffixes[s]);
            snprintf(url, sizeof(url), "https://spdx.org/licenses/%s.html", id);
            catalogue_add(id, url, "", BY | SA);
        }
    catalogue_add(LICENCE_ALL_RIGHTS_RESERVED, NULL, "", LICENCE_TERM_RESERVED);
    catalogue_add(LICENCE_UNKNOWN, NULL, "", LICENCE_TERM_RESERVED);
    /* ids differ in more than case, as SPDX's do: searched by bisection */
    qsort(catalogue, catalogue_len, sizeof(catalogue[0]), entry_order);
}

/* The catalogue entry of id (exact, or ignoring ASCII case). */
static const struct entry *catalogue_find(const char *id, int anycase)
{
    struct entry key;
    const struct entry *e;

    pthread_once(&catalogue_once, on_catalogue_init);
    if (snprintf(key.id, sizeof(key.id), "%s", id) >= (int)sizeof(key.id))
        return NULL;
    e = bsearch(&key, catalogue, catalogue_len, sizeof(catalogue[0]),
                entry_order);
    return e != NULL && (anycase || strcmp(e->id, id) == 0) ? e : NULL;
}

/* ---- what one mention reads as ---- */

static void set_unknown(struct licence *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", LICENCE_UNKNOWN);
}

static void set_id(struct licence *out, const char *id, const char *family)
{
    set_unknown(out);
    snprintf(out->id, sizeof(out->id), "%s", id);
    snprintf(out->family, sizeof(out->family), "%s", family);
}

static void set_cc(struct licence *out, size_t set, int ver, const char *port)
{
    set_unknown(out);
    cc_id(out->id, sizeof(out->id), set, ver, port);
    snprintf(out->family, sizeof(out->family), "CC %s", sets[set].name);
}

/* A CC tool named without a version: unknown, but the family stays. */
static void set_no_version(struct licence *out, const char *family)
{
    set_unknown(out);
    snprintf(out->family, sizeof(out->family), "%s", family);
    out->flags = LICENCE_NO_VERSION;
}

static int set_of_terms(unsigned terms)
{
    for (size_t s = 0; s < SET_COUNT; s++)
        if (sets[s].terms == terms)
            return (int)s;
    return -1;
}

static int is_port(int ver, const char *code, size_t len)
{
    for (size_t p = 0; versions[ver].ports[p] != NULL; p++) {
        const char *port = versions[ver].ports[p];

        if (strlen(port) == len && memcmp(port, code, len) == 0)
            return 1;
    }
    return 0;
}

/* The static code of a port of any version, or NULL. */
static const char *any_port(const char *code, size_t len)
{
    for (int v = 0; v < VERSION_COUNT; v++)
        for (size_t p = 0; versions[v].ports[p] != NULL; p++) {
            const char *port = versions[v].ports[p];

            if (strlen(port) == len && memcmp(port, code, len) == 0)
                return port;
        }
    return NULL;
}

/* ---- the statement being read ---- */

#define MENTION_MAX 16

struct reading {
    struct licence found[MENTION_MAX];
    size_t count;
    int overflow; /* more mentions than fit: read as mixed, unknown */
    int prose;    /* words outside every mention */
};

static int same_reading(const struct licence *a, const struct licence *b)
{
    return strcmp(a->id, b->id) == 0 && strcmp(a->family, b->family) == 0;
}

/* Keep lic, once: a repeated mention only adds its flags. */
static void reading_add(struct reading *r, const struct licence *lic)
{
    for (size_t i = 0; i < r->count; i++)
        if (same_reading(&r->found[i], lic)) {
            r->found[i].flags |= lic->flags;
            return;
        }
    if (r->count == MENTION_MAX) {
        r->overflow = 1;
        return;
    }
    r->found[r->count++] = *lic;
}

/* ---- URLs: creativecommons.org paths and spdx.org pages ---- */

#define SEG_MAX 8

struct path {
    const char *seg[SEG_MAX];
    size_t len[SEG_MAX];
    size_t count;
};

/* Split "/licenses/by/4.0/" into its segments.  Returns -1 on an empty
 * segment (a trailing slash is fine) or too many of them. */
static int path_split(struct path *out, const char *p, size_t len)
{
    size_t i = 0;

    out->count = 0;
    if (len > 0 && p[0] == '/') {
        p++;
        len--;
    }
    if (len > 0 && p[len - 1] == '/')
        len--;
    while (len > 0 && i <= len) {
        size_t j = i;

        while (j < len && p[j] != '/')
            j++;
        if (j == i || out->count == SEG_MAX)
            return -1;
        out->seg[out->count] = p + i;
        out->len[out->count++] = j - i;
        i = j + 1;
    }
    return 0;
}

static int span_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

static int seg_is(const struct path *p, size_t k, const char *word)
{
    return k < p->count && span_is(p->seg[k], p->len[k], word);
}

/* "deed", "legalcode", "deed.nl", "legalcode.pt-br": a page of a tool. */
static int is_doc(const char *s, size_t len)
{
    static const char *const docs[] = {"deed", "legalcode", NULL};

    for (size_t d = 0; docs[d] != NULL; d++) {
        size_t n = strlen(docs[d]);

        if (len < n || memcmp(s, docs[d], n) != 0)
            continue;
        if (len == n)
            return 1;
        if (s[n] != '.' || len == n + 1 || len - n - 1 > 15)
            return 0;
        for (size_t i = n + 1; i < len; i++)
            if (!islower((unsigned char)s[i]) &&
                !isdigit((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
                return 0;
        return 1;
    }
    return 0;
}

/* Whether the segments from k on are at most one page of the tool. */
static int doc_rest(const struct path *p, size_t k)
{
    return k == p->count || (k + 1 == p->count && is_doc(p->seg[k], p->len[k]));
}

/* The element set of "by-nc-sa" (any order), or -1. */
static int set_of_path(const char *s, size_t len)
{
    static const struct {
        const char *code;
        unsigned term;
    } codes[] = {{"by", BY}, {"nc", NC}, {"nd", ND}, {"sa", SA}};
    unsigned terms = 0;
    size_t i = 0;

    if (len == 0 || s[len - 1] == '-')
        return -1;
    while (i < len) {
        size_t j = i;
        unsigned term = 0;

        while (j < len && s[j] != '-')
            j++;
        for (size_t c = 0; c < sizeof(codes) / sizeof(codes[0]); c++)
            if (span_is(s + i, j - i, codes[c].code))
                term = codes[c].term;
        if (term == 0 || (terms & term) != 0)
            return -1;
        terms |= term;
        i = j + 1;
    }
    return set_of_terms(terms);
}

static int version_of_number(const char *s, size_t len)
{
    for (int v = 0; v < VERSION_COUNT; v++)
        if (span_is(s, len, versions[v].number))
            return v;
    return -1;
}

static void set_no_version_set(struct licence *out, int set)
{
    char family[32];

    snprintf(family, sizeof(family), "CC %s", sets[set].name);
    set_no_version(out, family);
}

/* /publicdomain/zero/1.0/ and /publicdomain/mark/1.0/. */
static void read_public_domain(struct licence *out, const struct path *p)
{
    int zero = seg_is(p, 1, "zero");
    const char *family = zero ? "CC0" : "Public Domain Mark";

    if (!zero && !seg_is(p, 1, "mark"))
        return;
    if (doc_rest(p, 2))
        set_no_version(out, family);
    else if (seg_is(p, 2, "1.0") && doc_rest(p, 3))
        set_id(out, zero ? "CC0-1.0" : LICENCE_PDM, family);
}

/* A creativecommons.org path: /licenses/<set>/<version>/[<port>/][page] */
static void read_cc_path(struct licence *out, const struct path *p)
{
    const char *port = NULL;
    size_t k = 3;
    int set;
    int ver;

    set_unknown(out);
    if (seg_is(p, 0, "publicdomain")) {
        read_public_domain(out, p);
        return;
    }
    if (p->count < 2 || !seg_is(p, 0, "licenses"))
        return;
    if (seg_is(p, 1, "cc0")) {
        if (seg_is(p, 2, "1.0") && doc_rest(p, 3)) {
            set_id(out, "CC0-1.0", "CC0");
            out->flags = LICENCE_NONCANONICAL;
        }
        return;
    }

    set = set_of_path(p->seg[1], p->len[1]);
    if (set < 0)
        return;
    if (doc_rest(p, 2)) {
        set_no_version_set(out, set);
        return;
    }
    ver = version_of_number(p->seg[2], p->len[2]);
    if (ver < 0)
        return;
    if (k < p->count && !is_doc(p->seg[k], p->len[k])) {
        if (!is_port(ver, p->seg[k], p->len[k]))
            return;
        port = any_port(p->seg[k], p->len[k]);
        k++;
    }
    if ((port == NULL && !versions[ver].unported) || !doc_rest(p, k))
        return;
    set_cc(out, set, ver, port);
}

/* An spdx.org page: /licenses/<id>[.html|.json] of an id we know. */
static void read_spdx_path(struct licence *out, const struct path *p)
{
    static const char *const exts[] = {".html", ".json", NULL};
    const struct entry *e;
    char id[48];
    size_t len;

    set_unknown(out);
    if (p->count != 2 || !seg_is(p, 0, "licenses") || p->len[1] >= sizeof(id))
        return;
    len = p->len[1];
    for (size_t x = 0; exts[x] != NULL; x++) {
        size_t n = strlen(exts[x]);

        if (len > n && memcmp(p->seg[1] + len - n, exts[x], n) == 0)
            len -= n;
    }
    memcpy(id, p->seg[1], len);
    id[len] = '\0';
    e = catalogue_find(id, 1);
    if (e != NULL && strncmp(e->id, "LicenseRef-", 11) != 0)
        set_id(out, e->id, e->family);
}

enum host { HOST_OTHER, HOST_CC, HOST_SPDX };

/* Read the URL whose host starts at buf[host] and which ends at end. */
static enum host read_url(struct licence *out, const char *buf, size_t host,
                          size_t end)
{
    size_t host_end = host;
    size_t path_end;
    struct path p;
    enum host kind = HOST_OTHER;

    while (host_end < end && strchr("/?#", buf[host_end]) == NULL)
        host_end++;
    path_end = host_end;
    while (path_end < end && buf[path_end] != '?' && buf[path_end] != '#')
        path_end++;
    if (span_is(buf + host, host_end - host, "creativecommons.org") ||
        span_is(buf + host, host_end - host, "www.creativecommons.org"))
        kind = HOST_CC;
    else if (span_is(buf + host, host_end - host, "spdx.org") ||
             span_is(buf + host, host_end - host, "www.spdx.org"))
        kind = HOST_SPDX;

    set_unknown(out);
    if (kind == HOST_OTHER ||
        path_split(&p, buf + host_end, path_end - host_end) != 0)
        return kind;
    if (kind == HOST_CC)
        read_cc_path(out, &p);
    else
        read_spdx_path(out, &p);
    return kind;
}

/* Characters that can stand before a host name inside a longer URL. */
static int is_url_char(char c)
{
    return isalnum((unsigned char)c) ||
           (c != '\0' && strchr(".-_/:@~%+=&?#", c) != NULL);
}

/* Whether a URL starts at buf[i]; *host is where its host starts.  A URL
 * without a scheme counts only for the hosts we read, with a path. */
static int url_start(const char *buf, size_t i, size_t *host)
{
    static const char *const schemes[] = {"https://", "http://", NULL};
    static const char *const bare[] = {"creativecommons.org/",
                                       "www.creativecommons.org/", "spdx.org/",
                                       "www.spdx.org/", NULL};

    for (size_t s = 0; schemes[s] != NULL; s++)
        if (strncmp(buf + i, schemes[s], strlen(schemes[s])) == 0) {
            *host = i + strlen(schemes[s]);
            return 1;
        }
    if (i > 0 && is_url_char(buf[i - 1]))
        return 0;
    for (size_t b = 0; bare[b] != NULL; b++)
        if (strncmp(buf + i, bare[b], strlen(bare[b])) == 0) {
            *host = i;
            return 1;
        }
    return 0;
}

/* Where a URL that starts at buf[i] ends, without closing punctuation. */
static size_t url_end(const char *buf, size_t i)
{
    static const char stops[] = " \t\r\n\"'<>;,()[]{}|\\^`";
    size_t j = i;

    while (buf[j] != '\0' && strchr(stops, buf[j]) == NULL)
        j++;
    while (j > i && strchr(".:!?", buf[j - 1]) != NULL)
        j--;
    return j;
}

/* Read every URL of buf as a mention (other hosts count as prose) and
 * blank it, so that the words of its path are not read again. */
static void scan_urls(struct reading *r, char *buf)
{
    struct licence lic;
    size_t i = 0;
    size_t host;
    size_t end;

    while (buf[i] != '\0') {
        if (!url_start(buf, i, &host)) {
            i++;
            continue;
        }
        end = url_end(buf, host);
        if (read_url(&lic, buf, host, end) == HOST_OTHER)
            r->prose = 1;
        else
            reading_add(r, &lic);
        memset(buf + i, ' ', end - i);
        i = end;
    }
}

/* ---- words: names, codes and phrases as tokens ---- */

struct token {
    size_t start;
    size_t len;
};

struct tokens {
    const char *buf;
    struct token *t;
    size_t n;
};

/* Letters, digits, any non-ASCII byte, and a dot between digits ("4.0"). */
static int is_token_byte(const char *buf, size_t i)
{
    unsigned char c = (unsigned char)buf[i];

    if (isalnum(c) || c >= 0x80)
        return 1;
    return c == '.' && i > 0 && isdigit((unsigned char)buf[i - 1]) &&
           isdigit((unsigned char)buf[i + 1]);
}

/* Turn no-break spaces and Unicode dashes (U+2010 to U+2015) into spaces,
 * so that "CC BY–NC" splits as "CC BY-NC" does. */
static void blank_separators(char *buf)
{
    for (size_t i = 0; buf[i] != '\0'; i++) {
        unsigned char *u = (unsigned char *)buf + i;

        if (u[0] == 0xc2 && u[1] == 0xa0)
            memset(u, ' ', 2);
        else if (u[0] == 0xe2 && u[1] == 0x80 && u[2] >= 0x90 && u[2] <= 0x95)
            memset(u, ' ', 3);
    }
}

static size_t tokenise(struct token *t, const char *buf)
{
    size_t n = 0;
    size_t i = 0;

    while (buf[i] != '\0') {
        if (!is_token_byte(buf, i)) {
            i++;
            continue;
        }
        t[n].start = i;
        while (buf[i] != '\0' && is_token_byte(buf, i))
            i++;
        t[n].len = i - t[n].start;
        n++;
    }
    return n;
}

static int tok_is(const struct tokens *ts, size_t k, const char *s, size_t n)
{
    return k < ts->n && ts->t[k].len == n &&
           memcmp(ts->buf + ts->t[k].start, s, n) == 0;
}

/* How many tokens from k spell phrase, or 0. */
static size_t phrase_match(const struct tokens *ts, size_t k,
                           const char *phrase)
{
    size_t used = 0;

    while (*phrase != '\0') {
        size_t n = strcspn(phrase, " ");

        if (!tok_is(ts, k + used, phrase, n))
            return 0;
        used++;
        phrase += n;
        if (*phrase == ' ')
            phrase++;
    }
    return used;
}

#define KIND(k) (1u << (k))

/* The longest word of one of the kinds at token k: tokens used, or 0. */
static size_t word_at(const struct tokens *ts, size_t k, unsigned kinds,
                      const struct word **w)
{
    size_t best = 0;

    for (size_t i = 0; i < WORD_COUNT; i++) {
        size_t n;

        if ((kinds & KIND(words[i].kind)) == 0)
            continue;
        n = phrase_match(ts, k, words[i].phrase);
        if (n > best) {
            best = n;
            *w = &words[i];
        }
    }
    return best;
}

enum { VERSION_NONE, VERSION_OK, VERSION_BAD };

/* A version at token k: "4.0", or the NL-LOM "40".  Something that looks
 * like a version but is none ("5.0", "4") is VERSION_BAD; a year is not
 * a version at all. */
static int version_at(const struct tokens *ts, size_t k, int *ver)
{
    const char *s;
    size_t len;
    size_t dots = 0;

    if (k >= ts->n)
        return VERSION_NONE;
    s = ts->buf + ts->t[k].start;
    len = ts->t[k].len;
    for (int v = 0; v < VERSION_COUNT; v++)
        if (span_is(s, len, versions[v].number) ||
            span_is(s, len, versions[v].code)) {
            *ver = v;
            return VERSION_OK;
        }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.')
            dots++;
        else if (!isdigit((unsigned char)s[i]))
            return VERSION_NONE;
    }
    return dots == 1 || len <= 2 ? VERSION_BAD : VERSION_NONE;
}

/* Whether the two-letter code at token k stands as a jurisdiction: last
 * word, closed by punctuation, or followed by "license".  In running text
 * ("CC BY 4.0 in ...") it is an ordinary word. */
static int code_stands(const struct tokens *ts, size_t k)
{
    const struct word *w;
    size_t after = ts->t[k].start + ts->t[k].len;

    if (k + 1 == ts->n)
        return 1;
    if (!isspace((unsigned char)ts->buf[after]))
        return 1;
    return word_at(ts, k + 1, KIND(W_FILLER), &w) > 0;
}

/* After "cc by 3.0": a jurisdiction (code or name) or a scope word that
 * fits the version, then filler words.  *bad is set on a jurisdiction or a
 * scope of another version. */
static size_t read_tail(const struct tokens *ts, size_t k, int ver,
                        const char **port, int *bad, unsigned *alias)
{
    const struct word *w;
    const char *code = NULL;
    size_t start = k;
    size_t n = 0;

    *port = NULL;
    if (k < ts->n && code_stands(ts, k)) {
        code = any_port(ts->buf + ts->t[k].start, ts->t[k].len);
        n = 1;
    }
    if (code == NULL) {
        n = word_at(ts, k, KIND(W_PLACE), &w);
        code = n > 0 ? w->place : NULL;
        *alias |= n > 0 ? (unsigned)w->alias : 0;
    }
    if (code != NULL) {
        if (is_port(ver, code, strlen(code)))
            *port = code;
        else
            *bad = 1;
        k += n;
    } else {
        n = word_at(ts, k, KIND(W_SCOPE), &w);
        if (n > 0 && (w->value & VM(ver)) == 0)
            *bad = 1;
        *alias |= n > 0 ? (unsigned)w->alias : 0;
        k += n;
    }
    for (n = word_at(ts, k, KIND(W_FILLER), &w); n > 0;
         n = word_at(ts, k, KIND(W_FILLER), &w)) {
        *alias |= (unsigned)w->alias;
        k += n;
    }
    return k - start;
}

/* "cc by-nc-sa 4.0 international": after the anchor, elements in any
 * order (BY required, each once, not ND with SA), a version, a tail. */
static size_t read_cc_name(struct licence *out, const struct tokens *ts,
                           size_t i, size_t anchor)
{
    const struct word *w;
    const char *port;
    size_t k = i + anchor;
    size_t n;
    unsigned terms = 0;
    unsigned alias = 0;
    int bad = 0;
    int set;
    int ver = -1;

    for (n = word_at(ts, k, KIND(W_ELEMENT), &w); n > 0;
         n = word_at(ts, k, KIND(W_ELEMENT), &w)) {
        bad |= (terms & w->value) != 0;
        terms |= w->value;
        alias |= (unsigned)w->alias;
        k += n;
    }
    if (terms == 0)
        return 0;
    set_unknown(out);
    set = set_of_terms(terms);
    switch (version_at(ts, k, &ver)) {
    case VERSION_NONE:
        if (!bad && set >= 0)
            set_no_version_set(out, set);
        out->flags |= alias ? LICENCE_ALIAS : 0;
        return k - i;
    case VERSION_BAD:
        return k + 1 - i;
    }
    k++;
    k += read_tail(ts, k, ver, &port, &bad, &alias);
    if (!bad && set >= 0 && (port != NULL || versions[ver].unported))
        set_cc(out, (size_t)set, ver, port);
    out->flags |= alias ? LICENCE_ALIAS : 0;
    return k - i;
}

/* "CC0 1.0 Universal", "Public Domain Mark 1.0": a tool with one version,
 * then words of tail_kinds. */
static size_t read_tool(struct licence *out, const struct tokens *ts, size_t i,
                        size_t anchor, const char *id, const char *family,
                        unsigned tail_kinds)
{
    const struct word *w;
    size_t k = i + anchor;
    size_t n;
    unsigned alias = 0;
    int ver = -1;

    set_unknown(out);
    switch (version_at(ts, k, &ver)) {
    case VERSION_NONE:
        set_no_version(out, family);
        return k - i;
    case VERSION_OK:
        if (ver == V10)
            set_id(out, id, family);
        break;
    }
    k++;
    for (n = word_at(ts, k, tail_kinds, &w); n > 0;
         n = word_at(ts, k, tail_kinds, &w)) {
        alias |= (unsigned)w->alias;
        k += n;
    }
    out->flags |= alias ? LICENCE_ALIAS : 0;
    return k - i;
}

/* A mention starting at token k: tokens used, or 0. */
static size_t read_mention(struct reading *r, const struct tokens *ts, size_t k)
{
    const unsigned starts =
        KIND(W_ANCHOR) | KIND(W_CC0) | KIND(W_PDM) | KIND(W_RESERVED);
    const struct word *w;
    struct licence lic;
    size_t n = word_at(ts, k, starts, &w);
    size_t used = n;

    if (n == 0)
        return 0;
    if (w->kind == W_ANCHOR)
        used = read_cc_name(&lic, ts, k, n);
    else if (w->kind == W_CC0)
        used = read_tool(&lic, ts, k, n, "CC0-1.0", "CC0",
                         KIND(W_CC0_TAIL) | KIND(W_FILLER));
    else if (w->kind == W_PDM)
        used = read_tool(&lic, ts, k, n, LICENCE_PDM, "Public Domain Mark",
                         KIND(W_FILLER));
    else
        set_id(&lic, LICENCE_ALL_RIGHTS_RESERVED, "");
    if (used == 0)
        return 0;
    if (w->alias)
        lic.flags |= LICENCE_ALIAS;
    reading_add(r, &lic);
    return used;
}

/* Read the words of buf (URLs blanked) as mentions; other words but
 * filler are prose. */
static int read_tokens(struct reading *r, const char *buf)
{
    struct tokens ts = {buf, NULL, 0};
    const struct word *w;
    size_t i = 0;

    ts.t = calloc(strlen(buf) / 2 + 2, sizeof(*ts.t));
    if (ts.t == NULL) {
        log_warn("licence", "out of memory", NULL);
        return OER_ENOMEM;
    }
    ts.n = tokenise(ts.t, buf);
    while (i < ts.n) {
        size_t n = read_mention(r, &ts, i);

        if (n > 0) {
            i += n;
            continue;
        }
        if (word_at(&ts, i, KIND(W_FILLER), &w) == 0)
            r->prose = 1;
        i++;
    }
    free(ts.t);
    return 0;
}

/* ---- the reading of a whole statement ---- */

/* Statements that are one code or one exact non-CC id ("yes",
 * "GFDL-1.3", "LicenseRef-PDM-1.0"); 0 when text is none of them. */
static int read_whole(struct licence *out, const char *buf)
{
    const struct entry *e;
    char code[48];
    size_t len;

    while (isspace((unsigned char)*buf))
        buf++;
    len = strlen(buf);
    while (len > 0 && isspace((unsigned char)buf[len - 1]))
        len--;
    if (len >= sizeof(code))
        return 0;
    memcpy(code, buf, len);
    code[len] = '\0';

    for (size_t c = 0; reserved_codes[c] != NULL; c++)
        if (strcmp(code, reserved_codes[c]) == 0) {
            set_id(out, LICENCE_ALL_RIGHTS_RESERVED, "");
            return 1;
        }
    e = catalogue_find(code, 1);
    if (e == NULL || strncmp(e->id, "CC-", 3) == 0 ||
        strcmp(e->id, "CC0-1.0") == 0)
        return 0;
    set_id(out, e->id, e->family);
    return 1;
}

/* A version-less mention of a family that is also named with a version
 * ("CC BY-SA 4.0 (CC BY-SA)") adds nothing. */
static int absorbed(const struct reading *r, size_t m)
{
    const struct licence *lic = &r->found[m];

    if ((lic->flags & LICENCE_NO_VERSION) == 0 || lic->family[0] == '\0')
        return 0;
    for (size_t j = 0; j < r->count; j++)
        if ((r->found[j].flags & LICENCE_NO_VERSION) == 0 &&
            strcmp(r->found[j].family, lic->family) == 0)
            return 1;
    return 0;
}

static unsigned restrictions(const struct licence *lic)
{
    return licence_terms(lic->id) & (NC | ND | SA | LICENCE_TERM_RESERVED);
}

/* The first of the kept mentions whose restrictions cover all others',
 * or n when there is none. */
static size_t governing(const struct reading *r, const size_t *keep, size_t n)
{
    for (size_t a = 0; a < n; a++) {
        unsigned mine = restrictions(&r->found[keep[a]]);
        size_t b = 0;

        while (b < n && (restrictions(&r->found[keep[b]]) & ~mine) == 0)
            b++;
        if (b == n)
            return a;
    }
    return n;
}

static void reading_result(struct licence *out, const struct reading *r)
{
    size_t keep[MENTION_MAX];
    size_t n = 0;
    size_t g;
    unsigned flags = r->prose ? LICENCE_PROSE : 0;

    set_unknown(out);
    for (size_t m = 0; m < r->count; m++)
        if (!absorbed(r, m)) {
            flags |= r->found[m].flags;
            keep[n++] = m;
        }
    if (n == 0)
        return;
    if (n > 1 || r->overflow)
        flags |= LICENCE_MIXED;
    g = r->overflow ? n : governing(r, keep, n);
    if (g < n)
        *out = r->found[keep[g]];
    out->flags = flags;
}

/* text case-folded (Unicode when it is UTF-8, else ASCII), in *out. */
static int casefold(char **out, const char *text)
{
    utf8proc_uint8_t *folded = NULL;
    utf8proc_ssize_t n;

    n = utf8proc_map((const utf8proc_uint8_t *)text, 0, &folded,
                     UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                         UTF8PROC_CASEFOLD);
    *out = (char *)folded;
    if (n >= 0)
        return 0;
    if (n != UTF8PROC_ERROR_NOMEM)
        *out = strdup(text);
    if (*out == NULL) {
        log_warn("licence", "out of memory", NULL);
        return OER_ENOMEM;
    }
    for (char *c = *out; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    return 0;
}

/* ---- the interface ---- */

int licence_normalise(struct licence *out, const char *text)
{
    struct reading r;
    char *buf = NULL;
    int rc;

    if (out != NULL)
        set_unknown(out);
    if (out == NULL || text == NULL)
        return OER_EINVAL;

    rc = casefold(&buf, text);
    if (rc != 0)
        goto out;
    if (read_whole(out, buf))
        goto out;

    memset(&r, 0, sizeof(r));
    blank_separators(buf);
    scan_urls(&r, buf);
    rc = read_tokens(&r, buf);
    if (rc == 0)
        reading_result(out, &r);
out:
    free(buf);
    return rc;
}

size_t licence_flag_names(const char **names, size_t cap, unsigned flags)
{
    static const char *const flag_names[] = {"noncanonical-path", "no-version",
                                             "mixed", "alias", "prose"};
    size_t n = 0;

    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
        if ((flags & (1u << i)) == 0)
            continue;
        if (n < cap)
            names[n] = flag_names[i];
        n++;
    }
    return n;
}

int licence_is_canonical(const char *id)
{
    return id != NULL && catalogue_find(id, 0) != NULL;
}

const char *licence_url(const char *id)
{
    const struct entry *e = id != NULL ? catalogue_find(id, 0) : NULL;

    return e != NULL && e->url[0] != '\0' ? e->url : NULL;
}

const char *licence_id(size_t index)
{
    pthread_once(&catalogue_once, on_catalogue_init);
    return index < catalogue_len ? catalogue[index].id : NULL;
}

unsigned licence_terms(const char *id)
{
    const struct entry *e = id != NULL ? catalogue_find(id, 0) : NULL;

    return e != NULL ? e->terms : LICENCE_TERM_RESERVED;
}

int licence_allows(const char *id, int commercial_use, int adapts)
{
    unsigned terms = licence_terms(id);

    if (terms & LICENCE_TERM_RESERVED)
        return 0;
    if ((terms & NC) && commercial_use)
        return 0;
    if ((terms & ND) && adapts)
        return 0;
    return 1;
}
