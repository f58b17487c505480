/*
 * lom: IEEE LOM and IMS LOM 1.2 records, alone or in OAI-PMH pages, read
 * with libxml2 into metadata documents.  Element names are matched by
 * local name without regard to case, which covers both bindings (IEEE
 * camelCase, IMS lower case); the namespace of each record's root decides
 * whether it is LOM at all.
 */
#include "node/lom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <utf8proc.h>

#include "node/error.h"
#include "node/licence.h"
#include "node/invariant.h"
#include "node/log.h"
#include "node/wholefile.h"
#include "node/xmldoc.h"

/* Limits of docs/METADATA.md, in characters or entries. */
#define TITLE_MAX 1000
#define DESCRIPTION_MAX 20000
#define STRING_MAX 2000
#define LANGS_MAX 50
#define LIST_MAX 200
#define LANG_TAG_MAX 64
#define TIMESTAMP_LEN 21

/* ------------------------------------------------------------------ */
/* Vocabularies                                                         */

static const char *const lom_roles[] = {"author",
                                        "publisher",
                                        "unknown",
                                        "initiator",
                                        "terminator",
                                        "validator",
                                        "editor",
                                        "graphical designer",
                                        "technical implementer",
                                        "content provider",
                                        "technical validator",
                                        "educational validator",
                                        "script writer",
                                        "instructional designer",
                                        "subject matter expert",
                                        NULL};

static const char *const lom_resource_types[] = {"exercise",
                                                 "simulation",
                                                 "questionnaire",
                                                 "diagram",
                                                 "figure",
                                                 "graph",
                                                 "index",
                                                 "slide",
                                                 "table",
                                                 "narrative text",
                                                 "exam",
                                                 "experiment",
                                                 "problem statement",
                                                 "self assessment",
                                                 "lecture",
                                                 NULL};

static const char *const lom_end_users[] = {"teacher", "author", "learner",
                                            "manager", NULL};

static const char *const lom_contexts[] = {"school", "higher education",
                                           "training", "other", NULL};

static const char *const lom_purposes[] = {"discipline",
                                           "idea",
                                           "prerequisite",
                                           "educational objective",
                                           "accessibility restrictions",
                                           "educational level",
                                           "skill level",
                                           "security level",
                                           "competency",
                                           NULL};

/* LOMv1.0 values by element (lower-case local name). */
static const struct {
    const char *element;
    const char *const *values;
} lom_vocabs[] = {
    {"role", lom_roles},
    {"learningresourcetype", lom_resource_types},
    {"intendedenduserrole", lom_end_users},
    {"context", lom_contexts},
    {"purpose", lom_purposes},
};

#define NL_CONTEXT "http://purl.edustandaard.nl/vdex_context_czp_20060628.xml"

/*
 * Profile values mapped to LOMv1.0, version LOM_VOCAB_MAP_VERSION.  The
 * value is compared after trim and case-fold; the record keeps its own
 * source and value and gets the LOMv1.0 value as "lom".
 */
static const struct {
    const char *source;
    const char *element;
    const char *value;
    const char *lom;
} vocab_maps[] = {
    /* IMS MD 1.2 published the draft LOM contexts under "LOMv1.0" */
    {"LOMv1.0", "context", "primary education", "school"},
    {"LOMv1.0", "context", "secondary education", "school"},
    {"LOMv1.0", "context", "technical school first cycle", "school"},
    {"LOMv1.0", "context", "technical school second cycle", "school"},
    {"LOMv1.0", "context", "university first cycle", "higher education"},
    {"LOMv1.0", "context", "university second cycle", "higher education"},
    {"LOMv1.0", "context", "university postgrade", "higher education"},
    {"LOMv1.0", "context", "professional formation", "training"},
    {"LOMv1.0", "context", "continuous formation", "training"},
    {"LOMv1.0", "context", "vocational training", "training"},
    /* LOM-ES v1.0 (Spain), learning resource types */
    {"LOM-ESv1.0", "learningresourcetype", "conceptual map", "diagram"},
    {"LOM-ESv1.0", "learningresourcetype", "flowchart", "diagram"},
    {"LOM-ESv1.0", "learningresourcetype", "photograph", "figure"},
    {"LOM-ESv1.0", "learningresourcetype", "illustration", "figure"},
    {"LOM-ESv1.0", "learningresourcetype", "graph", "graph"},
    {"LOM-ESv1.0", "learningresourcetype", "text", "narrative text"},
    {"LOM-ESv1.0", "learningresourcetype", "master class", "lecture"},
    {"LOM-ESv1.0", "learningresourcetype", "closed exercise or problem",
     "exercise"},
    {"LOM-ESv1.0", "learningresourcetype", "contextualized case problem",
     "problem statement"},
    {"LOM-ESv1.0", "learningresourcetype", "open problem", "problem statement"},
    {"LOM-ESv1.0", "learningresourcetype", "simulation", "simulation"},
    {"LOM-ESv1.0", "learningresourcetype", "questionnaire", "questionnaire"},
    {"LOM-ESv1.0", "learningresourcetype", "exam", "exam"},
    {"LOM-ESv1.0", "learningresourcetype", "self assessment",
     "self assessment"},
    {"LOM-ESv1.0", "learningresourcetype", "experiment", "experiment"},
    /* NL-LOM education contexts (Dutch sectors) */
    {NL_CONTEXT, "context", "po", "school"},
    {NL_CONTEXT, "context", "so", "school"},
    {NL_CONTEXT, "context", "sbao", "school"},
    {NL_CONTEXT, "context", "vo", "school"},
    {NL_CONTEXT, "context", "vve", "other"},
    {NL_CONTEXT, "context", "bve", "training"},
    {NL_CONTEXT, "context", "hbo", "higher education"},
    {NL_CONTEXT, "context", "wo", "higher education"},
    {NL_CONTEXT, "context", "bedrijfsopleiding", "training"},
};

/* Namespaces of the accepted bindings. */
static const char *const lom_namespaces[] = {
    "http://ltsc.ieee.org/xsd/LOM",
    "http://ltsc.ieee.org/xsd/LOMv1p0",
    "http://www.imsglobal.org/xsd/imsmd_v1p2",
    "http://www.imsglobal.org/xsd/imsmd_v1p2p1",
    "http://www.imsglobal.org/xsd/imsmd_v1p2p2",
    "http://www.imsglobal.org/xsd/imsmd_v1p2p3",
    "http://www.imsglobal.org/xsd/imsmd_v1p2p4",
    "http://www.imsglobal.org/xsd/imsmd_rootv1p2",
    "http://www.imsglobal.org/xsd/imsmd_rootv1p2p1",
    "http://www.imsproject.org/xsd/imsmd_v1p2",
    "http://www.imsproject.org/xsd/imsmd_rootv1p2",
    "http://www.imsproject.org/xsd/imsmd_rootv1p2p1",
    NULL};

/* ------------------------------------------------------------------ */
/* One record being converted                                           */

struct conv {
    json_t *doc;
    json_t *flags;
    char *source_id;
    char created[TIMESTAMP_LEN];
    char updated[TIMESTAMP_LEN];
    char problem[256];
    int nomem;
};

static void conv_flag(struct conv *c, const char *flag)
{
    size_t i;
    json_t *v;

    json_array_foreach(c->flags, i, v)
    {
        if (strcmp(json_string_value(v), flag) == 0)
            return;
    }
    if (json_array_append_new(c->flags, json_string(flag)) != 0)
        c->nomem = 1;
}

/* Set key of obj to val (stolen); NULL val means memory ran out. */
static void conv_set(struct conv *c, json_t *obj, const char *key, json_t *val)
{
    if (val == NULL || json_object_set_new(obj, key, val) != 0)
        c->nomem = 1;
}

static int is_space(int ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Cut s after max code points, flagging the record when it was longer. */
static void conv_truncate(struct conv *c, char *s, size_t max)
{
    size_t chars = 0;

    for (char *p = s; *p != '\0'; p++) {
        if (((unsigned char)*p & 0xc0) == 0x80)
            continue;
        if (chars++ == max) {
            *p = '\0';
            conv_flag(c, "truncated");
            return;
        }
    }
}

/*
 * A copy of raw, trimmed, with each run of white space made one space when
 * collapse is set, in NFC and at most max characters long.  NULL when
 * nothing is left, or (setting c->nomem) when memory ran out.
 */
static char *conv_text(struct conv *c, const char *raw, int collapse,
                       size_t max)
{
    size_t len, n = 0;
    char *tmp, *nfc;

    if (raw == NULL)
        return NULL;
    while (is_space((unsigned char)*raw))
        raw++;
    len = strlen(raw);
    while (len > 0 && is_space((unsigned char)raw[len - 1]))
        len--;
    if (len == 0)
        return NULL;

    tmp = malloc(len + 1);
    if (tmp == NULL) {
        c->nomem = 1;
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        if (!collapse || !is_space((unsigned char)raw[i]))
            tmp[n++] = raw[i];
        else if (tmp[n - 1] != ' ')
            tmp[n++] = ' ';
    }
    tmp[n] = '\0';

    nfc = (char *)utf8proc_NFC((const utf8proc_uint8_t *)tmp);
    free(tmp);
    if (nfc == NULL) {
        c->nomem = 1;
        return NULL;
    }
    conv_truncate(c, nfc, max);
    return nfc;
}

/* s trimmed and case-folded, for comparing vocabulary values. */
static char *conv_fold(struct conv *c, const char *s)
{
    utf8proc_uint8_t *out = NULL;

    if (utf8proc_map((const utf8proc_uint8_t *)s, 0, &out,
                     UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                         UTF8PROC_CASEFOLD) < 0) {
        c->nomem = 1;
        return NULL;
    }
    return (char *)out;
}

/* ------------------------------------------------------------------ */
/* Elements                                                             */

static int name_is(const xmlNode *n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE &&
           xmlStrcasecmp(n->name, (const xmlChar *)name) == 0;
}

/* The first element at or after n named name, or NULL. */
static xmlNode *named_from(xmlNode *n, const char *name)
{
    while (n != NULL && !name_is(n, name))
        n = n->next;
    return n;
}

static xmlNode *child(const xmlNode *parent, const char *name)
{
    return parent != NULL ? named_from(parent->children, name) : NULL;
}

static xmlNode *sibling(const xmlNode *n, const char *name)
{
    return named_from(n->next, name);
}

static xmlNode *first_element(const xmlNode *parent)
{
    xmlNode *n = parent->children;

    while (n != NULL && n->type != XML_ELEMENT_NODE)
        n = n->next;
    return n;
}

/* Cleaned text content of n (see conv_text); NULL when empty. */
static char *conv_node_text(struct conv *c, const xmlNode *n, int collapse,
                            size_t max)
{
    xmlChar *raw;
    char *text;

    if (n == NULL)
        return NULL;
    raw = xmlNodeGetContent(n);
    text = conv_text(c, (const char *)raw, collapse, max);
    xmlFree(raw);
    return text;
}

/* The string of a LangString (IEEE <string>, IMS <langstring>). */
static int is_string(const xmlNode *n)
{
    return name_is(n, "string") || name_is(n, "langstring");
}

/*
 * Text of a one-line field that may be plain (IEEE vocabulary source and
 * value) or wrapped in a LangString (IMS): the first non-empty string.
 */
static char *conv_plain(struct conv *c, const xmlNode *n)
{
    char *text = NULL;
    int strings = 0;

    if (n == NULL)
        return NULL;
    for (xmlNode *s = n->children; s != NULL && text == NULL; s = s->next) {
        if (is_string(s)) {
            strings = 1;
            text = conv_node_text(c, s, 1, STRING_MAX);
        }
    }
    return strings ? text : conv_node_text(c, n, 1, STRING_MAX);
}

/* Lower-case BCP 47 tag of raw in out; "und" for x-none, empty or bad. */
static void lang_tag(char out[LANG_TAG_MAX], const char *raw)
{
    size_t n = 0, sub = 0, first = 0;
    int ok = raw != NULL;

    while (ok && is_space((unsigned char)*raw))
        raw++;
    for (; ok && *raw != '\0' && !is_space((unsigned char)*raw); raw++) {
        char ch = *raw == '_' ? '-' : *raw;

        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch == '-') {
            ok = sub > 0 && (first > 0 || (sub >= 2 && sub <= 3));
            first = first > 0 ? first : sub;
            sub = 0;
        } else {
            ok = (ch >= 'a' && ch <= 'z') ||
                 (first > 0 && ch >= '0' && ch <= '9');
            ok = ok && ++sub <= 8;
        }
        ok = ok && n < LANG_TAG_MAX - 1;
        if (ok)
            out[n++] = ch;
    }
    ok = ok && sub > 0 && (first > 0 || (sub >= 2 && sub <= 3));
    if (ok && raw != NULL && *raw != '\0') {
        while (is_space((unsigned char)*raw))
            raw++;
        ok = *raw == '\0';
    }
    out[n] = '\0';
    if (!ok || strcmp(out, "x-none") == 0)
        strcpy(out, "und");
}

/* Language of a string element: IEEE language=, or xml:lang. */
static void string_lang(char out[LANG_TAG_MAX], const xmlNode *s)
{
    xmlChar *raw = xmlGetNoNsProp(s, (const xmlChar *)"language");

    if (raw == NULL)
        raw = xmlGetNsProp(s, (const xmlChar *)"lang", XML_XML_NAMESPACE);
    lang_tag(out, (const char *)raw);
    xmlFree(raw);
}

/* What to do with each string of a LangString. */
struct langstrings {
    json_t *obj;  /* a langmap or langlist */
    int list;     /* 1: langlist; 0: langmap */
    int join;     /* langmap: append a second string of a language */
    int collapse; /* make white space runs one space */
    size_t max;   /* characters of one string */
};

static void langmap_put(struct conv *c, const struct langstrings *ls,
                        const char *lang, const char *text)
{
    json_t *old = json_object_get(ls->obj, lang);
    char *both = NULL;

    if (old == NULL && json_object_size(ls->obj) >= LANGS_MAX) {
        conv_flag(c, "truncated");
        return;
    }
    if (old == NULL) {
        conv_set(c, ls->obj, lang, json_string(text));
        return;
    }
    if (!ls->join)
        return;

    both = malloc(json_string_length(old) + strlen(text) + 3);
    if (both == NULL) {
        c->nomem = 1;
        return;
    }
    sprintf(both, "%s\n\n%s", json_string_value(old), text);
    conv_truncate(c, both, ls->max);
    conv_set(c, ls->obj, lang, json_string(both));
    free(both);
}

static void langlist_add(struct conv *c, const struct langstrings *ls,
                         const char *lang, const char *text)
{
    json_t *list = json_object_get(ls->obj, lang);
    size_t i;
    json_t *v;

    if (list == NULL && json_object_size(ls->obj) >= LANGS_MAX) {
        conv_flag(c, "truncated");
        return;
    }
    if (list == NULL) {
        list = json_array();
        conv_set(c, ls->obj, lang, list);
        if (c->nomem)
            return;
    }
    json_array_foreach(list, i, v)
    {
        if (strcmp(json_string_value(v), text) == 0)
            return;
    }
    if (json_array_size(list) >= LIST_MAX)
        conv_flag(c, "truncated");
    else if (json_array_append_new(list, json_string(text)) != 0)
        c->nomem = 1;
}

/* Add each string of the LangString el to ls; a bare text counts as und. */
static void conv_langstrings(struct conv *c, const struct langstrings *ls,
                             const xmlNode *el)
{
    char lang[LANG_TAG_MAX];
    int strings = 0;

    if (el == NULL)
        return;
    for (xmlNode *s = el->children; s != NULL; s = s->next) {
        char *text;

        if (!is_string(s))
            continue;
        strings = 1;
        text = conv_node_text(c, s, ls->collapse, ls->max);
        string_lang(lang, s);
        if (text != NULL && ls->list)
            langlist_add(c, ls, lang, text);
        else if (text != NULL)
            langmap_put(c, ls, lang, text);
        free(text);
    }
    if (!strings) {
        char *text = conv_node_text(c, el, ls->collapse, ls->max);

        if (text != NULL && !ls->list)
            langmap_put(c, ls, "und", text);
        else if (text != NULL)
            langlist_add(c, ls, "und", text);
        free(text);
    }
}

/* The doc's field named key, created empty (object or array) if absent. */
static json_t *conv_field(struct conv *c, const char *key, int array)
{
    json_t *v = json_object_get(c->doc, key);

    if (v == NULL) {
        v = array ? json_array() : json_object();
        conv_set(c, c->doc, key, v);
        if (c->nomem)
            return NULL;
    }
    return v;
}

/* ------------------------------------------------------------------ */
/* Terms                                                                */

/* Compare vocabulary sources: trimmed, any case, http and https alike. */
static const char *source_body(const char *s)
{
    if (strncasecmp(s, "http://", 7) == 0)
        return s + 7;
    if (strncasecmp(s, "https://", 8) == 0)
        return s + 8;
    return s;
}

static int source_eq(const char *a, const char *b)
{
    return strcasecmp(source_body(a), source_body(b)) == 0;
}

/* A Dutch VDEX edition of a LOMv1.0 vocabulary (..._lomv1p0_....xml). */
static int source_is_lom_alias(const char *source)
{
    const char *body = source_body(source);
    size_t len = strlen(body);

    return strncasecmp(body, "purl.edustandaard.nl/vdex_", 26) == 0 &&
           strstr(body, "_lomv1p0_") != NULL && len > 4 &&
           strcasecmp(body + len - 4, ".xml") == 0;
}

const char *lom_vocab_value(const char *element, const char *folded)
{
    size_t n = sizeof(lom_vocabs) / sizeof(lom_vocabs[0]);

    for (size_t i = 0; i < n; i++) {
        if (strcmp(lom_vocabs[i].element, element) != 0)
            continue;
        for (const char *const *v = lom_vocabs[i].values; *v; v++) {
            if (strcmp(*v, folded) == 0)
                return *v;
        }
    }
    return NULL;
}

/* The mapping of a profile value; *known says whether the source has a
 * table at all. */
static const char *profile_value(int *known, const char *source,
                                 const char *element, const char *folded)
{
    size_t n = sizeof(vocab_maps) / sizeof(vocab_maps[0]);

    *known = 0;
    for (size_t i = 0; i < n; i++) {
        if (!source_eq(vocab_maps[i].source, source))
            continue;
        *known = 1;
        if (strcmp(vocab_maps[i].element, element) == 0 &&
            strcmp(vocab_maps[i].value, folded) == 0)
            return vocab_maps[i].lom;
    }
    return NULL;
}

static json_t *term_new(struct conv *c, const char *source, const char *value,
                        const char *lom)
{
    json_t *t = json_pack("{s:s, s:s}", "source", source, "value", value);

    if (t == NULL)
        c->nomem = 1;
    else if (lom != NULL)
        conv_set(c, t, "lom", json_string(lom));
    return t;
}

/*
 * The term for (source, value) of a vocabulary element: LOMv1.0 values
 * compared after trim and case-fold and stored normalised; profile values
 * mapped through vocab_maps; values a known vocabulary lacks kept as given
 * and flagged; free text (no source) kept with source "".  Every facet
 * goes through here, so levels and types cannot disagree.
 */
static json_t *term_map(struct conv *c, const char *element, const char *source,
                        const char *value)
{
    int lom_source = source_eq(source, "LOMv1.0");
    int alias = !lom_source && source_is_lom_alias(source);
    const char *src = lom_source ? "LOMv1.0" : source;
    const char *lom = NULL;
    char *folded = conv_fold(c, value);
    json_t *term = NULL;
    int known = 0;

    if (folded == NULL)
        return NULL;
    if (lom_source || alias)
        lom = lom_vocab_value(element, folded);
    if (lom != NULL) {
        term = term_new(c, src, lom, alias ? lom : NULL);
        goto out;
    }

    lom = profile_value(&known, source, element, folded);
    if (lom == NULL && (lom_source || alias || known))
        conv_flag(c, "nonstandard-vocabulary");
    term = term_new(c, src, value, lom);
out:
    free(folded);
    return term;
}

/* The term of a vocabulary element (<source>, <value>), or NULL. */
static json_t *conv_term(struct conv *c, const char *element,
                         const xmlNode *vocab)
{
    char *source = conv_plain(c, child(vocab, "source"));
    char *value = conv_plain(c, child(vocab, "value"));
    json_t *term = NULL;

    if (value != NULL && source == NULL)
        term = term_new(c, "", value, NULL);
    else if (value != NULL)
        term = term_map(c, element, source, value);
    free(source);
    free(value);
    return term;
}

/* Append term (stolen) to the doc's list field, once. */
static void conv_append(struct conv *c, const char *field, json_t *term)
{
    json_t *list = term != NULL ? conv_field(c, field, 1) : NULL;
    size_t i;
    json_t *v;

    if (list == NULL) {
        json_decref(term);
        return;
    }
    json_array_foreach(list, i, v)
    {
        if (json_equal(v, term)) {
            json_decref(term);
            return;
        }
    }
    if (json_array_size(list) >= LIST_MAX) {
        conv_flag(c, "truncated");
        json_decref(term);
    } else if (json_array_append_new(list, term) != 0) {
        c->nomem = 1;
    }
}

/* The LOMv1.0 meaning of a term: its "lom", else its value. */
static const char *term_meaning(const json_t *term)
{
    const json_t *lom = json_object_get(term, "lom");

    return json_string_value(lom != NULL ? lom
                                         : json_object_get(term, "value"));
}

/* ------------------------------------------------------------------ */
/* Dates                                                                */

static int digits(const char *s, int n, int *out)
{
    *out = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *out = *out * 10 + (s[i] - '0');
    }
    return 0;
}

/* Parse "hh:mm[:ss[.f]]" into tm; returns the rest, or NULL. */
static const char *parse_time(struct tm *tm, const char *s)
{
    if (digits(s, 2, &tm->tm_hour) || s[2] != ':' ||
        digits(s + 3, 2, &tm->tm_min))
        return NULL;
    s += 5;
    if (*s == ':') {
        if (digits(s + 1, 2, &tm->tm_sec))
            return NULL;
        s += 3;
        if (*s == '.' || *s == ',') {
            s++;
            while (*s >= '0' && *s <= '9')
                s++;
        }
    }
    return s;
}

/* Parse a zone "Z", "+hh:mm", "+hhmm", "+hh" or nothing, in seconds. */
static int parse_zone(long *offset, const char *s)
{
    int h = 0, m = 0, sign = *s == '-' ? -1 : 1;

    *offset = 0;
    if (*s == '\0' || strcmp(s, "Z") == 0 || strcmp(s, "z") == 0)
        return 0;
    if ((*s != '+' && *s != '-') || digits(s + 1, 2, &h))
        return -1;
    s += 3;
    if (*s == ':')
        s++;
    if (*s != '\0' && (digits(s, 2, &m) || s[2] != '\0'))
        return -1;
    if (h > 14 || m > 59)
        return -1;
    *offset = sign * (h * 3600L + m * 60L);
    return 0;
}

/*
 * A LOM or OAI date as a timestamp "YYYY-MM-DDThh:mm:ssZ" in UTC (a time
 * without zone is taken as UTC), or a date "YYYY-MM-DD" when no time was
 * given.  Returns 0 or OER_EINVAL.
 */
static int date_norm(char out[TIMESTAMP_LEN], const char *s)
{
    char buf[80];
    int n;
    struct tm tm = {0}, check;
    const char *rest;
    long offset;
    time_t t;

    if (s == NULL || digits(s, 4, &tm.tm_year) || s[4] != '-' ||
        digits(s + 5, 2, &tm.tm_mon) || s[7] != '-' ||
        digits(s + 8, 2, &tm.tm_mday))
        return OER_EINVAL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    rest = s + 10;
    if (*rest == 'T' || *rest == 't' || *rest == ' ')
        rest = parse_time(&tm, rest + 1);
    else if (*rest != '\0')
        return OER_EINVAL;
    if (rest == NULL || parse_zone(&offset, rest) != 0)
        return OER_EINVAL;

    check = tm;
    t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != check.tm_mday ||
        tm.tm_mon != check.tm_mon || tm.tm_hour != check.tm_hour ||
        tm.tm_min != check.tm_min || check.tm_sec > 59)
        return OER_EINVAL;
    if (s[10] != '\0') {
        t -= offset;
        gmtime_r(&t, &tm);
    }

    /* The zone may carry year 1 or 9999 out of four digits. */
    if (tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
        return OER_EINVAL;
    if (s[10] == '\0')
        n = snprintf(buf, sizeof(buf), "%04d-%02d-%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday);
    else
        n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
    INVARIANT(n > 0 && n < TIMESTAMP_LEN);
    memcpy(out, buf, (size_t)n + 1);
    return 0;
}

/* The normalised date of a LOM <date> (IEEE dateTime, IMS datetime). */
static int conv_date(struct conv *c, char out[TIMESTAMP_LEN],
                     const xmlNode *date)
{
    char *text = conv_node_text(c, child(date, "datetime"), 1, STRING_MAX);
    int rc = date_norm(out, text);

    free(text);
    return rc;
}

/* ------------------------------------------------------------------ */
/* vCard                                                                */

/* Copy a vCard value from s up to an unescaped stop (or the end). */
static const char *vcard_unescape(char *out, const char *s, char stop)
{
    size_t n = 0;

    for (; *s != '\0' && *s != stop; s++) {
        if (*s == '\\' && s[1] != '\0') {
            s++;
            out[n++] = (*s == 'n' || *s == 'N') ? ' ' : *s;
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    return *s == stop ? s + 1 : s;
}

/* Whether a line starts a vCard property ("NAME:" or "NAME;"). */
static int vcard_is_property(const char *line)
{
    const char *p = line;

    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
           (*p >= '0' && *p <= '9') || *p == '-' || *p == '.')
        p++;
    return p > line && (*p == ':' || *p == ';');
}

/* "Given Family" from an N value "Family;Given;Additional;Prefix;Suffix" */
static void vcard_n(char *out, const char *value)
{
    char *part = malloc(strlen(value) + 1);
    char *parts[5] = {NULL};
    static const int order[] = {3, 1, 2, 0, 4};
    const char *s = value;

    out[0] = '\0';
    if (part == NULL)
        return;
    for (int i = 0; i < 5 && *s != '\0'; i++) {
        s = vcard_unescape(part, s, ';');
        parts[i] = strdup(part);
    }
    for (int i = 0; i < 5; i++) {
        const char *p = parts[order[i]];

        if (p != NULL && *p != '\0') {
            if (out[0] != '\0')
                strcat(out, " ");
            strcat(out, p);
        }
    }
    for (int i = 0; i < 5; i++)
        free(parts[i]);
    free(part);
}

/* The value of property prop in the unfolded line, unescaped, in out. */
static int vcard_get(char *out, const char *line, const char *prop)
{
    size_t len = strlen(prop);
    const char *colon;

    if (strncasecmp(line, prop, len) != 0 ||
        (line[len] != ':' && line[len] != ';'))
        return 0;
    colon = strchr(line, ':');
    if (colon == NULL)
        return 0;
    if (strcasecmp(prop, "N") == 0)
        vcard_n(out, colon + 1);
    else
        vcard_unescape(out, colon + 1,
                       strcasecmp(prop, "ORG") == 0 ? ';' : '\0');
    return 1;
}

/*
 * The logical lines of a vCard, one per '\n'.  Records indent their
 * lines, so each is trimmed; an indented line that does not start a
 * property continues the one before (vCard folding).  Caller frees.
 */
static char *vcard_unfold(const char *text)
{
    char *copy = strdup(text), *out = malloc(strlen(text) + 1);
    char *save = NULL, *line;
    size_t n = 0;

    if (copy == NULL || out == NULL) {
        free(copy);
        free(out);
        return NULL;
    }
    for (line = strtok_r(copy, "\r\n", &save); line != NULL;
         line = strtok_r(NULL, "\r\n", &save)) {
        int indented = is_space((unsigned char)*line);

        while (is_space((unsigned char)*line))
            line++;
        if (n > 0 && !(indented && !vcard_is_property(line)))
            out[n++] = '\n';
        memcpy(out + n, line, strlen(line));
        n += strlen(line);
    }
    out[n] = '\0';
    free(copy);
    return out;
}

/*
 * Name and organisation of a vCard: FN, else N, else ORG.  name and org
 * hold at least strlen(text) + 1 bytes.
 */
static void vcard_parse(char *name, char *org, const char *text)
{
    char *lines = vcard_unfold(text), *n = malloc(strlen(text) + 1);
    char *save = NULL, *line;

    name[0] = org[0] = '\0';
    if (lines == NULL || n == NULL)
        goto out;
    n[0] = '\0';
    for (line = strtok_r(lines, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (name[0] == '\0' && vcard_get(name, line, "FN"))
            continue;
        if (n[0] == '\0' && vcard_get(n, line, "N"))
            continue;
        if (org[0] == '\0')
            vcard_get(org, line, "ORG");
    }
    if (name[0] == '\0')
        strcpy(name, n[0] != '\0' ? n : org);
out:
    free(n);
    free(lines);
}

/* ------------------------------------------------------------------ */
/* Sections of a record                                                 */

static void conv_general(struct conv *c, const xmlNode *general)
{
    struct langstrings title = {conv_field(c, "title", 0), 0, 0, 1, TITLE_MAX};
    struct langstrings desc = {conv_field(c, "description", 0), 0, 1, 0,
                               DESCRIPTION_MAX};
    struct langstrings kw = {conv_field(c, "keywords", 0), 1, 0, 1, STRING_MAX};
    xmlNode *n;

    if (c->nomem)
        return;
    for (n = child(general, "title"); n != NULL; n = sibling(n, "title"))
        conv_langstrings(c, &title, n);
    for (n = child(general, "description"); n; n = sibling(n, "description"))
        conv_langstrings(c, &desc, n);
    for (n = child(general, "keyword"); n != NULL; n = sibling(n, "keyword"))
        conv_langstrings(c, &kw, n);

    for (n = child(general, "language"); n; n = sibling(n, "language")) {
        char *text = conv_node_text(c, n, 1, STRING_MAX);
        char tag[LANG_TAG_MAX];

        lang_tag(tag, text);
        if (text != NULL)
            conv_append(c, "languages", json_string(tag));
        free(text);
    }

    /* IEEE general/identifier/entry, IMS general/catalogentry/entry */
    n = child(general, "identifier");
    if (n == NULL)
        n = child(general, "catalogentry");
    for (; n != NULL && c->source_id == NULL; n = n->next) {
        if (name_is(n, "identifier") || name_is(n, "catalogentry"))
            c->source_id = conv_plain(c, child(n, "entry"));
    }
}

/* One contributor per entity of a lifecycle <contribute>. */
static void conv_contribute(struct conv *c, const xmlNode *contrib)
{
    json_t *role_term = conv_term(c, "role", child(contrib, "role"));
    const char *role = role_term ? term_meaning(role_term) : "unknown";
    char date[TIMESTAMP_LEN] = "";
    xmlNode *e;

    if (conv_date(c, date, child(contrib, "date")) == 0 &&
        (c->created[0] == '\0' || strcmp(date, c->created) < 0))
        strcpy(c->created, date);

    for (e = contrib->children; e != NULL && !c->nomem; e = e->next) {
        const xmlNode *card = name_is(e, "centity") ? child(e, "vcard") : e;
        char *text, *name = NULL, *org = NULL;
        json_t *who;

        if (!name_is(e, "entity") && !name_is(e, "centity"))
            continue;
        text = conv_node_text(c, card, 0, 64 * 1024);
        if (text == NULL)
            continue;
        name = malloc(strlen(text) + 1);
        org = malloc(strlen(text) + 1);
        if (name == NULL || org == NULL)
            c->nomem = 1;
        else if (strncasecmp(text, "BEGIN:VCARD", 11) == 0)
            vcard_parse(name, org, text);
        else
            snprintf(name, strlen(text) + 1, "%s", text);
        if (org != NULL && strncasecmp(text, "BEGIN:VCARD", 11) != 0)
            org[0] = '\0';
        free(text);

        text = c->nomem ? NULL : conv_text(c, name, 1, STRING_MAX);
        if (text != NULL) {
            char *o = conv_text(c, org, 1, STRING_MAX);

            who = json_pack("{s:s, s:s}", "role", role, "name", text);
            if (who == NULL)
                c->nomem = 1;
            if (who != NULL && o != NULL && strcmp(o, text) != 0)
                conv_set(c, who, "org", json_string(o));
            if (who != NULL && date[0] != '\0')
                conv_set(c, who, "date", json_string(date));
            conv_append(c, "contributors", who);
            free(o);
            free(text);
        }
        free(name);
        free(org);
    }
    json_decref(role_term);
}

static void conv_lifecycle(struct conv *c, const xmlNode *lifecycle)
{
    for (xmlNode *n = child(lifecycle, "contribute"); n != NULL;
         n = sibling(n, "contribute"))
        conv_contribute(c, n);
}

/* The latest metametadata date stands for "updated" of a lone record. */
static void conv_metametadata(struct conv *c, const xmlNode *meta)
{
    char date[TIMESTAMP_LEN];

    for (xmlNode *n = child(meta, "contribute"); n != NULL;
         n = sibling(n, "contribute")) {
        if (conv_date(c, date, child(n, "date")) == 0 &&
            strcmp(date, c->updated) > 0)
            strcpy(c->updated, date);
    }
}

static int is_url(const char *s)
{
    if (strncasecmp(s, "http://", 7) != 0 &&
        strncasecmp(s, "https://", 8) != 0 && strncasecmp(s, "ftp://", 6))
        return 0;
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return 0;
    }
    return 1;
}

static void conv_technical(struct conv *c, const xmlNode *technical)
{
    for (xmlNode *n = child(technical, "location"); n != NULL;
         n = sibling(n, "location")) {
        char *url = conv_node_text(c, n, 0, STRING_MAX);

        if (url != NULL && is_url(url) &&
            json_object_get(c->doc, "source_url") == NULL)
            conv_set(c, c->doc, "source_url", json_string(url));
        free(url);
    }
}

static void conv_educational(struct conv *c, const xmlNode *edu)
{
    for (xmlNode *n = edu->children; n != NULL; n = n->next) {
        if (name_is(n, "context"))
            conv_append(c, "levels", conv_term(c, "context", n));
        else if (name_is(n, "learningresourcetype"))
            conv_append(c, "resource_types",
                        conv_term(c, "learningresourcetype", n));
        else if (name_is(n, "intendedenduserrole"))
            conv_append(c, "audience", conv_term(c, "intendedenduserrole", n));
        else if (name_is(n, "typicalagerange") &&
                 json_object_get(c->doc, "age_range") == NULL) {
            char *range = conv_plain(c, n);

            if (range != NULL)
                conv_set(c, c->doc, "age_range", json_string(range));
            free(range);
        }
    }
}

/* Each taxon of a path as a term: id as value, entries as label. */
static void conv_taxonpath(struct conv *c, const char *field,
                           const xmlNode *path)
{
    char *source = conv_plain(c, child(path, "source"));

    for (xmlNode *t = child(path, "taxon"); t != NULL && !c->nomem;
         t = sibling(t, "taxon")) {
        struct langstrings label = {json_object(), 0, 0, 1, STRING_MAX};
        char *value = conv_node_text(c, child(t, "id"), 1, STRING_MAX);
        json_t *term = NULL;

        if (label.obj == NULL) {
            c->nomem = 1;
            break;
        }
        conv_langstrings(c, &label, child(t, "entry"));
        if (value == NULL && json_object_size(label.obj) > 0) {
            const char *key = json_object_iter_key(json_object_iter(label.obj));

            value = strdup(json_string_value(json_object_get(label.obj, key)));
            c->nomem |= value == NULL;
        }
        if (value != NULL)
            term = term_new(c, source != NULL ? source : "", value, NULL);
        if (term != NULL && json_object_size(label.obj) > 0)
            conv_set(c, term, "label", json_incref(label.obj));
        conv_append(c, field, term);
        json_decref(label.obj);
        free(value);
    }
    free(source);
}

static void conv_classification(struct conv *c, const xmlNode *cl)
{
    json_t *purpose = conv_term(c, "purpose", child(cl, "purpose"));
    const char *meaning = purpose ? term_meaning(purpose) : "";
    const char *field = NULL;

    if (strcasecmp(meaning, "discipline") == 0)
        field = "subjects";
    else if (strcasecmp(meaning, "educational level") == 0)
        field = "levels";
    for (xmlNode *p = child(cl, "taxonpath"); p != NULL && field != NULL;
         p = sibling(p, "taxonpath"))
        conv_taxonpath(c, field, p);
    json_decref(purpose);
}

/* A rights text that is nothing but a licence reference: a URL or code. */
static int is_bare_reference(const char *text)
{
    for (; *text != '\0'; text++) {
        if (is_space((unsigned char)*text))
            return 0;
    }
    return 1;
}

/* The licence flags of lic as the document's "licence_flags". */
static void conv_licence_flags(struct conv *c, unsigned flags)
{
    const char *names[8];
    size_t n = licence_flag_names(names, 8, flags);

    for (size_t i = 0; i < n && i < 8; i++)
        conv_append(c, "licence_flags", json_string(names[i]));
}

/*
 * Licence from the copyright value (NL-LOM codes such as cc-by-sa-30 sit
 * there) and the rights description.  The first one recognised gives the
 * licence; texts that say more than that id go to "rights".
 */
static void conv_rights(struct conv *c, const xmlNode *rights)
{
    xmlNode *cr = child(rights, "copyrightandotherrestrictions");
    char *texts[2] = {conv_plain(c, child(cr, "value")),
                      conv_plain(c, child(rights, "description"))};
    struct licence lic[2];
    char *kept = NULL;
    int chosen = -1;

    if (texts[0] != NULL &&
        (strcasecmp(texts[0], "yes") == 0 || strcasecmp(texts[0], "no") == 0)) {
        free(texts[0]);
        texts[0] = NULL;
    }
    for (int i = 0; i < 2; i++) {
        if (texts[i] == NULL)
            continue;
        if (licence_normalise(&lic[i], texts[i]) == OER_ENOMEM)
            c->nomem = 1;
        if (chosen < 0 && strcmp(lic[i].id, LICENCE_UNKNOWN) != 0)
            chosen = i;
        else if (chosen >= 0 && strcmp(lic[i].id, LICENCE_UNKNOWN) != 0 &&
                 strcmp(lic[i].id, lic[chosen].id) != 0)
            conv_flag(c, "licence-conflict");
    }
    conv_set(c, c->doc, "licence",
             json_string(chosen >= 0 ? lic[chosen].id : LICENCE_UNKNOWN));
    if (chosen >= 0)
        conv_licence_flags(c, lic[chosen].flags);

    for (int i = 0; i < 2; i++) {
        if (texts[i] == NULL || (chosen >= 0 && is_bare_reference(texts[i]) &&
                                 strcmp(lic[i].id, lic[chosen].id) == 0))
            continue;
        if (kept == NULL) {
            kept = texts[i];
            texts[i] = NULL;
        } else {
            char *both = malloc(strlen(kept) + strlen(texts[i]) + 2);

            if (both != NULL)
                sprintf(both, "%s\n%s", kept, texts[i]);
            free(kept);
            kept = both;
        }
    }
    if (kept != NULL) {
        conv_truncate(c, kept, STRING_MAX);
        conv_set(c, c->doc, "rights", json_string(kept));
    }
    free(kept);
    free(texts[0]);
    free(texts[1]);
}

/* ------------------------------------------------------------------ */
/* Records                                                              */

static const struct {
    const char *name;
    void (*convert)(struct conv *c, const xmlNode *section);
} sections[] = {
    {"general", conv_general},
    {"lifecycle", conv_lifecycle},
    {"metametadata", conv_metametadata},
    {"technical", conv_technical},
    {"educational", conv_educational},
    {"classification", conv_classification},
};

/* 1 for a LOM namespace, 0 for none, -1 for any other. */
static int lom_namespace(const xmlNode *root)
{
    if (root->ns == NULL || root->ns->href == NULL || !root->ns->href[0])
        return 0;
    for (const char *const *ns = lom_namespaces; *ns != NULL; ns++) {
        if (xmlStrcmp(root->ns->href, (const xmlChar *)*ns) == 0)
            return 1;
    }
    return -1;
}

/* Whether the text of the record holds U+FFFD (after a UTF-8 repair). */
static int has_replacement(const xmlNode *n)
{
    xmlChar *text = xmlNodeGetContent(n);
    int found =
        text != NULL && strstr((const char *)text, XMLDOC_REPLACEMENT) != NULL;

    xmlFree(text);
    return found;
}

/* Remove the empty objects and arrays that sections may have left. */
static void conv_prune(struct conv *c)
{
    const char *key;
    json_t *v;
    void *tmp;

    json_object_foreach_safe(c->doc, tmp, key, v)
    {
        if ((json_is_object(v) && json_object_size(v) == 0) ||
            (json_is_array(v) && json_array_size(v) == 0))
            json_object_del(c->doc, key);
    }
}

/* Fields that come from several sections, and the checks at the end. */
static void conv_finish(struct conv *c)
{
    json_t *title = json_object_get(c->doc, "title");
    const char *lang;
    json_t *v;

    if (json_object_get(c->doc, "licence") == NULL)
        conv_rights(c, NULL);
    if (json_array_size(json_object_get(c->doc, "languages")) == 0)
        json_object_foreach(title, lang, v)
            conv_append(c, "languages", json_string(lang));
    if (json_array_size(json_object_get(c->doc, "languages")) == 0)
        conv_append(c, "languages", json_string("und"));
    if (c->created[0] != '\0')
        conv_set(c, c->doc, "created", json_string(c->created));
    if (c->updated[0] != '\0')
        conv_set(c, c->doc, "updated", json_string(c->updated));
    if (json_array_size(c->flags) > 0)
        conv_set(c, c->doc, "flags", json_incref(c->flags));
    conv_prune(c);
    if (json_object_size(json_object_get(c->doc, "title")) == 0)
        snprintf(c->problem, sizeof(c->problem), "no title");
}

/*
 * Convert the record whose root is lom into c->doc, or say in c->problem
 * why it cannot be; c->nomem when memory ran out.
 */
static void conv_record(struct conv *c, const xmlNode *lom, int repaired)
{
    int ns = lom_namespace(lom);

    if (!name_is(lom, "lom") || ns < 0) {
        snprintf(c->problem, sizeof(c->problem),
                 ns < 0 ? "unsupported metadata namespace \"%s\""
                        : "not a LOM record (<%s>)",
                 ns < 0 ? (const char *)lom->ns->href
                        : (const char *)lom->name);
        return;
    }
    c->doc = json_pack("{s:i}", "schema", 1);
    c->flags = json_array();
    if (c->doc == NULL || c->flags == NULL) {
        c->nomem = 1;
        return;
    }
    if (ns == 0)
        conv_flag(c, "namespace-missing");
    if (repaired && has_replacement(lom))
        conv_flag(c, "encoding-repaired");

    for (xmlNode *n = lom->children; n != NULL && !c->nomem; n = n->next) {
        for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
            if (name_is(n, sections[i].name))
                sections[i].convert(c, n);
        if (name_is(n, "rights") && !json_object_get(c->doc, "licence"))
            conv_rights(c, n);
    }
    if (!c->nomem)
        conv_finish(c);
}

static void conv_release(struct conv *c)
{
    json_decref(c->doc);
    json_decref(c->flags);
    free(c->source_id);
}

/* ------------------------------------------------------------------ */
/* Reading an input                                                     */

struct reader {
    const char *name;
    struct lom_page *page;
    lom_record_cb cb;
    void *arg;
    int repaired; /* invalid UTF-8 was replaced before parsing */
    size_t index;
};

static int reader_report(struct reader *r, struct lom_record *rec)
{
    rec->index = ++r->index;
    if (rec->error != NULL) {
        char num[24];

        r->page->errors++;
        log_warn("lom", "record not converted", "file", r->name, "record",
                 rec->source_id != NULL ? rec->source_id
                                        : log_num(num, (long long)rec->index),
                 "reason", rec->error, NULL);
    } else if (rec->deleted) {
        r->page->deleted++;
    } else {
        r->page->records++;
    }
    return r->cb != NULL ? r->cb(rec, r->arg) : 0;
}

/* Convert and report one LOM record; oai_id and datestamp from a page. */
static int read_lom(struct reader *r, const xmlNode *lom, const char *oai_id,
                    const char *datestamp)
{
    struct conv c = {0};
    struct lom_record rec = {0};
    int rc = OER_ENOMEM;

    conv_record(&c, lom, r->repaired);
    rec.source_id = oai_id != NULL ? oai_id : c.source_id;
    rec.datestamp = datestamp;
    if (c.problem[0] == '\0' && rec.source_id == NULL)
        snprintf(c.problem, sizeof(c.problem), "no identifier");
    if (c.problem[0] == '\0') {
        conv_set(&c, c.doc, "source_id", json_string(rec.source_id));
        if (datestamp != NULL)
            conv_set(&c, c.doc, "updated", json_string(datestamp));
        rec.doc = c.doc;
    } else {
        rec.error = c.problem;
    }
    if (!c.nomem)
        rc = reader_report(r, &rec);
    conv_release(&c);
    return rc;
}

static void page_text(char **out, const xmlNode *n)
{
    struct conv pc = {0};

    *out = conv_node_text(&pc, n, 1, SIZE_MAX);
}

static int read_oai_record(struct reader *r, const xmlNode *record)
{
    xmlNode *header = child(record, "header");
    xmlNode *meta = child(record, "metadata"), *lom = NULL;
    xmlChar *status = header ? xmlGetNoNsProp(header, BAD_CAST "status") : NULL;
    struct lom_record rec = {0};
    char *id = NULL, *raw = NULL, stamp[TIMESTAMP_LEN];
    int rc;

    page_text(&id, child(header, "identifier"));
    page_text(&raw, child(header, "datestamp"));
    rec.source_id = id;
    rec.datestamp = date_norm(stamp, raw) == 0 ? stamp : NULL;
    rec.deleted = status != NULL && xmlStrcmp(status, BAD_CAST "deleted") == 0;
    if (meta != NULL)
        lom = first_element(meta);

    if (id == NULL)
        rec.error = "record without identifier";
    else if (!rec.deleted && meta == NULL)
        rec.error = "record without metadata";
    else if (!rec.deleted && lom == NULL)
        rec.error = "metadata holds no XML element";
    if (rec.error != NULL || rec.deleted) {
        rec.deleted = rec.error == NULL;
        rc = reader_report(r, &rec);
    } else {
        rc = read_lom(r, lom, id, rec.datestamp);
    }
    xmlFree(status);
    free(id);
    free(raw);
    return rc;
}

static long long attr_number(const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
    char *end = NULL;
    long long num = v != NULL ? strtoll((const char *)v, &end, 10) : -1;

    if (v != NULL && (end == (char *)v || *end != '\0' || num < 0))
        num = -1;
    xmlFree(v);
    return num;
}

/* An OAI-PMH error response; noRecordsMatch is an empty list. */
static int read_oai_error(struct reader *r, const xmlNode *error)
{
    xmlChar *code = xmlGetNoNsProp(error, BAD_CAST "code");

    r->page->error_code = strdup(code != NULL ? (const char *)code : "");
    page_text(&r->page->error_message, error);
    xmlFree(code);
    if (r->page->error_code == NULL)
        return OER_ENOMEM;
    if (strcmp(r->page->error_code, "noRecordsMatch") == 0) {
        log_info("lom", "oai-pmh list is empty", "file", r->name, NULL);
        return 0;
    }
    log_warn("lom", "oai-pmh error response", "file", r->name, "code",
             r->page->error_code, "message", r->page->error_message, NULL);
    return OER_EPROTO;
}

static int read_oai(struct reader *r, const xmlNode *root)
{
    xmlNode *request = child(root, "request"), *list, *token;
    xmlChar *verb = request ? xmlGetNoNsProp(request, BAD_CAST "verb") : NULL;
    int rc = 0;

    r->page->oai = 1;
    page_text(&r->page->response_date, child(root, "responseDate"));
    r->page->verb = verb != NULL ? strdup((const char *)verb) : NULL;
    xmlFree(verb);
    if (child(root, "error") != NULL)
        return read_oai_error(r, child(root, "error"));

    list = child(root, "ListRecords");
    if (list == NULL)
        list = child(root, "GetRecord");
    if (list == NULL) {
        log_warn("lom", "oai-pmh response holds no records", "file", r->name,
                 "verb", r->page->verb, NULL);
        return OER_EUNSUPPORTED;
    }
    token = child(list, "resumptionToken");
    if (token != NULL) {
        page_text(&r->page->resumption_token, token);
        if (r->page->resumption_token == NULL)
            r->page->resumption_token = strdup("");
        r->page->complete_list_size = attr_number(token, "completeListSize");
        r->page->cursor = attr_number(token, "cursor");
    }
    for (xmlNode *n = child(list, "record"); n != NULL && rc == 0;
         n = sibling(n, "record"))
        rc = read_oai_record(r, n);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                              */

/* Parse the input with the repairs of node/xmldoc; logs a refusal. */
static int xml_load(xmlDoc **out, int *repaired, const char *buf, size_t len,
                    const char *name)
{
    char why[256] = "";
    int err =
        xmldoc_load(out, repaired, buf, len, name, NULL, why, sizeof(why));

    if (err == OER_EINVAL)
        log_warn("lom", "not LOM or OAI-PMH", "file", name, "reason", why,
                 NULL);
    return err;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                         */

int lom_read_memory(struct lom_page *page, const char *buf, size_t len,
                    const char *name, lom_record_cb cb, void *arg)
{
    struct lom_page local;
    struct reader r = {name != NULL ? name : "(memory)", page, cb, arg, 0, 0};
    xmlDoc *doc = NULL;
    xmlNode *root;
    int err;

    if (page == NULL)
        r.page = &local;
    memset(r.page, 0, sizeof(*r.page));
    r.page->complete_list_size = r.page->cursor = -1;
    if (buf == NULL || len > LOM_INPUT_MAX) {
        log_warn("lom", "not LOM or OAI-PMH", "file", r.name, "reason",
                 buf == NULL ? "no input" : "input too large", NULL);
        return OER_EINVAL;
    }

    xmlInitParser();
    err = xml_load(&doc, &r.repaired, buf, len, r.name);
    if (err != 0)
        goto out;
    root = xmlDocGetRootElement(doc);
    if (root != NULL && name_is(root, "OAI-PMH") && root->ns != NULL &&
        xmlStrcmp(root->ns->href, BAD_CAST LOM_NS_OAI) == 0) {
        err = read_oai(&r, root);
    } else if (root != NULL && name_is(root, "lom")) {
        err = read_lom(&r, root, NULL, NULL);
    } else {
        log_warn("lom", "not LOM or OAI-PMH", "file", r.name, "root",
                 root != NULL ? (const char *)root->name : "", NULL);
        err = OER_EINVAL;
    }

out:
    xmlFreeDoc(doc);
    if (page == NULL)
        lom_page_release(&local);
    return err;
}

int lom_read_file(struct lom_page *page, const char *path, lom_record_cb cb,
                  void *arg)
{
    char *buf = NULL;
    size_t len;
    int err;

    if (page != NULL) {
        memset(page, 0, sizeof(*page));
        page->complete_list_size = page->cursor = -1;
    }
    err = wholefile_read(&buf, &len, path, LOM_INPUT_MAX);
    if (err == OER_EINVAL)
        log_warn("lom", "not LOM or OAI-PMH", "file", path, "reason",
                 "not a file, or a file too large", NULL);
    else if (err < 0)
        log_warn("lom", "cannot read file", "file", path, NULL);
    else
        err = lom_read_memory(page, buf, len, path, cb, arg);
    free(buf);
    return err;
}

void lom_page_release(struct lom_page *page)
{
    if (page == NULL)
        return;
    free(page->verb);
    free(page->response_date);
    free(page->resumption_token);
    free(page->error_code);
    free(page->error_message);
    memset(page, 0, sizeof(*page));
}
