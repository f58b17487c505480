/*
 * crosswalk: metadata documents as oai_dc and IEEE LOM trees, and their
 * OAI-PMH sets.  Every element and attribute goes through libxml2, which
 * escapes it when the tree is written.
 */
#include "node/crosswalk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlstring.h>
#include <openssl/evp.h>
#include <utf8proc.h>

#include "federation/vocab.h"
#include "node/error.h"
#include "node/licence.h"
#include "node/lom.h"
#include "node/metadata.h"

/* A tree being built; a failed allocation is remembered, not checked at
 * each call. */
struct build {
    xmlNsPtr ns; /* namespace of new elements */
    int nomem;
};

/* ---- text ------------------------------------------------------------ */

int crosswalk_text_ok(const char *text)
{
    const unsigned char *p = (const unsigned char *)text;

    if (text == NULL || !xmlCheckUTF8(p))
        return 0;
    for (; *p != '\0'; p++) {
        if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            return 0;
        /* U+FFFE and U+FFFF: EF BF BE, EF BF BF */
        if (p[0] == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
            return 0;
    }
    return 1;
}

/* Append an element holding text (escaped by libxml2); NULL text or text
 * XML cannot carry gives no element. */
static xmlNodePtr add_text(struct build *b, xmlNodePtr parent, const char *name,
                           const char *text)
{
    xmlNodePtr n;

    if (text == NULL || !crosswalk_text_ok(text))
        return NULL;
    n = xmlNewTextChild(parent, b->ns, (const xmlChar *)name,
                        (const xmlChar *)text);
    b->nomem |= n == NULL;
    return n;
}

static xmlNodePtr add_node(struct build *b, xmlNodePtr parent, const char *name)
{
    xmlNodePtr n;

    if (parent == NULL)
        return NULL;
    n = xmlNewChild(parent, b->ns, (const xmlChar *)name, NULL);
    b->nomem |= n == NULL;
    return n;
}

static void set_attr(struct build *b, xmlNodePtr n, const char *name,
                     const char *value)
{
    if (n != NULL &&
        xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)value) == NULL)
        b->nomem = 1;
}

/* xml:lang, left out for "und" (language unknown). */
static void set_lang(struct build *b, xmlNodePtr n, const char *lang)
{
    xmlNsPtr xml;

    if (n == NULL || lang == NULL || strcmp(lang, "und") == 0)
        return;
    xml = xmlSearchNsByHref(n->doc, n, XML_XML_NAMESPACE);
    if (xml == NULL || xmlNewNsProp(n, xml, (const xmlChar *)"lang",
                                    (const xmlChar *)lang) == NULL)
        b->nomem = 1;
}

/* The root of a format: its namespace declared on it, and where its
 * schema lives. */
static xmlNodePtr add_root(struct build *b, xmlNodePtr parent, const char *name,
                           const char *href, const char *prefix,
                           const char *schema)
{
    char location[256];
    xmlNodePtr root = xmlNewChild(parent, NULL, (const xmlChar *)name, NULL);
    xmlNsPtr ns, xsi;

    if (root == NULL) {
        b->nomem = 1;
        return NULL;
    }
    ns = xmlNewNs(root, (const xmlChar *)href, (const xmlChar *)prefix);
    xsi = xmlNewNs(root, (const xmlChar *)CROSSWALK_NS_XSI,
                   (const xmlChar *)"xsi");
    snprintf(location, sizeof(location), "%s %s", href, schema);
    if (ns == NULL || xsi == NULL ||
        xmlNewNsProp(root, xsi, (const xmlChar *)"schemaLocation",
                     (const xmlChar *)location) == NULL) {
        b->nomem = 1;
        return NULL;
    }
    xmlSetNs(root, ns);
    return root;
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* A term's label in some language, else its value. */
static const char *term_label(const json_t *term)
{
    json_t *label = json_object_get(term, "label");
    const char *key;
    json_t *value;

    json_object_foreach(label, key, value)
    {
        if (json_is_string(value))
            return json_string_value(value);
    }
    return str(term, "value");
}

/* ---- oai_dc ---------------------------------------------------------- */

/* One element per language of a langmap, with xml:lang. */
static void dc_langmap(struct build *b, xmlNodePtr dc, const char *name,
                       const json_t *map)
{
    const char *lang;
    json_t *text;

    json_object_foreach((json_t *)map, lang, text)
        set_lang(b, add_text(b, dc, name, json_string_value(text)), lang);
}

/* dc:creator for authors, dc:publisher for publishers, dc:contributor
 * for every other role. */
static void dc_contributors(struct build *b, xmlNodePtr dc, const json_t *doc,
                            const char *role)
{
    size_t i;
    json_t *c;

    json_array_foreach(json_object_get(doc, "contributors"), i, c)
    {
        const char *r = str(c, "role") != NULL ? str(c, "role") : "";
        const char *name = strcmp(r, "author") == 0      ? "creator"
                           : strcmp(r, "publisher") == 0 ? "publisher"
                                                         : "contributor";

        if (strcmp(name, role) == 0)
            add_text(b, dc, name, str(c, "name"));
    }
}

static void dc_subjects(struct build *b, xmlNodePtr dc, const json_t *doc)
{
    const char *lang;
    json_t *list, *t;
    size_t i;

    json_object_foreach(json_object_get(doc, "keywords"), lang, list)
    {
        json_array_foreach(list, i, t)
            set_lang(b, add_text(b, dc, "subject", json_string_value(t)), lang);
    }
    json_array_foreach(json_object_get(doc, "subjects"), i, t)
        add_text(b, dc, "subject", term_label(t));
}

static void dc_formats(struct build *b, xmlNodePtr dc, const json_t *doc)
{
    json_t *files = json_object_get(doc, "files");
    size_t i, j;

    /* each media type once */
    for (i = 0; i < json_array_size(files); i++) {
        const char *type = str(json_array_get(files, i), "media_type");

        for (j = 0; type != NULL && j < i; j++) {
            const char *seen = str(json_array_get(files, j), "media_type");

            if (seen != NULL && strcmp(type, seen) == 0)
                break;
        }
        if (j == i)
            add_text(b, dc, "format", type);
    }
}

/* The canonical URL of the licence; else the rights text as found; never
 * prose where a licence URI belongs. */
static const char *rights_text(const json_t *doc)
{
    const char *licence = str(doc, "licence");
    const char *url = licence != NULL ? licence_url(licence) : NULL;

    if (url != NULL)
        return url;
    if (str(doc, "rights") != NULL)
        return str(doc, "rights");
    if (licence != NULL && strcmp(licence, LICENCE_ALL_RIGHTS_RESERVED) == 0)
        return "All rights reserved";
    return NULL;
}

int crosswalk_dc(xmlNodePtr parent, const json_t *doc, const char *identifier)
{
    struct build b = {0};
    xmlNodePtr dc;
    size_t i;
    json_t *t;

    dc = add_root(&b, parent, "dc", CROSSWALK_NS_OAI_DC, "oai_dc",
                  "http://www.openarchives.org/OAI/2.0/oai_dc.xsd");
    if (dc == NULL)
        return OER_ENOMEM;
    b.ns =
        xmlNewNs(dc, (const xmlChar *)CROSSWALK_NS_DC, (const xmlChar *)"dc");
    if (b.ns == NULL)
        return OER_ENOMEM;

    dc_langmap(&b, dc, "title", json_object_get(doc, "title"));
    dc_contributors(&b, dc, doc, "creator");
    dc_subjects(&b, dc, doc);
    dc_langmap(&b, dc, "description", json_object_get(doc, "description"));
    dc_contributors(&b, dc, doc, "publisher");
    dc_contributors(&b, dc, doc, "contributor");
    add_text(&b, dc, "date",
             str(doc, "created") != NULL ? str(doc, "created")
                                         : str(doc, "updated"));
    json_array_foreach(json_object_get(doc, "resource_types"), i, t)
        add_text(&b, dc, "type", str(t, "value"));
    dc_formats(&b, dc, doc);
    add_text(&b, dc, "identifier", identifier);
    add_text(&b, dc, "identifier", str(doc, "source_url"));
    json_array_foreach(json_object_get(doc, "languages"), i, t)
        add_text(&b, dc, "language", json_string_value(t));
    add_text(&b, dc, "rights", rights_text(doc));
    return b.nomem ? OER_ENOMEM : 0;
}

/* ---- IEEE LOM -------------------------------------------------------- */

/* A LangString: one <string language="..."> per language. */
static void lom_langmap(struct build *b, xmlNodePtr parent, const char *name,
                        const json_t *map)
{
    xmlNodePtr n;
    const char *lang;
    json_t *text;

    if (json_object_size(map) == 0)
        return;
    n = add_node(b, parent, name);
    json_object_foreach((json_t *)map, lang, text)
    {
        xmlNodePtr s = add_text(b, n, "string", json_string_value(text));

        if (strcmp(lang, "und") != 0)
            set_attr(b, s, "language", lang);
    }
}

/* A LangString of one text in no particular language. */
static void lom_string(struct build *b, xmlNodePtr parent, const char *name,
                       const char *text)
{
    if (text != NULL && crosswalk_text_ok(text))
        add_text(b, add_node(b, parent, name), "string", text);
}

/* A vocabulary element: <name><source/><value/></name>. */
static void lom_vocab(struct build *b, xmlNodePtr parent, const char *name,
                      const char *source, const char *value)
{
    xmlNodePtr n;

    if (value == NULL || !crosswalk_text_ok(value))
        return;
    n = add_node(b, parent, name);
    add_text(b, n, "source", source);
    add_text(b, n, "value", value);
}

/* A term as a vocabulary element: as given when it is from LOMv1.0, else
 * its LOMv1.0 meaning ("lom"); 0 when it has neither. */
static int lom_term(struct build *b, xmlNodePtr parent, const char *name,
                    const json_t *term)
{
    const char *source = str(term, "source");

    if (source != NULL && strcmp(source, "LOMv1.0") == 0)
        lom_vocab(b, parent, name, source, str(term, "value"));
    else if (str(term, "lom") != NULL)
        lom_vocab(b, parent, name, "LOMv1.0", str(term, "lom"));
    else
        return 0;
    return 1;
}

/* A vCard 3.0 text value: backslash, comma, semicolon and newlines
 * escaped.  Caller frees; NULL when out of memory. */
static char *vcard(const char *name)
{
    size_t n = strlen(name), len = 0;
    char *out = malloc(2 * n + 64);

    if (out == NULL)
        return NULL;
    len += (size_t)sprintf(out, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:");
    for (; *name != '\0'; name++) {
        if (*name == '\\' || *name == ',' || *name == ';')
            out[len++] = '\\';
        if (*name == '\n') {
            out[len++] = '\\';
            out[len++] = 'n';
        } else if (*name != '\r') {
            out[len++] = *name;
        }
    }
    strcpy(out + len, "\r\nEND:VCARD\r\n");
    return out;
}

/* Drop a section that got nothing to hold. */
static void prune(xmlNodePtr n)
{
    if (n != NULL && n->children == NULL) {
        xmlUnlinkNode(n);
        xmlFreeNode(n);
    }
}

static void lom_general(struct build *b, xmlNodePtr lom, const json_t *doc,
                        const char *identifier)
{
    xmlNodePtr g = add_node(b, lom, "general"), id;
    size_t i;
    json_t *t, *list;
    const char *lang;

    id = add_node(b, g, "identifier");
    add_text(b, id, "catalog", "oai");
    add_text(b, id, "entry", identifier);
    lom_langmap(b, g, "title", json_object_get(doc, "title"));
    json_array_foreach(json_object_get(doc, "languages"), i, t)
        add_text(b, g, "language", json_string_value(t));
    lom_langmap(b, g, "description", json_object_get(doc, "description"));
    json_object_foreach(json_object_get(doc, "keywords"), lang, list)
    {
        json_t *one;
        size_t j;

        json_array_foreach(list, j, one)
        {
            xmlNodePtr k = add_node(b, g, "keyword");
            xmlNodePtr s = add_text(b, k, "string", json_string_value(one));

            if (strcmp(lang, "und") != 0)
                set_attr(b, s, "language", lang);
        }
    }
}

static void lom_lifecycle(struct build *b, xmlNodePtr lom, const json_t *doc)
{
    json_t *list = json_object_get(doc, "contributors"), *c;
    xmlNodePtr life;
    size_t i;

    if (json_array_size(list) == 0)
        return;
    life = add_node(b, lom, "lifeCycle");
    json_array_foreach(list, i, c)
    {
        const char *role = str(c, "role"), *date = str(c, "date");
        xmlNodePtr n = add_node(b, life, "contribute");
        char *card = vcard(str(c, "name") != NULL ? str(c, "name") : "");

        lom_vocab(b, n, "role",
                  role != NULL && lom_vocab_value("role", role) != NULL
                      ? "LOMv1.0"
                      : "",
                  role);
        add_text(b, n, "entity", card);
        b->nomem |= card == NULL;
        free(card);
        if (date != NULL && strlen(date) >= 10 && date[4] == '-')
            add_text(b, add_node(b, n, "date"), "dateTime", date);
    }
}

static void lom_technical(struct build *b, xmlNodePtr lom, const json_t *doc)
{
    xmlNodePtr tech = add_node(b, lom, "technical");
    json_t *f;
    size_t i;

    json_array_foreach(json_object_get(doc, "files"), i, f)
        add_text(b, tech, "format", str(f, "media_type"));
    add_text(b, tech, "location", str(doc, "source_url"));
    prune(tech);
}

static void lom_educational(struct build *b, xmlNodePtr lom, const json_t *doc)
{
    xmlNodePtr edu = add_node(b, lom, "educational");
    size_t i;
    json_t *t;

    json_array_foreach(json_object_get(doc, "resource_types"), i, t)
        lom_term(b, edu, "learningResourceType", t);
    json_array_foreach(json_object_get(doc, "audience"), i, t)
        lom_term(b, edu, "intendedEndUserRole", t);
    json_array_foreach(json_object_get(doc, "levels"), i, t)
        lom_term(b, edu, "context", t);
    lom_string(b, edu, "typicalAgeRange", str(doc, "age_range"));
    prune(edu);
}

/* One classification for the terms of a field that have no LOMv1.0
 * meaning (levels) or for all of them (subjects): a taxonPath each. */
static void lom_classification(struct build *b, xmlNodePtr lom,
                               const json_t *terms, const char *purpose,
                               int skip_lom)
{
    xmlNodePtr cl = NULL, path, taxon;
    size_t i;
    json_t *t;

    json_array_foreach(terms, i, t)
    {
        const char *source = str(t, "source") != NULL ? str(t, "source") : "";

        if (skip_lom &&
            (str(t, "lom") != NULL || strcmp(source, "LOMv1.0") == 0))
            continue;
        if (cl == NULL) {
            cl = add_node(b, lom, "classification");
            lom_vocab(b, cl, "purpose", "LOMv1.0", purpose);
        }
        path = add_node(b, cl, "taxonPath");
        lom_string(b, path, "source", source[0] != '\0' ? source : NULL);
        taxon = add_node(b, path, "taxon");
        add_text(b, taxon, "id", str(t, "value"));
        if (json_object_get(t, "label") != NULL)
            lom_langmap(b, taxon, "entry", json_object_get(t, "label"));
        else
            lom_string(b, taxon, "entry", str(t, "value"));
    }
}

static void lom_rights(struct build *b, xmlNodePtr lom, const json_t *doc)
{
    const char *licence = str(doc, "licence");
    int free_of_rights = licence != NULL && (strcmp(licence, "CC0-1.0") == 0 ||
                                             strcmp(licence, LICENCE_PDM) == 0);
    xmlNodePtr rights = add_node(b, lom, "rights");

    lom_vocab(b, rights, "copyrightAndOtherRestrictions", "LOMv1.0",
              free_of_rights ? "no" : "yes");
    lom_string(b, rights, "description", rights_text(doc));
}

int crosswalk_lom(xmlNodePtr parent, const json_t *doc, const char *identifier)
{
    struct build b = {0};
    xmlNodePtr lom;

    lom = add_root(&b, parent, "lom", CROSSWALK_NS_LOM, NULL,
                   "http://ltsc.ieee.org/xsd/lomv1.0/lom.xsd");
    if (lom == NULL)
        return OER_ENOMEM;
    b.ns = lom->ns;

    lom_general(&b, lom, doc, identifier);
    lom_lifecycle(&b, lom, doc);
    lom_technical(&b, lom, doc);
    lom_educational(&b, lom, doc);
    lom_rights(&b, lom, doc);
    lom_classification(&b, lom, json_object_get(doc, "levels"),
                       "educational level", 1);
    lom_classification(&b, lom, json_object_get(doc, "subjects"), "discipline",
                       0);
    return b.nomem ? OER_ENOMEM : 0;
}

/* ---- sets ------------------------------------------------------------ */

int crosswalk_spec_valid(const char *spec)
{
    static const char part[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "abcdefghijklmnopqrstuvwxyz"
                               "0123456789-_.!~*'()";
    size_t n;

    if (spec == NULL || strlen(spec) > CROSSWALK_SPEC_MAX)
        return 0;
    for (;;) {
        n = strspn(spec, part);
        if (n == 0)
            return 0;
        spec += n;
        if (*spec == '\0')
            return 1;
        if (*spec++ != ':')
            return 0;
    }
}

/* "x" and 8 hex digits of SHA-256 of label, for labels of no Latin
 * letters or digits. */
static void hashed_part(char out[10], const char *label)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    EVP_Digest(label, strlen(label), md, &len, EVP_sha256(), NULL);
    snprintf(out, 10, "x%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
}

/* Append the ASCII letters and digits of folded[from, to) to out at *n,
 * each run of other bytes as one '-' between them. */
static void fold_part(char *out, size_t cap, size_t *n, const char *folded,
                      size_t from, size_t to)
{
    size_t start = *n;
    int dash = 0;

    for (size_t i = from; i < to && *n + 2 < cap; i++) {
        char ch = folded[i];

        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
            if (dash && *n > start)
                out[(*n)++] = '-';
            out[(*n)++] = ch;
            dash = 0;
        } else {
            dash = 1;
        }
    }
    out[*n] = '\0';
}

int crosswalk_spec_from_label(char *out, size_t cap, const char *label,
                              int hierarchy)
{
    utf8proc_uint8_t *folded = NULL;
    size_t n = 0, from = 0, len, i, mark, body;
    utf8proc_ssize_t got;

    out[0] = '\0';
    got = utf8proc_map((const utf8proc_uint8_t *)label, 0, &folded,
                       UTF8PROC_NULLTERM | UTF8PROC_STABLE |
                           UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT |
                           UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK);
    if (got < 0)
        return got == UTF8PROC_ERROR_NOMEM ? OER_ENOMEM : OER_EINVAL;
    len = (size_t)got;
    for (i = 0; i <= len; i++) {
        if (i < len && (!hierarchy || folded[i] != ':'))
            continue;
        mark = n;
        if (n > 0 && n + 2 < cap)
            out[n++] = ':';
        body = n;
        fold_part(out, cap, &n, (const char *)folded, from, i);
        if (n == body)
            n = mark; /* nothing of this part: no empty level */
        out[n] = '\0';
        from = i + 1;
    }
    free(folded);
    if (n == 0)
        hashed_part(out, label);
    return 0;
}

/* The sets of one document being reported, each spec once. */
struct sets {
    const struct vocab *v;
    const char *system; /* the origin's, or NULL */
    crosswalk_set_cb cb;
    void *arg;
    json_t *seen; /* specs reported */
    int raw;      /* a term mapped to no pivot */
    int isced;    /* a level set by ISCED was reported */
};

static int report(struct sets *st, const char *spec, const char *name)
{
    if (json_object_get(st->seen, spec) != NULL)
        return 0;
    if (json_object_set_new(st->seen, spec, json_true()) != 0)
        return OER_ENOMEM;
    return st->cb(spec, name, st->arg);
}

/* "level:<v>" or "subject:<v>" from the term's own value. */
static int value_set(struct sets *st, const json_t *t, const char *prefix)
{
    char spec[CROSSWALK_SPEC_MAX + 1], name[CROSSWALK_SPEC_MAX + 64];
    size_t plen = strlen(prefix);
    int err;

    memcpy(spec, prefix, plen);
    spec[plen] = ':';
    err = crosswalk_spec_from_label(spec + plen + 1, sizeof(spec) - plen - 1,
                                    str(t, "value"),
                                    strcmp(prefix, "subject") == 0);
    if (err == OER_EINVAL)
        return 0;
    if (err < 0)
        return err;
    snprintf(name, sizeof(name), "%s%s: %s", prefix[0] == 'l' ? "L" : "S",
             prefix + 1, term_label(t));
    return report(st, spec, name);
}

/* A pivot key of vocab_index_keys as a set; a "raw:" key only notes
 * that the term maps to nothing. */
static int on_pivot_key(const char *key, void *arg)
{
    struct sets *st = arg;
    char spec[CROSSWALK_SPEC_MAX + 1], name[CROSSWALK_SPEC_MAX + 64];
    const char *label = vocab_key_label(st->v, key, "en");

    if (strncmp(key, "isced:", 6) == 0) {
        st->isced = 1;
        snprintf(spec, sizeof(spec), CROSSWALK_SET_ISCED ":%s", key + 6);
        snprintf(name, sizeof(name), "Level: ISCED %s, %s", key + 6,
                 label != NULL ? label : key + 6);
    } else if (strncmp(key, "subject:", 8) == 0) {
        snprintf(spec, sizeof(spec), CROSSWALK_SET_PIVOT ":%s", key + 8);
        snprintf(name, sizeof(name), "Subject: %s",
                 label != NULL ? label : key + 8);
    } else {
        st->raw = 1;
        return 0;
    }
    if (!crosswalk_spec_valid(spec))
        return 0; /* a pivot id no setSpec can hold */
    return report(st, spec, name);
}

/* The sets of the terms of one field: by pivot where a term maps to one,
 * else by its value. */
static int term_sets(struct sets *st, const json_t *terms, const char *prefix)
{
    enum vocab_kind kind =
        strcmp(prefix, "level") == 0 ? VOCAB_LEVEL : VOCAB_SUBJECT;
    size_t i;
    json_t *t;
    int err = 0;

    json_array_foreach(terms, i, t)
    {
        const char *value = str(t, "value"), *source = str(t, "source");

        if (value == NULL)
            continue;
        st->raw = st->v == NULL;
        if (st->v != NULL)
            err = vocab_index_keys(st->v, kind, source ? source : "", value,
                                   st->system, on_pivot_key, st);
        if (err == 0 && st->raw)
            err = value_set(st, t, prefix);
        if (err != 0)
            return err;
    }
    return 0;
}

int crosswalk_sets(const json_t *doc, const struct vocab *v,
                   crosswalk_set_cb cb, void *arg)
{
    char spec[96], name[96], origin[72];
    const char *id = str(doc, "id"), *slash;
    struct sets st = {v, NULL, cb, arg, NULL, 0, 0};
    int err;

    slash = id != NULL ? strchr(id, '/') : NULL;
    if (slash == NULL || (size_t)(slash - id) >= sizeof(origin))
        return OER_EINVAL;
    memcpy(origin, id, (size_t)(slash - id));
    origin[slash - id] = '\0';
    snprintf(spec, sizeof(spec), "origin:%s", origin);
    snprintf(name, sizeof(name), "Origin: %s", origin);
    err = cb(spec, name, arg);
    if (err != 0 || metadata_is_tombstone(doc))
        return err;

    /* the origin's own terms are in its system, as the index reads them */
    if (v != NULL && vocab_system_label(v, origin, NULL) != NULL)
        st.system = origin;
    st.seen = json_object();
    if (st.seen == NULL)
        return OER_ENOMEM;
    err = term_sets(&st, json_object_get(doc, "levels"), "level");
    /* no level term maps to ISCED: the candidate levels of the record's
     * LOM context and age range, as the index has them */
    if (err == 0 && v != NULL && !st.isced)
        err = vocab_record_age_keys(doc, on_pivot_key, &st);
    if (err == 0)
        err = term_sets(&st, json_object_get(doc, "subjects"), "subject");
    json_decref(st.seen);
    return err;
}
