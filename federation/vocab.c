/*
 * vocab: vocabulary files read with jansson into systems of terms, each
 * term with its labels, typical age and mappings to a pivot; lookups by
 * id and case-folded label, translation through the pivot, and the keys
 * the search index files record terms under.  Vocabularies are small
 * (hundreds of terms), so lookups scan.
 */
#include "federation/vocab.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <utf8proc.h>

#include "node/error.h"
#include "node/log.h"

#define FORMAT_VERSION 1
#define ID_MAX 200
#define LABEL_MAX 2000
#define TERMS_MAX 10000
#define AGE_MAX 150
#define KEY_MAX 4200
#define NO_AGE INT_MAX

struct label {
    const char *lang;
    char *folded;
};

struct vocab_term {
    const struct system *system;
    enum vocab_kind kind;
    const char *id;
    json_t *label;        /* langmap, borrowed from the root */
    json_t *notations;    /* other ids of the concept, or NULL; borrowed */
    const char *broader;  /* pivot subjects only */
    int age_lo, age_hi;   /* NO_AGE when not given */
    struct label *labels; /* preferred and alternative, folded */
    size_t nlabels;
    struct vocab_mapping *maps;
    const struct vocab_term **targets; /* the pivot term of each mapping */
    size_t nmaps;
};

struct system {
    char *file;
    const char *id;
    int pivot;    /* 0, or 1 + the kind it is the pivot of */
    json_t *root; /* owns every string the terms point to */
    json_t *label;
    json_t *sources;
    struct vocab_term *terms;
    size_t nterms;
};

struct vocab {
    struct system **systems;
    size_t nsystems;
    int checked;
};

static const char *const match_names[] = {"exact", "broader", "narrower",
                                          "close"};
static const char *const kind_keys[] = {"levels", "subjects"};

const char *vocab_match_name(enum vocab_match m)
{
    return (unsigned)m < 4 ? match_names[m] : "?";
}

/* ---- folding ---- */

/* label case folded, NFC, trimmed, inner white space one space; NULL when
 * label is not UTF-8 or memory ran out. */
static char *fold(const char *label)
{
    utf8proc_uint8_t *mapped = NULL;
    char *out, *w;
    const char *r;
    int space = 0;

    if (utf8proc_map((const utf8proc_uint8_t *)label, 0, &mapped,
                     UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                         UTF8PROC_CASEFOLD) < 0)
        return NULL;

    out = (char *)mapped;
    w = out;
    for (r = out; *r != '\0'; r++) {
        if (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r') {
            space = w != out;
            continue;
        }
        if (space)
            *w++ = ' ';
        space = 0;
        *w++ = *r;
    }
    *w = '\0';
    return out;
}

/* Whether lang ("nl-be") asks for the labels of tag ("nl" or "nl-be"). */
static int lang_matches(const char *lang, const char *tag)
{
    size_t n = strlen(tag);

    if (lang == NULL)
        return 1;
    return strncasecmp(lang, tag, n) == 0 &&
           (lang[n] == '\0' || lang[n] == '-');
}

/* ---- reading a file ---- */

struct reader {
    const char *file;
    struct system *sys;
};

static int bad(const struct reader *rd, const char *term, const char *msg,
               const char *detail)
{
    log_warn("vocab", msg, "file", rd->file, "term", term, "detail", detail,
             NULL);
    return OER_EINVAL;
}

static int tag_ok(const char *tag)
{
    size_t n = strlen(tag);

    if (n < 2 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((tag[i] >= 'a' && tag[i] <= 'z') ||
              (tag[i] >= '0' && tag[i] <= '9') || (tag[i] == '-' && i >= 2)))
            return 0;
    return 1;
}

static int text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);

    return n > 0 && n <= max;
}

/* A langmap of non-empty strings, at least one. */
static int read_langmap(const struct reader *rd, const char *term,
                        const json_t *map, const char *what)
{
    const char *lang;
    json_t *val;

    if (!json_is_object(map) || json_object_size(map) == 0)
        return bad(rd, term, "needs labels by language", what);
    json_object_foreach((json_t *)map, lang, val)
    {
        if (!tag_ok(lang))
            return bad(rd, term, "bad language tag", lang);
        if (!json_is_string(val) || !text_ok(json_string_value(val), LABEL_MAX))
            return bad(rd, term, "label must be a non-empty string", lang);
    }
    return 0;
}

static int add_label(struct vocab_term *t, const char *lang, const char *text)
{
    struct label *grown;
    char *folded = fold(text);

    if (folded == NULL)
        return OER_ENOMEM;
    grown = realloc(t->labels, (t->nlabels + 1) * sizeof(*grown));
    if (grown == NULL) {
        free(folded);
        return OER_ENOMEM;
    }
    t->labels = grown;
    t->labels[t->nlabels].lang = lang;
    t->labels[t->nlabels++].folded = folded;
    return 0;
}

/* The preferred labels, then "alt": {lang: [labels]}. */
static int read_labels(const struct reader *rd, struct vocab_term *t,
                       const json_t *obj)
{
    const json_t *alt = json_object_get(obj, "alt");
    const char *lang;
    json_t *val, *one;
    size_t i;
    int rc;

    rc = read_langmap(rd, t->id, t->label, "label");
    if (rc < 0)
        return rc;
    json_object_foreach(t->label, lang, val)
    {
        rc = add_label(t, lang, json_string_value(val));
        if (rc < 0)
            return rc;
    }

    if (alt == NULL)
        return 0;
    if (!json_is_object(alt))
        return bad(rd, t->id, "alt must map languages to lists", NULL);
    json_object_foreach((json_t *)alt, lang, val)
    {
        if (!tag_ok(lang) || !json_is_array(val))
            return bad(rd, t->id, "alt must map languages to lists", lang);
        json_array_foreach(val, i, one)
        {
            if (!json_is_string(one) ||
                !text_ok(json_string_value(one), LABEL_MAX))
                return bad(rd, t->id, "alt label must be a non-empty string",
                           lang);
            rc = add_label(t, lang, json_string_value(one));
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* "notations": ["id", ...], the concept's ids in other vocabularies that
 * the system lists in its sources (e.g. national concept ids). */
static int read_notations(const struct reader *rd, struct vocab_term *t,
                          const json_t *obj)
{
    json_t *list = json_object_get(obj, "notations");
    json_t *one;
    size_t i;

    if (list == NULL)
        return 0;
    if (!json_is_array(list))
        return bad(rd, t->id, "notations must be a list of ids", NULL);
    json_array_foreach(list, i, one)
    {
        if (!json_is_string(one) || !text_ok(json_string_value(one), ID_MAX))
            return bad(rd, t->id, "a notation must be a non-empty id", NULL);
    }
    t->notations = list;
    return 0;
}

/* Whether t is known by id: its own, or one of its notations. */
static int term_named(const struct vocab_term *t, const char *id)
{
    json_t *one;
    size_t i;

    if (strcmp(t->id, id) == 0)
        return 1;
    json_array_foreach(t->notations, i, one)
    {
        if (strcmp(json_string_value(one), id) == 0)
            return 1;
    }
    return 0;
}

static int parse_match(enum vocab_match *out, const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, match_names[i]) == 0) {
            *out = (enum vocab_match)i;
            return 0;
        }
    return OER_EINVAL;
}

/* "map": [{"pivot": id, "match": kind}, ...], at least one. */
static int read_maps(const struct reader *rd, struct vocab_term *t,
                     const json_t *maps)
{
    const json_t *m;
    size_t i, n;

    if (!json_is_array(maps) || json_array_size(maps) == 0)
        return bad(rd, t->id, "term needs a map to the pivot", NULL);
    n = json_array_size(maps);
    t->maps = calloc(n, sizeof(*t->maps));
    t->targets = calloc(n, sizeof(*t->targets));
    if (t->maps == NULL || t->targets == NULL)
        return OER_ENOMEM;
    json_array_foreach(maps, i, m)
    {
        const char *pivot = json_string_value(json_object_get(m, "pivot"));
        const char *match = json_string_value(json_object_get(m, "match"));

        if (!json_is_object(m) || json_object_size(m) != 2 || pivot == NULL ||
            match == NULL || !text_ok(pivot, ID_MAX))
            return bad(rd, t->id, "a mapping needs pivot and match", NULL);
        if (parse_match(&t->maps[i].match, match) < 0)
            return bad(rd, t->id, "unknown match kind", match);
        t->maps[i].pivot = pivot;
    }
    t->nmaps = n;
    return 0;
}

/* A pivot term maps to itself; a level code is digits, level 0 to 8. */
static int read_pivot_term(const struct reader *rd, struct vocab_term *t,
                           const json_t *obj)
{
    const json_t *broader = json_object_get(obj, "broader");

    if (json_object_get(obj, "map") != NULL)
        return bad(rd, t->id, "a pivot term has no map", NULL);
    if (t->kind == VOCAB_LEVEL) {
        if (broader != NULL)
            return bad(rd, t->id, "a level code says its broader level", NULL);
        if (vocab_pivot_level(t->id) < 0)
            return bad(rd, t->id, "not an ISCED 2011 code", NULL);
    } else if (broader != NULL) {
        if (!json_is_string(broader))
            return bad(rd, t->id, "broader must be a term id", NULL);
        t->broader = json_string_value(broader);
    }

    t->maps = calloc(1, sizeof(*t->maps));
    t->targets = calloc(1, sizeof(*t->targets));
    if (t->maps == NULL || t->targets == NULL)
        return OER_ENOMEM;
    t->maps[0].pivot = t->id;
    t->maps[0].match = VOCAB_EXACT;
    t->targets[0] = t;
    t->nmaps = 1;
    return 0;
}

static int member_known(const char *key, const char *const *keys)
{
    for (; *keys != NULL; keys++)
        if (strcmp(key, *keys) == 0)
            return 1;
    return 0;
}

static int read_term(const struct reader *rd, struct vocab_term *t,
                     const json_t *obj)
{
    static const char *const keys[] = {"id",      "label",   "alt",
                                       "notations", "age",   "map",
                                       "broader", "comment", NULL};
    const char *key, *age;
    json_t *val;
    int rc;

    t->id = json_string_value(json_object_get(obj, "id"));
    if (!json_is_object(obj) || t->id == NULL || !text_ok(t->id, ID_MAX))
        return bad(rd, t->id, "a term needs an id", NULL);
    json_object_foreach((json_t *)obj, key, val)
    {
        if (!member_known(key, keys))
            return bad(rd, t->id, "unknown member of a term", key);
    }
    t->label = json_object_get(obj, "label");
    rc = read_labels(rd, t, obj);
    if (rc < 0)
        return rc;
    rc = read_notations(rd, t, obj);
    if (rc < 0)
        return rc;

    t->age_lo = t->age_hi = NO_AGE;
    age = json_string_value(json_object_get(obj, "age"));
    if (json_object_get(obj, "age") != NULL &&
        (age == NULL || vocab_age_parse(&t->age_lo, &t->age_hi, age) < 0))
        return bad(rd, t->id, "bad typical age range", age);
    if (t->age_hi < 0)
        t->age_hi = AGE_MAX;

    if (rd->sys->pivot)
        return read_pivot_term(rd, t, obj);
    if (json_object_get(obj, "broader") != NULL)
        return bad(rd, t->id, "only a pivot term says broader", NULL);
    return read_maps(rd, t, json_object_get(obj, "map"));
}

/* Whether a and b share an id or a notation. */
static int names_overlap(const struct vocab_term *a, const struct vocab_term *b)
{
    json_t *one;
    size_t i;

    if (term_named(a, b->id))
        return 1;
    json_array_foreach(b->notations, i, one)
    {
        if (term_named(a, json_string_value(one)))
            return 1;
    }
    return 0;
}

static int read_terms(const struct reader *rd, enum vocab_kind kind, size_t *at)
{
    const json_t *list = json_object_get(rd->sys->root, kind_keys[kind]);
    const json_t *obj;
    size_t i;
    int rc;

    if (list == NULL)
        return 0;
    if (!json_is_array(list))
        return bad(rd, NULL, "must be a list of terms", kind_keys[kind]);
    json_array_foreach(list, i, obj)
    {
        struct vocab_term *t = &rd->sys->terms[(*at)++];

        t->system = rd->sys;
        t->kind = kind;
        rd->sys->nterms = *at;
        rc = read_term(rd, t, obj);
        if (rc < 0)
            return rc;
        for (size_t j = 0; j + 1 < *at; j++)
            if (rd->sys->terms[j].kind == kind &&
                names_overlap(&rd->sys->terms[j], t))
                return bad(rd, t->id, "term id appears twice", NULL);
    }
    return 0;
}

static int id_ok(const char *id)
{
    if (id == NULL || !text_ok(id, 64))
        return 0;
    for (const char *p = id; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-'))
            return 0;
    return 1;
}

/* The members of the file itself, before its terms. */
static int read_header(const struct reader *rd)
{
    static const char *const keys[] = {"comment", "format",   "system",
                                       "pivot",   "label",    "sources",
                                       "levels",  "subjects", NULL};
    struct system *sys = rd->sys;
    const json_t *pivot = json_object_get(sys->root, "pivot");
    const json_t *src;
    const char *key;
    json_t *val;
    size_t i;

    if (!json_is_object(sys->root))
        return bad(rd, NULL, "a vocabulary file is a JSON object", NULL);
    json_object_foreach(sys->root, key, val)
    {
        if (!member_known(key, keys))
            return bad(rd, NULL, "unknown member", key);
    }
    if (json_integer_value(json_object_get(sys->root, "format")) !=
            FORMAT_VERSION ||
        !json_is_integer(json_object_get(sys->root, "format")))
        return bad(rd, NULL, "format must be 1", NULL);
    sys->id = json_string_value(json_object_get(sys->root, "system"));
    if (!id_ok(sys->id))
        return bad(rd, NULL, "system must be an id of [a-z0-9-]", sys->id);

    if (pivot != NULL) {
        const char *p = json_string_value(pivot);

        if (p != NULL && strcmp(p, "levels") == 0)
            sys->pivot = 1 + VOCAB_LEVEL;
        else if (p != NULL && strcmp(p, "subjects") == 0)
            sys->pivot = 1 + VOCAB_SUBJECT;
        else
            return bad(rd, NULL, "pivot must be levels or subjects", p);
        if (json_object_get(sys->root, kind_keys[2 - sys->pivot]) != NULL)
            return bad(rd, NULL, "a pivot file holds one kind of term",
                       kind_keys[2 - sys->pivot]);
    }

    sys->label = json_object_get(sys->root, "label");
    if (read_langmap(rd, NULL, sys->label, "label") < 0)
        return OER_EINVAL;
    sys->sources = json_object_get(sys->root, "sources");
    if (sys->sources != NULL && !json_is_array(sys->sources))
        return bad(rd, NULL, "sources must be a list of strings", NULL);
    json_array_foreach(sys->sources, i, src)
    {
        if (!json_is_string(src) || !text_ok(json_string_value(src), 2000))
            return bad(rd, NULL, "sources must be a list of strings", NULL);
    }
    return 0;
}

static void system_free(struct system *sys)
{
    if (sys == NULL)
        return;
    for (size_t i = 0; i < sys->nterms; i++) {
        struct vocab_term *t = &sys->terms[i];

        for (size_t j = 0; j < t->nlabels; j++)
            free(t->labels[j].folded);
        free(t->labels);
        free(t->maps);
        free(t->targets);
    }
    free(sys->terms);
    json_decref(sys->root);
    free(sys->file);
    free(sys);
}

static int read_system(struct system *sys, const char *name)
{
    struct reader rd = {name, sys};
    size_t n, at = 0;
    int rc;

    rc = read_header(&rd);
    if (rc < 0)
        return rc;
    n = json_array_size(json_object_get(sys->root, "levels")) +
        json_array_size(json_object_get(sys->root, "subjects"));
    if (n > TERMS_MAX)
        return bad(&rd, NULL, "too many terms", NULL);
    sys->terms = calloc(n ? n : 1, sizeof(*sys->terms));
    if (sys->terms == NULL)
        return OER_ENOMEM;
    rc = read_terms(&rd, VOCAB_LEVEL, &at);
    if (rc == 0)
        rc = read_terms(&rd, VOCAB_SUBJECT, &at);
    return rc;
}

static struct system *find_system(const struct vocab *v, const char *id)
{
    for (size_t i = 0; i < v->nsystems; i++)
        if (strcmp(v->systems[i]->id, id) == 0)
            return v->systems[i];
    return NULL;
}

int vocab_add(struct vocab *v, const char *name, const char *buf, size_t len)
{
    struct system *sys = NULL, **grown;
    json_error_t jerr;
    char line[24];
    int rc;

    sys = calloc(1, sizeof(*sys));
    if (sys == NULL || (sys->file = strdup(name)) == NULL) {
        rc = OER_ENOMEM;
        goto out;
    }
    sys->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (sys->root == NULL) {
        log_warn("vocab", "not a JSON file", "file", name, "line",
                 log_num(line, jerr.line), "detail", jerr.text, NULL);
        rc = OER_EINVAL;
        goto out;
    }
    rc = read_system(sys, name);
    if (rc < 0)
        goto out;
    if (find_system(v, sys->id) != NULL) {
        log_warn("vocab", "system loaded twice", "file", name, "system",
                 sys->id, NULL);
        rc = OER_EEXISTS;
        goto out;
    }

    grown = realloc(v->systems, (v->nsystems + 1) * sizeof(*grown));
    if (grown == NULL) {
        rc = OER_ENOMEM;
        goto out;
    }
    v->systems = grown;
    v->systems[v->nsystems++] = sys;
    v->checked = 0;
    sys = NULL;
out:
    if (rc == OER_ENOMEM)
        log_error("vocab", "out of memory", "file", name, NULL);
    system_free(sys);
    return rc;
}

int vocab_add_file(struct vocab *v, const char *path)
{
    FILE *f = NULL;
    char *buf = NULL;
    long size;
    int rc = OER_EIO;

    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        log_warn("vocab", "cannot read vocabulary file", "file", path, NULL);
        goto out;
    }
    buf = malloc(size ? (size_t)size : 1);
    if (buf == NULL) {
        rc = OER_ENOMEM;
        goto out;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        log_warn("vocab", "cannot read vocabulary file", "file", path, NULL);
        goto out;
    }
    rc = vocab_add(v, path, buf, (size_t)size);
out:
    free(buf);
    if (f != NULL)
        fclose(f);
    return rc;
}

int vocab_new(struct vocab **out)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL) {
        log_error("vocab", "out of memory", NULL);
        return OER_ENOMEM;
    }
    return 0;
}

void vocab_free(struct vocab *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->nsystems; i++)
        system_free(v->systems[i]);
    free(v->systems);
    free(v);
}

static const struct system *pivot_of(const struct vocab *v,
                                     enum vocab_kind kind)
{
    for (size_t i = 0; i < v->nsystems; i++)
        if (v->systems[i]->pivot == 1 + (int)kind)
            return v->systems[i];
    return NULL;
}

static const struct vocab_term *term_in(const struct system *sys,
                                        enum vocab_kind kind, const char *id)
{
    for (size_t i = 0; i < sys->nterms; i++)
        if (sys->terms[i].kind == kind && term_named(&sys->terms[i], id))
            return &sys->terms[i];
    return NULL;
}

static int check_failed(const struct system *sys, const char *term,
                        const char *msg, const char *detail)
{
    log_warn("vocab", msg, "file", sys->file, "term", term, "detail", detail,
             NULL);
    return OER_EINVAL;
}

/* A pivot level code's parent ("344" needs "34") and a subject's broader
 * term exist. */
static int check_pivot(const struct system *sys)
{
    char parent[ID_MAX + 1];

    for (size_t i = 0; i < sys->nterms; i++) {
        const struct vocab_term *t = &sys->terms[i];
        size_t n = strlen(t->id);

        if (t->kind == VOCAB_LEVEL && n > 1) {
            memcpy(parent, t->id, n - 1);
            parent[n - 1] = '\0';
            if (term_in(sys, VOCAB_LEVEL, parent) == NULL)
                return check_failed(sys, t->id, "broader level code missing",
                                    parent);
        }
        if (t->broader != NULL && (term_in(sys, t->kind, t->broader) == NULL ||
                                   strcmp(t->broader, t->id) == 0))
            return check_failed(sys, t->id, "broader term missing", t->broader);
    }
    return 0;
}

static int check_system(struct vocab *v, struct system *sys)
{
    for (size_t i = 0; i < sys->nterms; i++) {
        struct vocab_term *t = &sys->terms[i];
        const struct system *pivot = pivot_of(v, t->kind);

        if (sys->pivot)
            continue;
        if (pivot == NULL)
            return check_failed(sys, t->id, "no pivot file for this kind",
                                kind_keys[t->kind]);
        for (size_t j = 0; j < t->nmaps; j++) {
            t->targets[j] = term_in(pivot, t->kind, t->maps[j].pivot);
            if (t->targets[j] == NULL)
                return check_failed(sys, t->id, "maps to an unknown pivot",
                                    t->maps[j].pivot);
        }
    }
    return sys->pivot ? check_pivot(sys) : 0;
}

int vocab_check(struct vocab *v)
{
    int seen[2] = {0, 0};
    int rc;

    for (size_t i = 0; i < v->nsystems; i++) {
        struct system *sys = v->systems[i];

        if (sys->pivot && seen[sys->pivot - 1]++)
            return check_failed(sys, NULL, "a second pivot of this kind",
                                kind_keys[sys->pivot - 1]);
    }
    for (size_t i = 0; i < v->nsystems; i++) {
        rc = check_system(v, v->systems[i]);
        if (rc < 0)
            return rc;
    }
    v->checked = 1;
    return 0;
}

static int is_json_name(const struct dirent *e)
{
    size_t n = strlen(e->d_name);

    return e->d_name[0] != '.' && n > 5 &&
           strcmp(e->d_name + n - 5, ".json") == 0;
}

int vocab_load(struct vocab **out, const char *dir)
{
    struct dirent **names = NULL;
    struct vocab *v = NULL;
    char *path = NULL;
    int n, rc;

    *out = NULL;
    n = scandir(dir, &names, is_json_name, alphasort);
    if (n < 0) {
        log_warn("vocab", "cannot read vocabulary folder", "dir", dir, NULL);
        return OER_EIO;
    }
    rc = vocab_new(&v);
    for (int i = 0; i < n && rc == 0; i++) {
        size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;

        path = malloc(len);
        if (path == NULL) {
            rc = OER_ENOMEM;
            break;
        }
        snprintf(path, len, "%s/%s", dir, names[i]->d_name);
        rc = vocab_add_file(v, path);
        free(path);
    }
    if (rc == 0)
        rc = vocab_check(v);

    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc < 0)
        vocab_free(v);
    else
        *out = v;
    return rc;
}

/* ---- systems and terms ---- */

const char *vocab_system_at(const struct vocab *v, size_t i)
{
    return i < v->nsystems ? v->systems[i]->id : NULL;
}

const char *vocab_system_for_source(const struct vocab *v, const char *source)
{
    const json_t *src;
    size_t j;

    if (source == NULL || *source == '\0')
        return NULL;
    for (size_t i = 0; i < v->nsystems; i++) {
        if (strcmp(v->systems[i]->id, source) == 0)
            return v->systems[i]->id;
        json_array_foreach(v->systems[i]->sources, j, src)
        {
            if (strcmp(json_string_value(src), source) == 0)
                return v->systems[i]->id;
        }
    }
    return NULL;
}

const char *vocab_pivot_system(const struct vocab *v, enum vocab_kind kind)
{
    const struct system *sys = pivot_of(v, kind);

    return sys != NULL ? sys->id : NULL;
}

/* The value of a langmap for lang, by the rule of vocab_term_label. */
static const char *langmap_pick(const json_t *map, const char *lang)
{
    const char *tag, *first = NULL;
    const json_t *val;
    char sub[9];
    size_t n;

    if (lang != NULL && (val = json_object_get(map, lang)) != NULL)
        return json_string_value(val);
    n = lang != NULL ? strcspn(lang, "-") : 0;
    if (n > 0 && n < sizeof(sub)) {
        memcpy(sub, lang, n);
        sub[n] = '\0';
        for (size_t i = 0; i < n; i++)
            sub[i] =
                (char)(sub[i] >= 'A' && sub[i] <= 'Z' ? sub[i] + 32 : sub[i]);
        if ((val = json_object_get(map, sub)) != NULL)
            return json_string_value(val);
    }
    if ((val = json_object_get(map, "en")) != NULL)
        return json_string_value(val);
    json_object_foreach((json_t *)map, tag, val)
    {
        first = json_string_value(val);
        break;
    }
    return first;
}

const char *vocab_system_label(const struct vocab *v, const char *system,
                               const char *lang)
{
    const struct system *sys = find_system(v, system);

    return sys != NULL ? langmap_pick(sys->label, lang) : NULL;
}

const struct vocab_term *vocab_find(const struct vocab *v, const char *system,
                                    enum vocab_kind kind, const char *id)
{
    const struct system *sys;

    if (!v->checked || system == NULL || id == NULL)
        return NULL;
    sys = find_system(v, system);
    return sys != NULL ? term_in(sys, kind, id) : NULL;
}

const struct vocab_term *vocab_find_label(const struct vocab *v,
                                          const char *system,
                                          enum vocab_kind kind,
                                          const char *lang, const char *label)
{
    const struct vocab_term *found = NULL;
    const struct system *sys;
    char *folded;

    if (!v->checked || system == NULL || label == NULL)
        return NULL;
    sys = find_system(v, system);
    folded = sys != NULL ? fold(label) : NULL;
    if (folded == NULL)
        return NULL;
    for (size_t i = 0; i < sys->nterms && found == NULL; i++) {
        const struct vocab_term *t = &sys->terms[i];

        if (t->kind != kind)
            continue;
        for (size_t j = 0; j < t->nlabels && found == NULL; j++)
            if (lang_matches(lang, t->labels[j].lang) &&
                strcmp(t->labels[j].folded, folded) == 0)
                found = t;
    }
    free(folded);
    return found;
}

static const struct vocab_term *resolve_in(const struct vocab *v,
                                           const char *system,
                                           enum vocab_kind kind,
                                           const char *value)
{
    const struct vocab_term *t = vocab_find(v, system, kind, value);

    return t != NULL ? t : vocab_find_label(v, system, kind, NULL, value);
}

const struct vocab_term *vocab_resolve(const struct vocab *v,
                                       enum vocab_kind kind, const char *source,
                                       const char *value,
                                       const char *default_system)
{
    const char *system = vocab_system_for_source(v, source);

    if (value == NULL)
        return NULL;
    if (system != NULL)
        return resolve_in(v, system, kind, value);
    return default_system != NULL ? resolve_in(v, default_system, kind, value)
                                  : NULL;
}

const struct vocab_term *vocab_term_at(const struct vocab *v,
                                       const char *system, enum vocab_kind kind,
                                       size_t i)
{
    const struct system *sys = v->checked ? find_system(v, system) : NULL;

    for (size_t j = 0; sys != NULL && j < sys->nterms; j++)
        if (sys->terms[j].kind == kind && i-- == 0)
            return &sys->terms[j];
    return NULL;
}

const char *vocab_term_id(const struct vocab_term *t)
{
    return t->id;
}

const char *vocab_term_system(const struct vocab_term *t)
{
    return t->system->id;
}

enum vocab_kind vocab_term_kind(const struct vocab_term *t)
{
    return t->kind;
}

const char *vocab_term_label(const struct vocab_term *t, const char *lang)
{
    return langmap_pick(t->label, lang);
}

size_t vocab_term_mappings(const struct vocab_term *t,
                           const struct vocab_mapping **out)
{
    *out = t->maps;
    return t->nmaps;
}

int vocab_pivot_level(const char *code)
{
    size_t n = code != NULL ? strlen(code) : 0;

    if (n == 0 || n > 4 || code[0] < '0' || code[0] > '8')
        return -1;
    for (size_t i = 1; i < n; i++)
        if (code[i] < '0' || code[i] > '9')
            return -1;
    return code[0] - '0';
}

unsigned vocab_term_levels(const struct vocab_term *t)
{
    unsigned bits = 0;

    if (t->kind != VOCAB_LEVEL)
        return 0;
    for (size_t i = 0; i < t->nmaps; i++)
        bits |= VOCAB_LEVEL_BIT(vocab_pivot_level(t->maps[i].pivot));
    return bits;
}

/* ---- translation ---- */

/* Whether subject pivot term a is b or broader than it. */
static int subject_covers(const struct vocab_term *a,
                          const struct vocab_term *b)
{
    const struct system *sys = b->system;

    for (int depth = 0; b != NULL && depth < 32; depth++) {
        if (b == a)
            return 1;
        b = b->broader != NULL ? term_in(sys, b->kind, b->broader) : NULL;
    }
    return 0;
}

/*
 * How closely two pivot terms of one kind relate: 35 the same, 10 for
 * each code digit they share when one level code starts with the other
 * (20 when a subject is broader than the other), 1 for two codes of one
 * ISCED level, 0 for none.
 */
static int pivot_relation(const struct vocab_term *a,
                          const struct vocab_term *b)
{
    size_t la, lb;

    if (a == b)
        return 35;
    if (a->kind == VOCAB_SUBJECT)
        return subject_covers(a, b) || subject_covers(b, a) ? 20 : 0;
    la = strlen(a->id);
    lb = strlen(b->id);
    if (strncmp(a->id, b->id, la < lb ? la : lb) == 0)
        return 10 * (int)(la < lb ? la : lb);
    return a->id[0] == b->id[0] ? 1 : 0;
}

int vocab_translate(const struct vocab *v, enum vocab_kind kind,
                    const char *pivot, const char *system, vocab_term_cb cb,
                    void *arg)
{
    const struct system *piv = pivot_of(v, kind);
    const struct system *sys = v->checked ? find_system(v, system) : NULL;
    const struct vocab_term *p = piv ? term_in(piv, kind, pivot) : NULL;
    int rc;

    if (p == NULL || sys == NULL)
        return OER_ENOTFOUND;
    for (size_t i = 0; i < sys->nterms; i++) {
        const struct vocab_term *t = &sys->terms[i];

        if (t->kind != kind)
            continue;
        for (size_t j = 0; j < t->nmaps; j++) {
            if (pivot_relation(p, t->targets[j]) < 10)
                continue;
            rc = cb(t, &t->maps[j], arg);
            if (rc != 0)
                return rc;
            break;
        }
    }
    return 0;
}

struct rank {
    int relation; /* best pivot_relation of a pair of mappings */
    int label;    /* 1 when the terms share a folded label */
    int age;      /* distance of the middles of their ages, negated */
    int specific; /* fewer mappings first, negated */
};

static int rank_cmp(const struct rank *a, const struct rank *b)
{
    if (a->relation != b->relation)
        return a->relation - b->relation;
    if (a->label != b->label)
        return a->label - b->label;
    if (a->age != b->age)
        return a->age - b->age;
    return a->specific - b->specific;
}

static int share_label(const struct vocab_term *a, const struct vocab_term *b)
{
    for (size_t i = 0; i < a->nlabels; i++)
        for (size_t j = 0; j < b->nlabels; j++)
            if (strcmp(a->labels[i].folded, b->labels[j].folded) == 0)
                return 1;
    return 0;
}

static struct rank rank_of(const struct vocab_term *t,
                           const struct vocab_term *u, size_t *t_map)
{
    struct rank r = {0, 0, -1000, -(int)u->nmaps};

    for (size_t i = 0; i < t->nmaps; i++)
        for (size_t j = 0; j < u->nmaps; j++) {
            int rel = pivot_relation(t->targets[i], u->targets[j]);

            if (rel > r.relation) {
                r.relation = rel;
                *t_map = i;
            }
        }
    if (r.relation == 0)
        return r;
    r.label = share_label(t, u);
    if (t->age_lo != NO_AGE && u->age_lo != NO_AGE)
        r.age = -abs((t->age_lo + t->age_hi) - (u->age_lo + u->age_hi));
    return r;
}

const struct vocab_term *vocab_equivalent(enum vocab_match *match,
                                          const struct vocab *v,
                                          const struct vocab_term *t,
                                          const char *system)
{
    const struct system *sys = v->checked ? find_system(v, system) : NULL;
    const struct vocab_term *best = NULL;
    struct rank best_rank = {0, 0, 0, 0};
    size_t best_map = 0;

    if (sys == NULL)
        return NULL;
    if (t->system == sys)
        best = t;
    for (size_t i = 0; i < sys->nterms && best != t; i++) {
        const struct vocab_term *u = &sys->terms[i];
        size_t map = 0;
        struct rank r;

        if (u->kind != t->kind)
            continue;
        r = rank_of(t, u, &map);
        if (r.relation > 0 && (best == NULL || rank_cmp(&r, &best_rank) > 0)) {
            best = u;
            best_rank = r;
            best_map = map;
        }
    }
    if (best != NULL && match != NULL)
        *match = best == t ? VOCAB_EXACT : t->maps[best_map].match;
    return best;
}

/* ---- index keys ---- */

struct keyset {
    char keys[16][ID_MAX + 16];
    size_t n;
};

/* Report key once; a term has few keys, so a short list tells repeats. */
static int emit(struct keyset *seen, const char *key, vocab_key_cb cb,
                void *arg)
{
    for (size_t i = 0; i < seen->n; i++)
        if (strcmp(seen->keys[i], key) == 0)
            return 0;
    if (seen->n < sizeof(seen->keys) / sizeof(seen->keys[0]))
        snprintf(seen->keys[seen->n++], sizeof(seen->keys[0]), "%s", key);
    return cb(key, arg);
}

static int raw_key(const char *source, const char *value, vocab_key_cb cb,
                   void *arg)
{
    size_t len = 4 + strlen(source) + 1 + strlen(value) + 1;
    char *key = malloc(len);
    int rc;

    if (key == NULL) {
        log_error("vocab", "out of memory", NULL);
        return OER_ENOMEM;
    }
    snprintf(key, len, "raw:%s\x1f%s", source, value);
    rc = cb(key, arg);
    free(key);
    return rc;
}

static int term_keys(const struct vocab_term *t, int broader, vocab_key_cb cb,
                     void *arg)
{
    struct keyset seen = {.n = 0};
    char key[ID_MAX + 16];
    int rc = 0;

    for (size_t i = 0; i < t->nmaps && rc == 0; i++) {
        const struct vocab_term *p = t->targets[i];

        if (t->kind == VOCAB_LEVEL) {
            snprintf(key, sizeof(key), "isced:%d", vocab_pivot_level(p->id));
            rc = emit(&seen, key, cb, arg);
            continue;
        }
        for (int depth = 0; p != NULL && depth < 32 && rc == 0; depth++) {
            snprintf(key, sizeof(key), "subject:%s", p->id);
            rc = emit(&seen, key, cb, arg);
            p = broader && p->broader ? term_in(p->system, p->kind, p->broader)
                                      : NULL;
        }
    }
    return rc;
}

static int keys(const struct vocab *v, enum vocab_kind kind, const char *source,
                const char *value, const char *default_system, int broader,
                vocab_key_cb cb, void *arg)
{
    const struct vocab_term *t;

    if (value == NULL)
        return OER_EINVAL;
    t = vocab_resolve(v, kind, source, value, default_system);
    if (t == NULL)
        return raw_key(source != NULL ? source : "", value, cb, arg);
    return term_keys(t, broader, cb, arg);
}

int vocab_index_keys(const struct vocab *v, enum vocab_kind kind,
                     const char *source, const char *value,
                     const char *default_system, vocab_key_cb cb, void *arg)
{
    return keys(v, kind, source, value, default_system, 1, cb, arg);
}

int vocab_filter_keys(const struct vocab *v, enum vocab_kind kind,
                      const char *source, const char *value,
                      const char *default_system, vocab_key_cb cb, void *arg)
{
    return keys(v, kind, source, value, default_system, 0, cb, arg);
}

const char *vocab_key_label(const struct vocab *v, const char *key,
                            const char *lang)
{
    const struct system *piv = NULL;
    const struct vocab_term *t = NULL;
    const char *sep;

    if (strncmp(key, "raw:", 4) == 0) {
        sep = strchr(key, '\x1f');
        return sep != NULL ? sep + 1 : NULL;
    }
    if (strncmp(key, "isced:", 6) == 0 && (piv = pivot_of(v, VOCAB_LEVEL)))
        t = term_in(piv, VOCAB_LEVEL, key + 6);
    else if (strncmp(key, "subject:", 8) == 0 &&
             (piv = pivot_of(v, VOCAB_SUBJECT)))
        t = term_in(piv, VOCAB_SUBJECT, key + 8);
    return t != NULL ? vocab_term_label(t, lang) : NULL;
}

/* ---- imported LOM ---- */

/* Ages of each ISCED level, from the entry ages and durations ISCED 2011
 * gives (docs/VOCABULARIES.md); tertiary and post-secondary levels are
 * open-ended from 18. */
static const struct {
    int lo, hi;
} age_bands[9] = {
    {0, 5},        {6, 11},       {12, 14},      {15, 17},      {18, AGE_MAX},
    {18, AGE_MAX}, {18, AGE_MAX}, {18, AGE_MAX}, {18, AGE_MAX},
};

static const struct {
    const char *name;
    unsigned levels;
} contexts[] = {
    {"school", 0x0fu},            /* 0 to 3 */
    {"higher education", 0x1e0u}, /* 5 to 8 */
    {"training", 0x38u},          /* 3 to 5 */
};

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* An age of 1 to 3 digits at *p, at most AGE_MAX; -1 when none. */
static int read_age(const char **p)
{
    int age = 0, digits = 0;

    while (**p >= '0' && **p <= '9' && digits < 4) {
        age = age * 10 + (**p - '0');
        (*p)++;
        digits++;
    }
    return digits == 0 || digits > 3 || age > AGE_MAX ? -1 : age;
}

int vocab_age_parse(int *lo, int *hi, const char *range)
{
    const char *p;

    if (range == NULL)
        return OER_EINVAL;
    p = skip_space(range);
    *lo = read_age(&p);
    p = skip_space(p);
    if (*lo < 0)
        return OER_EINVAL;
    if (*p != '-') {
        *hi = *lo;
    } else {
        p = skip_space(p + 1);
        *hi = *p == '\0' ? -1 : read_age(&p);
        if (*p != '\0' && *hi < 0)
            return OER_EINVAL;
        p = skip_space(p);
    }
    if (*p != '\0' || (*hi >= 0 && *hi < *lo))
        return OER_EINVAL;
    return 0;
}

static unsigned levels_of_ages(int lo, int hi)
{
    unsigned bits = 0;

    if (hi < 0)
        hi = AGE_MAX;
    for (int n = 0; n < 9; n++)
        if (lo <= age_bands[n].hi && hi >= age_bands[n].lo)
            bits |= VOCAB_LEVEL_BIT(n);
    return bits;
}

int vocab_age_levels(unsigned *out, const char *context, const char *age_range)
{
    unsigned by_context = VOCAB_LEVELS_ALL, by_age = VOCAB_LEVELS_ALL;
    int said = 0, lo, hi;

    *out = 0;
    for (size_t i = 0; context != NULL && i < 3; i++)
        if (strcasecmp(context, contexts[i].name) == 0) {
            by_context = contexts[i].levels;
            said = 1;
        }
    if (age_range != NULL && vocab_age_parse(&lo, &hi, age_range) == 0) {
        by_age = levels_of_ages(lo, hi);
        said = 1;
    }
    *out = said ? by_context & by_age : 0;
    return *out != 0 ? 0 : OER_ENOTFOUND;
}

/* The LOMv1.0 educational context among a record's level terms: a term of
 * source LOMv1.0, or one a LOM import marked with its "lom" meaning. */
static const char *lom_context(const json_t *levels)
{
    const json_t *t;
    size_t i;

    json_array_foreach(levels, i, t)
    {
        const char *lom = json_string_value(json_object_get(t, "lom"));
        const char *src = json_string_value(json_object_get(t, "source"));

        if (lom != NULL)
            return lom;
        if (src != NULL && strcmp(src, "LOMv1.0") == 0)
            return json_string_value(json_object_get(t, "value"));
    }
    return NULL;
}

int vocab_record_age_keys(const json_t *doc, vocab_key_cb cb, void *arg)
{
    const json_t *age = json_object_get(doc, "age_range");
    unsigned bits = 0;
    char key[16];
    int err = 0;

    if (vocab_age_levels(&bits, lom_context(json_object_get(doc, "levels")),
                         json_string_value(age)) != 0)
        return 0;
    for (int n = 0; n <= 8 && err == 0; n++) {
        if (bits & VOCAB_LEVEL_BIT(n)) {
            snprintf(key, sizeof(key), "isced:%d", n);
            err = cb(key, arg);
        }
    }
    return err;
}
