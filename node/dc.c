/*
 * dc: Dublin Core records, OAI-PMH pages of them and Learning Registry
 * envelopes into metadata documents, and their import through the sink.
 */
#include "node/dc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "node/error.h"
#include "node/licence.h"
#include "node/log.h"
#include "node/metadata.h"
#include "node/wholefile.h"
#include "node/xmldoc.h"

#define NS_OAI "http://www.openarchives.org/OAI/2.0/"
#define NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define LIST_MAX 200
#define STRING_MAX 2000
#define TITLE_MAX 1000
#define DESCRIPTION_MAX 20000
#define JSON_DEPTH_MAX 16

/* What one reading goes through. */
struct reader {
    const char *name;
    dc_record_cb cb;
    void *arg;
    size_t index;          /* records reported */
    int stop;              /* cb's non-zero return */
    struct lom_page *page; /* filled from an OAI-PMH envelope, or NULL */
    const char *datestamp; /* of the OAI record being read, or NULL */
};

/* ---- XML --------------------------------------------------------------- */

/* How a document was repaired (node/xmldoc.h, then a recovery parse). */
enum { REPAIR_ENCODING = 1 << 0, REPAIR_XML = 1 << 1 };

/*
 * Parse with node/xmldoc's repairs; when the document is still not
 * well-formed (and holds no DOCTYPE), once more in libxml2's recovery
 * mode.  *repaired says which repair it took.
 */
static int xml_load(xmlDoc **out, int *repaired, const char *buf, size_t len,
                    const char *name, const char *encoding, char *why,
                    size_t cap)
{
    char again[64];
    int fixed = 0, err;

    err = xmldoc_load(out, &fixed, buf, len, name, encoding, why, cap);
    *repaired = fixed ? REPAIR_ENCODING : 0;
    if (err != OER_EINVAL || strstr(why, "DOCTYPE") != NULL)
        return err;
    err = xmldoc_parse(out, buf, len, name, encoding, XML_PARSE_RECOVER, again,
                       sizeof(again));
    if (err == 0 && xmlDocGetRootElement(*out) != NULL) {
        *repaired = REPAIR_XML;
        return 0;
    }
    xmlFreeDoc(*out);
    *out = NULL;
    return err == OER_ENOMEM ? err : OER_EINVAL;
}

static int in_ns(const xmlNode *n, const char *ns)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           xmlStrcmp(n->ns->href, BAD_CAST ns) == 0;
}

static int is_el(const xmlNode *n, const char *ns, const char *name)
{
    return in_ns(n, ns) && xmlStrcmp(n->name, BAD_CAST name) == 0;
}

static xmlNode *child_el(const xmlNode *parent, const char *ns,
                         const char *name)
{
    for (xmlNode *n = parent != NULL ? parent->children : NULL; n != NULL;
         n = n->next) {
        if (is_el(n, ns, name))
            return n;
    }
    return NULL;
}

static xmlNode *first_el(const xmlNode *parent)
{
    for (xmlNode *n = parent->children; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE)
            return n;
    }
    return NULL;
}

/* Whether n holds Dublin Core: dc or dcterms elements as children. */
static int is_dc(const xmlNode *n)
{
    if (n == NULL)
        return 0;
    for (const xmlNode *c = n->children; c != NULL; c = c->next) {
        if (in_ns(c, DC_NS_ELEMENTS) || in_ns(c, DC_NS_TERMS))
            return 1;
    }
    return 0;
}

/* ---- text ------------------------------------------------------------ */

/* The text of n, white space collapsed and trimmed, cut at max bytes on
 * a character boundary; NULL when empty (malloc'd). */
static char *text_of(const xmlNode *n, size_t max)
{
    xmlChar *raw = xmlNodeGetContent(n);
    char *out;
    size_t len = 0;
    int space = 0;

    if (raw == NULL)
        return NULL;
    out = malloc(strlen((char *)raw) + 1);
    for (const char *s = (char *)raw; out != NULL && *s != '\0'; s++) {
        if (strchr(" \t\r\n", *s) != NULL) {
            space = len > 0;
            continue;
        }
        if (space)
            out[len++] = ' ';
        space = 0;
        out[len++] = *s;
    }
    xmlFree(raw);
    if (out == NULL)
        return NULL;
    if (len > max) {
        len = max;
        while (len > 0 && ((unsigned char)out[len] & 0xc0) == 0x80)
            len--;
    }
    out[len] = '\0';
    if (len == 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* The xsi:type of n, or NULL (malloc'd by libxml2: xmlFree). */
static char *xsi_type(const xmlNode *n)
{
    return (char *)xmlGetNsProp(n, BAD_CAST "type", BAD_CAST NS_XSI);
}

/* ---- languages --------------------------------------------------------- */

/* Names and ISO 639-2 codes of common languages, to ISO 639-1. */
static const char *const language_table[][3] = {
    {"english", "eng", "en"},    {"spanish", "spa", "es"},
    {"french", "fra", "fr"},     {"french", "fre", "fr"},
    {"german", "deu", "de"},     {"german", "ger", "de"},
    {"dutch", "nld", "nl"},      {"dutch", "dut", "nl"},
    {"italian", "ita", "it"},    {"portuguese", "por", "pt"},
    {"russian", "rus", "ru"},    {"chinese", "zho", "zh"},
    {"chinese", "chi", "zh"},    {"japanese", "jpn", "ja"},
    {"arabic", "ara", "ar"},     {"swedish", "swe", "sv"},
    {"norwegian", "nor", "no"},  {"danish", "dan", "da"},
    {"finnish", "fin", "fi"},    {"polish", "pol", "pl"},
    {"greek", "ell", "el"},      {"greek", "gre", "el"},
    {"latin", "lat", "la"},      {"hebrew", "heb", "he"},
    {"korean", "kor", "ko"},     {"turkish", "tur", "tr"},
    {"hindi", "hin", "hi"},      {"czech", "ces", "cs"},
    {"czech", "cze", "cs"},      {"hungarian", "hun", "hu"},
    {"irish", "gle", "ga"},      {"welsh", "cym", "cy"},
    {"welsh", "wel", "cy"},      {"catalan", "cat", "ca"},
    {"basque", "eus", "eu"},     {"basque", "baq", "eu"},
    {"estonian", "est", "et"},   {"ukrainian", "ukr", "uk"},
    {"vietnamese", "vie", "vi"}, {"frisian", "fry", "fy"},
};

/* Whether s is a BCP 47 tag of the shape docs/METADATA.md accepts. */
static int tag_shape(const char *s)
{
    size_t sub = 0, first = 0;

    for (; *s != '\0'; s++) {
        if (*s == '-') {
            if (sub == 0 || (first == 0 && (sub < 2 || sub > 3)))
                return 0;
            first = first > 0 ? first : sub;
            sub = 0;
        } else if ((*s >= 'a' && *s <= 'z') ||
                   (first > 0 && *s >= '0' && *s <= '9')) {
            if (++sub > 8)
                return 0;
        } else {
            return 0;
        }
    }
    return sub > 0 && (first > 0 || (sub >= 2 && sub <= 3));
}

/* The language tag of a dc:language value in out (64 bytes); 0 when it
 * is neither a tag nor a name of the table. */
static int language_tag(char *out, const char *value)
{
    size_t n = strlen(value);

    if (n == 0 || n >= 64)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        char ch = value[i] == '_' ? '-' : value[i];

        out[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    }
    for (size_t i = 0; i < sizeof(language_table) / sizeof(*language_table);
         i++) {
        if (strcmp(out, language_table[i][0]) == 0 ||
            strcmp(out, language_table[i][1]) == 0) {
            strcpy(out, language_table[i][2]);
            return 1;
        }
    }
    if (strcmp(out, "x-none") == 0)
        strcpy(out, "und");
    return tag_shape(out);
}

/* ---- the conversion of one record -------------------------------------- */

struct conv {
    json_t *doc;
    json_t *rights;   /* array of strings: dc:rights, accessRights */
    json_t *licences; /* array of strings: license, rights */
    char lang[64];    /* the language of untagged strings */
    int oom;
};

static void set_new(struct conv *c, json_t *obj, const char *key, json_t *v)
{
    if (v == NULL || json_object_set_new(obj, key, v) < 0)
        c->oom = 1;
}

/* The array field of the document, created on first use. */
static json_t *field(struct conv *c, const char *key)
{
    json_t *a = json_object_get(c->doc, key);

    if (a == NULL) {
        a = json_array();
        set_new(c, c->doc, key, a);
        a = json_object_get(c->doc, key);
    }
    return a;
}

/* Append v to a when a has room and holds no equal value; steals v. */
static void add_unique(struct conv *c, json_t *a, json_t *v)
{
    size_t i;
    json_t *have;

    if (v == NULL || a == NULL) {
        c->oom = 1;
        json_decref(v);
        return;
    }
    json_array_foreach(a, i, have)
    {
        if (json_equal(have, v)) {
            json_decref(v);
            return;
        }
    }
    if (json_array_size(a) >= LIST_MAX || json_array_append_new(a, v) < 0)
        json_decref(v);
}

static void string_lang(char *out, const struct conv *c, const xmlNode *n)
{
    xmlChar *raw = xmlNodeGetLang(n);

    if (raw == NULL || !language_tag(out, (const char *)raw))
        strcpy(out, c->lang);
    xmlFree(raw);
}

/* title and description: langmaps; a second description of a language
 * is appended. */
static void put_langmap(struct conv *c, const xmlNode *n, const char *key,
                        size_t max)
{
    char lang[64], *text = text_of(n, max), *joined;
    json_t *map = json_object_get(c->doc, key);
    const char *have;

    if (text == NULL)
        return;
    string_lang(lang, c, n);
    if (map == NULL) {
        set_new(c, c->doc, key, json_object());
        map = json_object_get(c->doc, key);
    }
    have = json_string_value(json_object_get(map, lang));
    if (map != NULL && have == NULL) {
        set_new(c, map, lang, json_string(text));
    } else if (map != NULL && strcmp(key, "description") == 0 &&
               strlen(have) + strlen(text) + 2 <= max) {
        size_t hl = strlen(have), tl = strlen(text);

        joined = malloc(hl + tl + 3);
        if (joined != NULL) {
            memcpy(joined, have, hl);
            memcpy(joined + hl, "\n\n", 2);
            memcpy(joined + hl + 2, text, tl + 1);
            set_new(c, map, lang, json_string(joined));
        }
        free(joined);
    }
    free(text);
}

static void put_keyword(struct conv *c, const xmlNode *n)
{
    char lang[64], *text = text_of(n, STRING_MAX);
    json_t *map, *list;

    if (text == NULL)
        return;
    string_lang(lang, c, n);
    map = json_object_get(c->doc, "keywords");
    if (map == NULL) {
        set_new(c, c->doc, "keywords", json_object());
        map = json_object_get(c->doc, "keywords");
    }
    list = json_object_get(map, lang);
    if (map != NULL && list == NULL) {
        set_new(c, map, lang, json_array());
        list = json_object_get(map, lang);
    }
    add_unique(c, list, json_string(text));
    free(text);
}

/* A term {source, value} in the array field key. */
static void put_term(struct conv *c, const xmlNode *n, const char *key,
                     const char *source)
{
    char *text = text_of(n, STRING_MAX), *type = NULL;

    if (text == NULL)
        return;
    if (source == NULL)
        type = xsi_type(n);
    if (type != NULL && strlen(type) > STRING_MAX)
        type[STRING_MAX] = '\0';
    add_unique(c, field(c, key),
               json_pack("{s:s, s:s}", "source",
                         source != NULL ? source
                         : type != NULL ? type
                                        : "",
                         "value", text));
    xmlFree(type);
    free(text);
}

static void put_contributor(struct conv *c, const xmlNode *n, const char *role)
{
    char *text = text_of(n, STRING_MAX);

    if (text != NULL)
        add_unique(c, field(c, "contributors"),
                   json_pack("{s:s, s:s}", "role", role, "name", text));
    free(text);
}

static void put_string(struct conv *c, json_t *list, const xmlNode *n)
{
    char *text = text_of(n, STRING_MAX);

    if (text != NULL)
        add_unique(c, list, json_string(text));
    free(text);
}

static void put_identifier(struct conv *c, const xmlNode *n)
{
    char *text = text_of(n, STRING_MAX);

    if (text != NULL && metadata_valid_url(text) &&
        json_object_get(c->doc, "source_url") == NULL)
        set_new(c, c->doc, "source_url", json_string(text));
    free(text);
}

/* created from a date "YYYY-MM-DD" (anything after it ignored) when the
 * document has none yet; years and months alone are not dates, nor is a
 * day the calendar lacks (2019-09-31, 2019-02-29). */
static void put_date(struct conv *c, const xmlNode *n)
{
    char *text = text_of(n, 64), day[11];

    if (text != NULL && strlen(text) >= 10 &&
        json_object_get(c->doc, "created") == NULL) {
        memcpy(day, text, 10);
        day[10] = '\0';
        if (metadata_valid_timestamp(day))
            set_new(c, c->doc, "created", json_string(day));
    }
    free(text);
}

static void put_subject(struct conv *c, const xmlNode *n)
{
    char *type = xsi_type(n);

    if (type == NULL)
        put_keyword(c, n);
    else
        put_term(c, n, "subjects", NULL);
    xmlFree(type);
}

/* What to do with one element of a record. */
static void conv_element(struct conv *c, const xmlNode *n)
{
    const char *name = (const char *)n->name;
    int dc = in_ns(n, DC_NS_ELEMENTS), terms = in_ns(n, DC_NS_TERMS);

    if (!dc && !terms)
        return;
    if (strcmp(name, "title") == 0)
        put_langmap(c, n, "title", TITLE_MAX);
    else if (strcmp(name, "description") == 0 || strcmp(name, "abstract") == 0)
        put_langmap(c, n, "description", DESCRIPTION_MAX);
    else if (strcmp(name, "subject") == 0)
        put_subject(c, n);
    else if (strcmp(name, "conformsTo") == 0)
        put_term(c, n, "subjects", "dcterms:conformsTo");
    else if (strcmp(name, "type") == 0)
        put_term(c, n, "resource_types", NULL);
    else if (strcmp(name, "educationLevel") == 0)
        put_term(c, n, "levels", NULL);
    else if (strcmp(name, "audience") == 0)
        put_term(c, n, "audience", NULL);
    else if (strcmp(name, "creator") == 0)
        put_contributor(c, n, "author");
    else if (strcmp(name, "contributor") == 0)
        put_contributor(c, n, "contributor");
    else if (strcmp(name, "publisher") == 0)
        put_contributor(c, n, "publisher");
    else if (strcmp(name, "identifier") == 0)
        put_identifier(c, n);
    else if (strcmp(name, "date") == 0 || strcmp(name, "created") == 0 ||
             strcmp(name, "issued") == 0)
        put_date(c, n);
    else if (strcmp(name, "license") == 0)
        put_string(c, c->licences, n);
    else if (strcmp(name, "rights") == 0) {
        put_string(c, c->licences, n);
        put_string(c, c->rights, n);
    } else if (strcmp(name, "accessRights") == 0)
        put_string(c, c->rights, n);
}

/* Languages first, so that untagged strings take the record's one. */
static void conv_languages(struct conv *c, const xmlNode *record)
{
    json_t *langs = field(c, "languages");
    char tag[64], *text;

    for (const xmlNode *n = record->children; n != NULL; n = n->next) {
        if (!is_el(n, DC_NS_ELEMENTS, "language") &&
            !is_el(n, DC_NS_TERMS, "language"))
            continue;
        text = text_of(n, 63);
        if (text != NULL && language_tag(tag, text))
            add_unique(c, langs, json_string(tag));
        free(text);
    }
    if (json_array_size(langs) == 0)
        add_unique(c, langs, json_string("und"));
    snprintf(c->lang, sizeof(c->lang), "%s",
             json_array_size(langs) == 1
                 ? json_string_value(json_array_get(langs, 0))
                 : "und");
}

/* A string that is only a URL (a licence URI), not prose. */
/* The licence of all rights and license statements; rights keeps the
 * prose (B14: a licence URI in plain dc:rights counts). */
static void conv_licence(struct conv *c)
{
    struct licence lic;
    const char *names[8];
    size_t i, n, len = 0;
    json_t *v;
    char *text = NULL, *prose = NULL;

    json_array_foreach(c->licences, i, v)
    {
        len += strlen(json_string_value(v)) + 2;
    }
    json_array_foreach(c->rights, i, v)
    {
        len += strlen(json_string_value(v)) + 2;
    }
    text = calloc(1, len + 1);
    prose = calloc(1, len + 1);
    if (text == NULL || prose == NULL) {
        c->oom = 1;
        goto out;
    }
    json_array_foreach(c->licences, i, v)
    {
        strcat(strcat(text, i > 0 ? "\n" : ""), json_string_value(v));
    }
    if (licence_normalise(&lic, text) == OER_ENOMEM)
        c->oom = 1;
    set_new(c, c->doc, "licence", json_string(lic.id));

    /* a bare URL is prose only when it named no licence */
    json_array_foreach(c->rights, i, v)
    {
        if (metadata_valid_url(json_string_value(v)) &&
            strcmp(lic.id, LICENCE_UNKNOWN) != 0)
            continue;
        strcat(strcat(prose, prose[0] != '\0' ? "; " : ""),
               json_string_value(v));
    }
    n = licence_flag_names(names, 8, lic.flags);
    for (i = 0; i < n && i < 8; i++)
        add_unique(c, field(c, "licence_flags"), json_string(names[i]));
    if (prose[0] != '\0')
        set_new(c, c->doc, "rights",
                json_stringn(prose, strlen(prose) > STRING_MAX
                                        ? STRING_MAX
                                        : strlen(prose)));

out:
    free(text);
    free(prose);
}

/* Whether a string of doc holds U+FFFD, the mark of a repaired byte. */
static int holds_replacement(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    int found = text != NULL && strstr(text, XMLDOC_REPLACEMENT) != NULL;

    free(text);
    return found;
}

/*
 * Convert the DC element record into *out (caller's), or say why not in
 * *reason.  source_id (may be NULL: the first dc:identifier) and
 * fallback_url (may be NULL) come from around the record.
 */
static int conv_record(json_t **out, const char **reason, const xmlNode *record,
                       const char *source_id, const char *fallback_url,
                       int repaired)
{
    struct conv c = {0};
    xmlNode *id = NULL;
    char *first_id = NULL;
    int err = 0;

    *out = NULL;
    *reason = NULL;
    c.doc = json_pack("{s:i}", "schema", 1);
    c.rights = json_array();
    c.licences = json_array();
    if (c.doc == NULL || c.rights == NULL || c.licences == NULL)
        c.oom = 1;
    if (!c.oom)
        conv_languages(&c, record);
    for (const xmlNode *n = record->children; !c.oom && n != NULL; n = n->next)
        conv_element(&c, n);
    if (!c.oom)
        conv_licence(&c);
    if (json_object_get(c.doc, "source_url") == NULL && fallback_url != NULL &&
        metadata_valid_url(fallback_url) && strlen(fallback_url) <= STRING_MAX)
        set_new(&c, c.doc, "source_url", json_string(fallback_url));
    if (repaired & REPAIR_XML)
        add_unique(&c, field(&c, "flags"), json_string("xml-repaired"));
    if ((repaired & REPAIR_ENCODING) && holds_replacement(c.doc))
        add_unique(&c, field(&c, "flags"), json_string("encoding-repaired"));

    if (source_id == NULL) {
        id = child_el(record, DC_NS_ELEMENTS, "identifier");
        first_id = id != NULL ? text_of(id, STRING_MAX) : NULL;
        source_id = first_id;
    }
    if (source_id != NULL)
        set_new(&c, c.doc, "source_id", json_string(source_id));
    if (c.oom)
        err = OER_ENOMEM;
    else if (json_object_get(c.doc, "title") == NULL)
        *reason = "no title";
    else if (source_id == NULL)
        *reason = "no identifier";
    if (err == 0 && *reason == NULL) {
        *out = c.doc;
        c.doc = NULL;
    }
    free(first_id);
    json_decref(c.doc);
    json_decref(c.rights);
    json_decref(c.licences);
    return err;
}

/* ---- reporting ----------------------------------------------------------- */

static int emit(struct reader *r, const char *source_id, json_t *doc,
                int deleted, const char *reason, const char *detail)
{
    struct dc_record rec = {source_id, doc,        deleted,     reason,
                            detail,    ++r->index, r->datestamp};

    if (r->stop != 0)
        return r->stop;
    r->stop = r->cb(&rec, r->arg);
    return r->stop;
}

/* Convert and report one DC record. */
static int read_record(struct reader *r, const xmlNode *record,
                       const char *source_id, const char *url, int repaired)
{
    const char *reason = NULL;
    json_t *doc = NULL;
    int err = conv_record(&doc, &reason, record, source_id, url, repaired);

    if (err == 0)
        err = emit(r,
                   source_id != NULL
                       ? source_id
                       : json_string_value(json_object_get(doc, "source_id")),
                   doc, 0, reason, NULL);
    json_decref(doc);
    return err;
}

/* ---- OAI-PMH ----------------------------------------------------------- */

static int read_oai_record(struct reader *r, const xmlNode *record,
                           int repaired)
{
    xmlNode *header = child_el(record, NS_OAI, "header");
    xmlNode *idn = child_el(header, NS_OAI, "identifier");
    xmlNode *meta = child_el(record, NS_OAI, "metadata");
    xmlChar *status =
        header != NULL ? xmlGetProp(header, BAD_CAST "status") : NULL;
    char *id = idn != NULL ? text_of(idn, STRING_MAX) : NULL;
    xmlNode *stamp = child_el(header, NS_OAI, "datestamp");
    char *datestamp = stamp != NULL ? text_of(stamp, 64) : NULL;
    xmlNode *payload = meta != NULL ? first_el(meta) : NULL;
    char detail[200];
    int err;

    r->datestamp = datestamp;
    if (status != NULL && xmlStrcmp(status, BAD_CAST "deleted") == 0)
        err = emit(r, id, NULL, id != NULL, id != NULL ? NULL : "no identifier",
                   NULL);
    else if (payload != NULL && is_dc(payload))
        err = read_record(r, payload, id, NULL, repaired);
    else {
        snprintf(detail, sizeof(detail), "metadata %s in %s",
                 payload != NULL ? (const char *)payload->name : "absent",
                 payload != NULL && payload->ns != NULL
                     ? (const char *)payload->ns->href
                     : "no namespace");
        err = emit(r, id, NULL, 0, "not Dublin Core", detail);
    }
    r->datestamp = NULL;
    xmlFree(status);
    free(id);
    free(datestamp);
    return err;
}

static long long attr_number(const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    char *end = NULL;
    long long num = v != NULL ? strtoll((const char *)v, &end, 10) : -1;

    if (v != NULL && (end == (char *)v || *end != '\0' || num < 0))
        num = -1;
    xmlFree(v);
    return num;
}

/* What the envelope holds besides records, for dc_read_page. */
static int read_envelope_page(struct lom_page *page, const xmlNode *root,
                              const xmlNode *list, const xmlNode *error)
{
    xmlNode *date = child_el(root, NS_OAI, "responseDate");
    xmlNode *request = child_el(root, NS_OAI, "request");
    xmlNode *token = child_el(list, NS_OAI, "resumptionToken");
    xmlChar *v;

    page->oai = 1;
    page->response_date = date != NULL ? text_of(date, 64) : NULL;
    v = request != NULL ? xmlGetProp(request, BAD_CAST "verb") : NULL;
    page->verb = v != NULL ? strdup((const char *)v) : NULL;
    xmlFree(v);
    if (error != NULL) {
        v = xmlGetProp(error, BAD_CAST "code");
        page->error_code = strdup(v != NULL ? (const char *)v : "");
        page->error_message = text_of(error, 200);
        xmlFree(v);
        if (page->error_code == NULL)
            return OER_ENOMEM;
    }
    if (token != NULL) {
        page->resumption_token = text_of(token, 4096);
        if (page->resumption_token == NULL)
            page->resumption_token = strdup("");
        if (page->resumption_token == NULL)
            return OER_ENOMEM;
        page->complete_list_size = attr_number(token, "completeListSize");
        page->cursor = attr_number(token, "cursor");
    }
    return 0;
}

static int read_oai(struct reader *r, const xmlNode *root, int repaired,
                    char *why, size_t cap)
{
    xmlNode *error = child_el(root, NS_OAI, "error"), *list;
    xmlChar *code = error != NULL ? xmlGetProp(error, BAD_CAST "code") : NULL;
    char *msg = error != NULL ? text_of(error, 200) : NULL;
    int err = 0;

    list = child_el(root, NS_OAI, "ListRecords");
    if (list == NULL)
        list = child_el(root, NS_OAI, "GetRecord");
    if (r->page != NULL)
        err = read_envelope_page(r->page, root, list, error);
    if (err == 0 && error != NULL &&
        (code == NULL || xmlStrcmp(code, BAD_CAST "noRecordsMatch") != 0)) {
        snprintf(why, cap, "OAI-PMH error %s: %s",
                 code != NULL ? (const char *)code : "?",
                 msg != NULL ? msg : "");
        err = OER_EPROTO;
    } else if (err == 0 && error == NULL && list == NULL) {
        snprintf(why, cap,
                 "an OAI-PMH response of another verb holds no "
                 "records");
        err = OER_EUNSUPPORTED;
    }
    for (xmlNode *n = list != NULL ? list->children : NULL;
         err == 0 && n != NULL; n = n->next) {
        if (is_el(n, NS_OAI, "record"))
            err = read_oai_record(r, n, repaired);
    }
    xmlFree(code);
    free(msg);
    return err;
}

/* ---- XML inputs ------------------------------------------------------------
 */

/* Read one parsed XML document: an OAI-PMH page or DC record(s). */
static int read_xml_root(struct reader *r, const xmlNode *root,
                         const char *source_id, const char *url, int repaired,
                         char *why, size_t cap)
{
    if (is_el(root, NS_OAI, "OAI-PMH"))
        return read_oai(r, root, repaired, why, cap);
    if (is_dc(root))
        return read_record(r, root, source_id, url, repaired);

    /* a plain container of records, such as <records><oai_dc:dc/>... */
    size_t found = 0;

    for (const xmlNode *n = root->children; n != NULL; n = n->next) {
        int err = 0;

        if (n->type == XML_ELEMENT_NODE && is_dc(n)) {
            found++;
            err = read_record(r, n, NULL, NULL, repaired);
        }
        if (err != 0)
            return err;
    }
    if (found > 0)
        return 0;
    snprintf(why, cap, "neither Dublin Core nor OAI-PMH (root element %s)",
             (const char *)root->name);
    return OER_EINVAL;
}

static int read_xml(struct reader *r, const char *buf, size_t len,
                    const char *encoding, char *why, size_t cap)
{
    xmlDoc *doc = NULL;
    int repaired = 0, err;

    err = xml_load(&doc, &repaired, buf, len, r->name, encoding, why, cap);
    if (err == 0 && (repaired & REPAIR_XML))
        log_warn("dc", "xml repaired by a recovery parse", "file", r->name,
                 NULL);
    if (err == 0)
        err = read_xml_root(r, xmlDocGetRootElement(doc), NULL, NULL, repaired,
                            why, cap);
    xmlFreeDoc(doc);
    return err;
}

/* ---- Learning Registry envelopes ------------------------------------------
 */

static const char *envelope_string(const json_t *env, const char *key)
{
    const char *s = json_string_value(json_object_get(env, key));

    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* The payload schemas, joined, for a detail. */
static void schemas(char *out, size_t cap, const json_t *env)
{
    json_t *list = json_object_get(env, "payload_schema"), *v;
    size_t i, n = 0;

    out[0] = '\0';
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v) && n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "",
                                  json_string_value(v));
    }
}

/* The Dublin Core payload of one envelope. */
static int read_payload(struct reader *r, const json_t *env, const char *id)
{
    const char *xml = json_string_value(json_object_get(env, "resource_data"));
    const char *url = envelope_string(env, "resource_locator");
    char why[256] = "";
    xmlDoc *doc = NULL;
    xmlNode *root;
    int repaired = 0, err;

    err = xml_load(&doc, &repaired, xml, strlen(xml), r->name, "UTF-8", why,
                   sizeof(why));
    if (err == OER_EINVAL)
        return emit(r, id, NULL, 0, "not well-formed XML", why);
    if (err < 0)
        return err;
    root = xmlDocGetRootElement(doc);
    if (is_dc(root)) {
        err = read_record(r, root, id, url, repaired);
    } else {
        snprintf(why, sizeof(why), "payload %s", (const char *)root->name);
        err = emit(r, id, NULL, 0, "not Dublin Core: XML payload", why);
    }
    xmlFreeDoc(doc);
    return err;
}

/* One envelope: its replacements, then its payload. */
static int read_envelope(struct reader *r, const json_t *env)
{
    const char *id = envelope_string(env, "doc_ID");
    const char *type = envelope_string(env, "resource_data_type");
    const char *placement = envelope_string(env, "payload_placement");
    json_t *replaces = json_object_get(env, "replaces"), *v;
    char detail[256];
    size_t i;
    int err = 0;

    if (id == NULL)
        id = envelope_string(env, "resource_locator");
    json_array_foreach(replaces, i, v)
    {
        if (err == 0 && json_is_string(v) && json_string_length(v) > 0)
            err = emit(r, json_string_value(v), NULL, 1, NULL, NULL);
    }
    if (err != 0 || (json_array_size(replaces) > 0 && placement != NULL &&
                     strcmp(placement, "none") == 0))
        return err;

    schemas(detail, sizeof(detail), env);
    if (placement != NULL && strcmp(placement, "inline") != 0)
        return emit(r, id, NULL, 0, "no inline payload", placement);
    if (type == NULL || strcmp(type, "metadata") != 0)
        return emit(r, id, NULL, 0,
                    type != NULL && strcmp(type, "paradata") == 0
                        ? "not Dublin Core: paradata"
                        : "not Dublin Core: not metadata",
                    detail);
    if (!json_is_string(json_object_get(env, "resource_data")))
        return emit(r, id, NULL, 0, "not Dublin Core: JSON payload", detail);
    return read_payload(r, env, id);
}

static int is_envelope(const json_t *v)
{
    const char *type = json_string_value(json_object_get(v, "doc_type"));

    return type != NULL && strcmp(type, "resource_data") == 0;
}

/* Every envelope anywhere in v, in document order; *found counts them. */
static int find_envelopes(struct reader *r, const json_t *v, int depth,
                          size_t *found)
{
    const char *key;
    json_t *item;
    size_t i;
    int err = 0;

    if (depth > JSON_DEPTH_MAX)
        return 0;
    if (is_envelope(v)) {
        (*found)++;
        return read_envelope(r, v);
    }
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, item)
        {
            if (err == 0)
                err = find_envelopes(r, item, depth + 1, found);
        }
    }
    json_array_foreach(v, i, item)
    {
        if (err == 0)
            err = find_envelopes(r, item, depth + 1, found);
    }
    return err;
}

static int read_json(struct reader *r, const char *buf, size_t len, char *why,
                     size_t cap)
{
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_ALLOW_NUL, &jerr);
    size_t found = 0;
    int err;

    if (root == NULL) {
        snprintf(why, cap, "not well-formed JSON, line %d: %s", jerr.line,
                 jerr.text);
        return OER_EINVAL;
    }
    err = find_envelopes(r, root, 0, &found);
    json_decref(root);
    if (err == 0 && found == 0) {
        snprintf(why, cap, "JSON without Learning Registry envelopes");
        err = OER_EINVAL;
    }
    return err;
}

/* ---- entry points ----------------------------------------------------------
 */

int dc_read_memory(const char *buf, size_t len, const char *name,
                   dc_record_cb cb, void *arg, char *why, size_t cap)
{
    return dc_read_page(NULL, buf, len, name, cb, arg, why, cap);
}

int dc_read_page(struct lom_page *page, const char *buf, size_t len,
                 const char *name, dc_record_cb cb, void *arg, char *why,
                 size_t cap)
{
    struct reader r = {
        name != NULL ? name : "(memory)", cb, arg, 0, 0, page, NULL};
    size_t i = 0;
    int err;

    if (page != NULL) {
        memset(page, 0, sizeof(*page));
        page->complete_list_size = page->cursor = -1;
    }
    why[0] = '\0';
    if (buf == NULL || len > DC_INPUT_MAX) {
        snprintf(why, cap, "%s", buf == NULL ? "no input" : "input too large");
        return OER_EINVAL;
    }
    xmlInitParser();
    while (i < len && strchr(" \t\r\n", buf[i]) != NULL && buf[i] != '\0')
        i++;
    if (i < len && (buf[i] == '{' || buf[i] == '['))
        err = read_json(&r, buf, len, why, cap);
    else
        err = read_xml(&r, buf, len, NULL, why, cap);
    if (err < 0 && err != OER_ENOMEM && r.stop == 0)
        log_warn("dc", "input not read", "file", r.name, "reason", why, NULL);
    return r.stop != 0 ? r.stop : err;
}

/* ---- the import -----------------------------------------------------------
 */

struct feed {
    struct import_run *run;
    int err;
};

static int on_record(const struct dc_record *rec, void *arg)
{
    struct feed *f = arg;

    if (rec->reason != NULL)
        import_skip(f->run, rec->source_id, rec->reason, rec->detail);
    else if (rec->deleted)
        f->err = import_withdraw(f->run, rec->source_id, NULL);
    else
        f->err = import_put(f->run, rec->doc, NULL);
    return f->err < 0 ? 1 : 0;
}

static int read_dc_file(struct import_run *run, const char *path, void *arg)
{
    struct feed f = {run, 0};
    char why[300] = "", *buf = NULL;
    size_t len = 0;
    int err = import_file(run, path);

    if (err == 0)
        err = wholefile_read(&buf, &len, path, DC_INPUT_MAX);
    if (err == 0)
        err = dc_read_memory(buf, len, path, on_record, &f, why, sizeof(why));
    free(buf);
    if (err == 1)
        return f.err;
    if (err == OER_EIO || (err == OER_EINVAL && why[0] == '\0'))
        import_bad_file(run, path, "cannot read the file", NULL);
    else if (err == OER_EPROTO)
        import_bad_file(run, path, "OAI-PMH error", why);
    else if (err == OER_EUNSUPPORTED)
        import_bad_file(run, path, "OAI-PMH response without records", why);
    else if (err == OER_EINVAL && strncmp(why, "JSON without", 12) == 0)
        import_bad_file(run, path, why, NULL);
    else if (err == OER_EINVAL)
        import_bad_file(run, path,
                        "not Dublin Core, OAI-PMH or Learning Registry", why);
    else
        return err;
    return 0;
}

int dc_import(struct import_summary *out, const struct import_options *opt,
              char *const *paths, size_t count)
{
    static const char *const suffixes[] = {".xml", ".json", NULL};
    struct import_run *run = NULL;
    int err;

    memset(out, 0, sizeof(*out));
    err = import_begin(&run, opt);
    if (err < 0)
        return err;
    err = import_walk(run, paths, count, suffixes, read_dc_file, NULL);
    if (err < 0) {
        import_finish(out, run);
        return err;
    }
    return import_finish(out, run);
}
