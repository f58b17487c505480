/*
 * mapping: MAP files read with libgit2's config API into a table of
 * fields, each with its compiled column or path; and one record mapped
 * through it into a metadata document.
 */
#define _XOPEN_SOURCE 700 /* strptime */
#include "node/mapping.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <git2.h>

#include "node/error.h"
#include "node/licence.h"
#include "node/metadata.h"

#define MAP_FILE_MAX (1024 * 1024)
#define PATH_STEPS_MAX 16
#define INDEX_NONE (-1)
#define INDEX_ALL (-2)

/* How a field's values become document JSON. */
enum field_kind {
    F_LANGMAP,  /* {"lang": "first value"} */
    F_LANGLIST, /* {"lang": ["value", ...]} */
    F_TAGS,     /* ["language tag", ...] */
    F_TERMS,    /* [{"source": vocabulary, "value": v}, ...] */
    F_STRING,   /* the first value */
    F_TIME,     /* the first value, as a timestamp */
    F_LICENCE,  /* the first value, normalised */
    F_CONTRIB   /* [{"role": role, "name": v}, ...] */
};

static const struct field_def {
    const char *name;
    enum field_kind kind;
} field_defs[] = {
    {"title", F_LANGMAP},        {"description", F_LANGMAP},
    {"keywords", F_LANGLIST},    {"languages", F_TAGS},
    {"levels", F_TERMS},         {"subjects", F_TERMS},
    {"resource_types", F_TERMS}, {"audience", F_TERMS},
    {"age_range", F_STRING},     {"contributors", F_CONTRIB},
    {"licence", F_LICENCE},      {"rights", F_STRING},
    {"source_url", F_STRING},    {"created", F_TIME},
};
#define FIELD_COUNT (sizeof(field_defs) / sizeof(field_defs[0]))

/* One step of a path: a member, then optionally an index or "[]". */
struct step {
    char *key;  /* NULL for a bare index at the start */
    long index; /* INDEX_NONE, INDEX_ALL, or an array index */
};

struct source {
    char *text; /* as written in the MAP file */
    struct step steps[PATH_STEPS_MAX];
    size_t count;
};

struct vtable {
    char *name;
    json_t *map; /* from -> to (to "" drops the value) */
};

struct field {
    const struct field_def *def; /* NULL: not mapped */
    struct source *sources;
    size_t nsources;
    char *separator, *fallback, *table_name, *language, *vocabulary, *role;
    const struct vtable *table;
    int drop_unmapped;
};

struct mapping {
    enum mapping_kind kind;
    struct field fields[FIELD_COUNT];
    struct source id;
    int has_id;
    char *prefix;
    char separator;
    struct vtable *tables;
    size_t ntables;
    char *text; /* the file, to find lines for errors */
};

/* ---- errors ---- */

struct load {
    struct mapping *map;
    struct mapping_error *err;
    int rc;
};

static int fail(struct load *l, unsigned line, const char *key, const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

static int fail(struct load *l, unsigned line, const char *key, const char *fmt,
                ...)
{
    va_list ap;

    if (l->rc == 0)
        l->rc = OER_EINVAL;
    if (l->err == NULL || l->err->detail[0] != '\0')
        return OER_EINVAL;
    l->err->line = line;
    snprintf(l->err->key, sizeof(l->err->key), "%s", key);
    va_start(ap, fmt);
    vsnprintf(l->err->detail, sizeof(l->err->detail), fmt, ap);
    va_end(ap);
    return OER_EINVAL;
}

static const char *trim_span(const char *s, const char *end, size_t *len)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    /* a quoted value, or one half of it around "=>" */
    if (s < end && *s == '"')
        s++;
    if (end > s && end[-1] == '"')
        end--;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *len = (size_t)(end - s);
    return s;
}

/*
 * The line of the nth (from 1) assignment "var = value" in text, where
 * for var "map" only the part before "=>" counts; 0 when none is found
 * (an escaped or continued line).  Used only to point at a line.
 */
static unsigned line_of(const char *text, const char *var, const char *value,
                        int nth)
{
    unsigned line = 1;

    for (const char *s = text; s != NULL && *s != '\0'; line++) {
        const char *end = strchr(s, '\n'), *eq, *stop, *v;
        size_t n, vn = strlen(var);

        stop = end != NULL ? end : s + strlen(s);
        while (s < stop && (*s == ' ' || *s == '\t'))
            s++;
        eq = memchr(s, '=', (size_t)(stop - s));
        if (eq != NULL && strncasecmp(s, var, vn) == 0 &&
            trim_span(s, eq, &n) != NULL && n == vn) {
            const char *arrow =
                strcmp(var, "map") == 0 ? strstr(eq + 1, "=>") : NULL;

            v = trim_span(eq + 1, arrow != NULL && arrow < stop ? arrow : stop,
                          &n);
            if (n == strlen(value) && memcmp(v, value, n) == 0 && --nth == 0)
                return line;
        }
        s = end != NULL ? end + 1 : NULL;
    }
    return 0;
}

/* The line of the section header [section "sub"]; 0 when not found. */
static unsigned line_of_section(const char *text, const char *section,
                                const char *sub)
{
    unsigned line = 1;
    size_t n = strlen(section), m = strlen(sub);

    for (const char *s = text; s != NULL && *s != '\0'; line++) {
        const char *q;

        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '[' && strncasecmp(s + 1, section, n) == 0 &&
            (q = strchr(s, '"')) != NULL && strncmp(q + 1, sub, m) == 0 &&
            q[m + 1] == '"')
            return line;
        s = strchr(s, '\n');
        if (s != NULL)
            s++;
    }
    return 0;
}

/* ---- paths ---- */

/* "a.b[2].c", "tags[]"; a table's column is one key, dots and all. */
static int compile_source(struct source *src, const char *text,
                          enum mapping_kind kind)
{
    const char *s = text;

    memset(src, 0, sizeof(*src));
    src->text = strdup(text);
    if (src->text == NULL)
        return OER_ENOMEM;
    if (kind == MAPPING_TABLE) {
        src->steps[0].key = strdup(text);
        src->steps[0].index = INDEX_NONE;
        src->count = 1;
        return src->steps[0].key == NULL ? OER_ENOMEM
                                         : (*text ? 0 : OER_EINVAL);
    }
    while (*s != '\0') {
        struct step *st = &src->steps[src->count];
        size_t n = strcspn(s, ".[");
        char *end;

        if (src->count == PATH_STEPS_MAX || (n == 0 && *s != '['))
            return OER_EINVAL;
        st->index = INDEX_NONE;
        if (n > 0 && (st->key = strndup(s, n)) == NULL)
            return OER_ENOMEM;
        s += n;
        src->count++;
        if (*s == '[' && s[1] == ']') {
            st->index = INDEX_ALL;
            s += 2;
        } else if (*s == '[') {
            if (s[1] < '0' || s[1] > '9')
                return OER_EINVAL;
            st->index = strtol(s + 1, &end, 10);
            if (*end != ']' || st->index > 1000000)
                return OER_EINVAL;
            s = end + 1;
        }
        if (*s == '.' && s[1] != '\0')
            s++;
        else if (*s != '\0')
            return OER_EINVAL;
    }
    return src->count > 0 ? 0 : OER_EINVAL;
}

static void source_release(struct source *src)
{
    for (size_t i = 0; i < src->count; i++)
        free(src->steps[i].key);
    free(src->text);
    memset(src, 0, sizeof(*src));
}

/* ---- reading the file ---- */

static struct vtable *find_table(struct mapping *map, const char *name)
{
    for (size_t i = 0; i < map->ntables; i++)
        if (strcmp(map->tables[i].name, name) == 0)
            return &map->tables[i];
    return NULL;
}

static struct vtable *table_for(struct load *l, const char *name, size_t len)
{
    struct mapping *map = l->map;
    struct vtable *t, *grown;
    char *copy = strndup(name, len);

    if (copy == NULL)
        return NULL;
    t = find_table(map, copy);
    if (t != NULL) {
        free(copy);
        return t;
    }
    grown = realloc(map->tables, (map->ntables + 1) * sizeof(*grown));
    if (grown == NULL) {
        free(copy);
        return NULL;
    }
    map->tables = grown;
    t = &grown[map->ntables];
    t->name = copy;
    t->map = json_object();
    if (t->map == NULL) {
        free(copy);
        return NULL;
    }
    map->ntables++;
    return t;
}

/* values.<table>.map = FROM => TO, or values.<table>.keep = VALUE */
static int set_value(struct load *l, const char *key, const char *sub,
                     size_t len, const char *var, const char *value)
{
    struct vtable *t = table_for(l, sub, len);
    const char *arrow = strstr(value, "=>"), *from, *to;
    size_t fn, tn;
    char *f = NULL;
    int rc = 0, is_map = strcmp(var, "map") == 0;

    if (t == NULL)
        return l->rc = OER_ENOMEM;
    if (!is_map && strcmp(var, "keep") != 0)
        return fail(l, 0, key, "unknown key: a value table has map and keep");
    if (is_map && arrow == NULL)
        return fail(l, line_of(l->map->text, var, value, 1), key,
                    "'%.80s' lacks '=>': write FROM => TO", value);
    from = trim_span(value, is_map ? arrow : value + strlen(value), &fn);
    to = is_map ? trim_span(arrow + 2, arrow + strlen(arrow), &tn) : from;
    tn = is_map ? tn : fn;
    f = strndup(from, fn);
    if (f == NULL)
        return l->rc = OER_ENOMEM;
    if (fn == 0)
        rc = fail(l, line_of(l->map->text, var, "", 1), key,
                  "an empty key in value table '%s'", t->name);
    else if (json_object_get(t->map, f) != NULL)
        rc = fail(l, line_of(l->map->text, var, f, 2), key,
                  "value table '%s' has the key '%.80s' twice", t->name, f);
    else if (json_object_set_new(t->map, f, json_stringn(to, tn)) < 0)
        rc = l->rc = OER_ENOMEM;
    free(f);
    return rc;
}

static int set_string(char **field, const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL)
        return OER_ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

static int add_source(struct load *l, struct source **list, size_t *n,
                      const char *key, const char *value)
{
    struct source *grown = realloc(*list, (*n + 1) * sizeof(**list));
    const char *var = strrchr(key, '.') + 1;
    int rc;

    if (grown == NULL)
        return l->rc = OER_ENOMEM;
    *list = grown;
    rc = compile_source(&grown[*n], value, l->map->kind);
    (*n)++;
    if (rc == OER_ENOMEM)
        return l->rc = rc;
    if (rc != 0)
        return fail(l, line_of(l->map->text, var, value, 1), key,
                    "bad %s '%.80s'", var, value);
    return 0;
}

static int set_separator(struct load *l, const char *key, const char *value)
{
    static const struct {
        const char *name;
        char ch;
    } names[] = {
        {"tab", '\t'}, {"comma", ','}, {"semicolon", ';'}, {"pipe", '|'}};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(value, names[i].name) == 0) {
            l->map->separator = names[i].ch;
            return 0;
        }
    if (strlen(value) != 1 || value[0] == '"' || value[0] == '\n' ||
        value[0] == '\r')
        return fail(l, line_of(l->map->text, "separator", value, 1), key,
                    "bad separator '%.20s': tab, comma, semicolon, pipe or "
                    "one character",
                    value);
    l->map->separator = value[0];
    return 0;
}

static int set_source_key(struct load *l, const char *key, const char *var,
                          const char *value)
{
    struct mapping *map = l->map;
    const char *where = map->kind == MAPPING_TABLE ? "column" : "path";
    int rc;

    if (strcmp(var, "id") == 0) {
        if (map->has_id)
            return fail(l, line_of(map->text, var, value, 1), key,
                        "the source identifier is named twice");
        map->has_id = 1;
        rc = compile_source(&map->id, value, map->kind);
        if (rc == OER_ENOMEM)
            return l->rc = rc;
        if (rc != 0)
            return fail(l, line_of(map->text, var, value, 1), key,
                        "bad %s '%.80s'", where, value);
        return 0;
    }
    if (strcmp(var, "prefix") == 0)
        return set_string(&map->prefix, value) == 0 ? 0 : (l->rc = OER_ENOMEM);
    if (strcmp(var, "separator") == 0 && map->kind == MAPPING_TABLE)
        return set_separator(l, key, value);
    return fail(l, 0, key, "unknown key");
}

static struct field *field_named(struct mapping *map, const char *name,
                                 size_t len)
{
    for (size_t i = 0; i < FIELD_COUNT; i++)
        if (strlen(field_defs[i].name) == len &&
            memcmp(field_defs[i].name, name, len) == 0) {
            map->fields[i].def = &field_defs[i];
            return &map->fields[i];
        }
    return NULL;
}

/* field.<name>.<var> */
static int set_field_key(struct load *l, const char *key, const char *sub,
                         size_t len, const char *var, const char *value)
{
    struct field *f = field_named(l->map, sub, len);
    const char *want = l->map->kind == MAPPING_TABLE ? "column" : "path";
    char name[80];
    char **slot = NULL;

    snprintf(name, sizeof(name), "%.*s", (int)len, sub);
    if (f == NULL)
        return fail(l, line_of_section(l->map->text, "field", name), key,
                    "unknown oernode field '%s'", name);
    if (strcmp(var, "column") == 0 || strcmp(var, "path") == 0) {
        if (strcmp(var, want) != 0)
            return fail(l, line_of(l->map->text, var, value, 1), key,
                        "a %s mapping names a %s, not a %s",
                        l->map->kind == MAPPING_TABLE ? "table" : "JSON", want,
                        var);
        return add_source(l, &f->sources, &f->nsources, key, value);
    }
    if (strcmp(var, "unmapped") == 0) {
        if (strcmp(value, "keep") != 0 && strcmp(value, "drop") != 0)
            return fail(l, line_of(l->map->text, var, value, 1), key,
                        "bad value '%.40s': keep or drop", value);
        f->drop_unmapped = value[0] == 'd';
        return 0;
    }
    slot = strcmp(var, "separator") == 0    ? &f->separator
           : strcmp(var, "default") == 0    ? &f->fallback
           : strcmp(var, "values") == 0     ? &f->table_name
           : strcmp(var, "language") == 0   ? &f->language
           : strcmp(var, "vocabulary") == 0 ? &f->vocabulary
           : strcmp(var, "role") == 0       ? &f->role
                                            : NULL;
    if (slot == NULL)
        return fail(l, 0, key, "unknown key");
    return set_string(slot, value) == 0 ? 0 : (l->rc = OER_ENOMEM);
}

static int on_entry(const git_config_entry *entry, void *arg)
{
    struct load *l = arg;
    const char *name = entry->name, *value = entry->value;
    const char *dot = strchr(name, '.'), *last = strrchr(name, '.');
    const char *sub = dot != NULL ? dot + 1 : name;
    const char *var = last != NULL ? last + 1 : name;
    size_t sublen = last > dot ? (size_t)(last - dot - 1) : 0;

    if (value == NULL)
        value = "";
    if (dot == NULL)
        fail(l, 0, name, "unknown key");
    else if (strncmp(name, "source.", 7) == 0 && last == dot)
        set_source_key(l, name, var, value);
    else if (strncmp(name, "field.", 6) == 0 && sublen > 0)
        set_field_key(l, name, sub, sublen, var, value);
    else if (strncmp(name, "values.", 7) == 0 && sublen > 0)
        set_value(l, name, sub, sublen, var, value);
    else
        fail(l, 0, name, "unknown key");
    return l->rc != 0 ? 1 : 0;
}

/* After every key: tables exist, every field has a source. */
static int finish(struct load *l)
{
    struct mapping *map = l->map;
    char key[160];

    if (!map->has_id)
        return fail(l, 0, "source.id",
                    "missing: every mapping names the source identifier");
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        struct field *f = &map->fields[i];

        if (f->def == NULL)
            continue;
        if (f->table_name != NULL) {
            f->table = find_table(map, f->table_name);
            snprintf(key, sizeof(key), "field.%s.values", f->def->name);
            if (f->table == NULL)
                return fail(l, line_of(map->text, "values", f->table_name, 1),
                            key, "no value table '%s'", f->table_name);
        }
        snprintf(key, sizeof(key), "field.%s", f->def->name);
        if (f->nsources == 0 && f->fallback == NULL)
            return fail(l, line_of_section(map->text, "field", f->def->name),
                        key, "names no %s and no default",
                        map->kind == MAPPING_TABLE ? "column" : "path");
    }
    return 0;
}

static int read_text(struct load *l, const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    size_t n;

    if (f == NULL || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        if (f != NULL)
            fclose(f);
        fail(l, 0, "", "no such file");
        return OER_ENOTFOUND;
    }
    if (st.st_size > MAP_FILE_MAX) {
        fclose(f);
        return fail(l, 0, "", "larger than 1 MiB");
    }
    l->map->text = malloc((size_t)st.st_size + 1);
    if (l->map->text == NULL) {
        fclose(f);
        return l->rc = OER_ENOMEM;
    }
    n = fread(l->map->text, 1, (size_t)st.st_size, f);
    l->map->text[n] = '\0';
    fclose(f);
    return 0;
}

/* libgit2 says "failed to parse config file: ... (in FILE:12, column 0)" */
static unsigned line_in_message(const char *msg, const char *path)
{
    const char *p = strstr(msg, path);

    if (p == NULL || p[strlen(path)] != ':')
        return 0;
    return (unsigned)strtoul(p + strlen(path) + 1, NULL, 10);
}

static int read_config(struct load *l, const char *path)
{
    git_config *cfg = NULL;
    const git_error *e;

    if (git_config_open_ondisk(&cfg, path) < 0) {
        e = git_error_last();
        fail(l, e != NULL ? line_in_message(e->message, path) : 0, "", "%s",
             e != NULL ? e->message : "unreadable");
    } else {
        git_config_foreach(cfg, on_entry, l);
    }
    git_config_free(cfg);
    return l->rc;
}

int mapping_load(struct mapping **out, const char *path, enum mapping_kind kind,
                 struct mapping_error *err)
{
    struct load l = {.err = err};
    int rc;

    *out = NULL;
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
        snprintf(err->file, sizeof(err->file), "%s", path);
    }
    l.map = calloc(1, sizeof(*l.map));
    if (l.map == NULL)
        return OER_ENOMEM;
    l.map->kind = kind;
    rc = read_text(&l, path);
    if (rc == 0) {
        git_libgit2_init();
        rc = read_config(&l, path);
        git_libgit2_shutdown();
    }
    if (rc == 0)
        rc = finish(&l);
    if (rc != 0) {
        mapping_free(l.map);
        return rc;
    }
    *out = l.map;
    return 0;
}

void mapping_free(struct mapping *map)
{
    if (map == NULL)
        return;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        struct field *f = &map->fields[i];

        for (size_t j = 0; j < f->nsources; j++)
            source_release(&f->sources[j]);
        free(f->sources);
        free(f->separator);
        free(f->fallback);
        free(f->table_name);
        free(f->language);
        free(f->vocabulary);
        free(f->role);
    }
    for (size_t i = 0; i < map->ntables; i++) {
        free(map->tables[i].name);
        json_decref(map->tables[i].map);
    }
    free(map->tables);
    source_release(&map->id);
    free(map->prefix);
    free(map->text);
    free(map);
}

char mapping_separator(const struct mapping *map)
{
    return map->separator;
}

static int has_column(char *const *names, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (names[i] != NULL && strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

static int column_error(const struct mapping *map, struct mapping_error *err,
                        const char *key, const char *column)
{
    if (err != NULL) {
        err->line = line_of(map->text, strrchr(key, '.') + 1, column, 1);
        snprintf(err->key, sizeof(err->key), "%s", key);
        snprintf(err->detail, sizeof(err->detail),
                 "unknown column '%.80s': the table has no such column",
                 column);
    }
    return OER_EINVAL;
}

int mapping_check_columns(const struct mapping *map, char *const *names,
                          size_t count, struct mapping_error *err)
{
    char key[160];

    if (map->kind != MAPPING_TABLE)
        return 0;
    if (!has_column(names, count, map->id.text))
        return column_error(map, err, "source.id", map->id.text);
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const struct field *f = &map->fields[i];

        for (size_t j = 0; j < f->nsources; j++) {
            snprintf(key, sizeof(key), "field.%s.column", field_defs[i].name);
            if (!has_column(names, count, f->sources[j].text))
                return column_error(map, err, key, f->sources[j].text);
        }
    }
    return 0;
}

/* ---- applying a mapping to a record ---- */

int mapping_timestamp(char *out, const char *text)
{
    struct tm tm;
    const char *s;
    long long ms;
    long offset;
    char *end;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    if (strspn(text, "0123456789") == strlen(text) && *text != '\0' &&
        strlen(text) <= 15) {
        ms = strtoll(text, &end, 10);
        t = (time_t)(ms / 1000);
        if (gmtime_r(&t, &tm) == NULL)
            return OER_EINVAL;
        strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
        return 0;
    }
    s = strptime(text, "%Y-%m-%d", &tm);
    if (s == NULL || tm.tm_year < -1899 || tm.tm_year > 8099)
        return OER_EINVAL;
    if (*s == '\0') {
        strftime(out, 21, "%Y-%m-%d", &tm);
        return 0;
    }
    if ((*s != 'T' && *s != ' ') ||
        (s = strptime(s + 1, "%H:%M:%S", &tm)) == NULL)
        return OER_EINVAL;
    if (*s == '.')
        s += 1 + strspn(s + 1, "0123456789");
    if (*s != '\0' && *s != 'Z' && *s != 'z' &&
        (s = strptime(s, "%z", &tm)) == NULL)
        return OER_EINVAL;
    if (*s == 'Z' || *s == 'z')
        s++;
    if (*s != '\0')
        return OER_EINVAL;
    offset = tm.tm_gmtoff;
    t = timegm(&tm) - offset;
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year > 8099)
        return OER_EINVAL;
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return 0;
}

/* Extended JSON ({"$oid": ...}, {"$date": ...}) to its plain value. */
static const json_t *unwrap(const json_t *v, int *is_date)
{
    static const char *const wrappers[] = {
        "$oid",           "$date", "$numberLong", "$numberInt", "$numberDouble",
        "$numberDecimal", "$uuid", "$symbol",     NULL};

    for (int depth = 0;
         depth < 3 && json_is_object(v) && json_object_size(v) == 1; depth++) {
        const char *key = json_object_iter_key(json_object_iter((json_t *)v));
        size_t i = 0;

        while (wrappers[i] != NULL && strcmp(wrappers[i], key) != 0)
            i++;
        if (wrappers[i] == NULL)
            break;
        if (i == 1)
            *is_date = 1;
        v = json_object_iter_value(json_object_iter((json_t *)v));
    }
    return v;
}

/* A scalar as text: strings as they are, numbers in decimal; dates as
 * timestamps.  Returns 0 when added, or when v is not a scalar. */
static int add_leaf(json_t *list, const json_t *v)
{
    char buf[64], stamp[24];
    const char *text = NULL;
    int is_date = 0;

    v = unwrap(v, &is_date);
    if (json_is_string(v)) {
        text = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        text = buf;
    } else if (json_is_real(v)) {
        snprintf(buf, sizeof(buf), "%.15g", json_real_value(v));
        text = buf;
    } else if (json_is_boolean(v)) {
        text = json_is_true(v) ? "true" : "false";
    }
    if (text == NULL)
        return 0;
    if (is_date && mapping_timestamp(stamp, text) == 0)
        text = stamp;
    return json_array_append_new(list, json_string(text)) < 0 ? OER_ENOMEM : 0;
}

static int collect(json_t *list, const json_t *v, const struct step *steps,
                   size_t n)
{
    int is_date = 0, rc = 0;

    if (n == 0 && json_is_array(v)) {
        for (size_t i = 0; rc == 0 && i < json_array_size(v); i++)
            rc = add_leaf(list, json_array_get(v, i));
        return rc;
    }
    if (n == 0)
        return add_leaf(list, v);
    v = unwrap(v, &is_date);
    if (steps->key != NULL)
        v = json_object_get(v, steps->key);
    if (v == NULL)
        return 0;
    if (steps->index == INDEX_ALL) {
        for (size_t i = 0; rc == 0 && i < json_array_size(v); i++)
            rc = collect(list, json_array_get(v, i), steps + 1, n - 1);
        return rc;
    }
    if (steps->index >= 0)
        v = json_array_get(v, (size_t)steps->index);
    return v == NULL ? 0 : collect(list, v, steps + 1, n - 1);
}

/* Append value (len bytes, trimmed) through the field's table. */
static int add_value(json_t *out, const struct field *f, const char *value,
                     size_t len)
{
    const json_t *to;
    char *copy;
    int rc = 0;

    while (len > 0 && (*value == ' ' || *value == '\t'))
        value++, len--;
    while (len > 0 && strchr(" \t\r\n", value[len - 1]) != NULL)
        len--;
    if (len == 0)
        return 0;
    copy = strndup(value, len);
    if (copy == NULL)
        return OER_ENOMEM;
    to = f->table != NULL ? json_object_get(f->table->map, copy) : NULL;
    if (to != NULL && json_string_length(to) > 0)
        rc = json_array_append(out, (json_t *)to);
    else if (to == NULL && !f->drop_unmapped)
        rc = json_array_append_new(out, json_string(copy));
    free(copy);
    return rc < 0 ? OER_ENOMEM : 0;
}

/* The field's values: every source, split, mapped; else the default. */
static int field_values(json_t **out, const struct field *f,
                        const json_t *record)
{
    json_t *raw = json_array(), *vals = json_array();
    const char *sep = f->separator;
    int rc = raw == NULL || vals == NULL ? OER_ENOMEM : 0;

    for (size_t i = 0; rc == 0 && i < f->nsources; i++)
        rc = collect(raw, record, f->sources[i].steps, f->sources[i].count);
    for (size_t i = 0; rc == 0 && i < json_array_size(raw); i++) {
        const char *s = json_string_value(json_array_get(raw, i)), *next;

        while (rc == 0 && sep != NULL && *sep != '\0' &&
               (next = strstr(s, sep)) != NULL) {
            rc = add_value(vals, f, s, (size_t)(next - s));
            s = next + strlen(sep);
        }
        if (rc == 0)
            rc = add_value(vals, f, s, strlen(s));
    }
    if (rc == 0 && json_array_size(vals) == 0 && f->fallback != NULL &&
        json_array_append_new(vals, json_string(f->fallback)) < 0)
        rc = OER_ENOMEM;
    json_decref(raw);
    if (rc != 0)
        json_decref(vals);
    *out = rc == 0 ? vals : NULL;
    return rc;
}

/* vals without repeats, in order of first appearance. */
static json_t *distinct(const json_t *vals, int fold)
{
    json_t *seen = json_object(), *list = json_array();
    size_t i;
    json_t *v;

    if (seen == NULL || list == NULL) {
        json_decref(seen);
        json_decref(list);
        return NULL;
    }
    json_array_foreach(vals, i, v)
    {
        char key[2048];
        const char *s = json_string_value(v);
        size_t k;

        snprintf(key, sizeof(key), "%s", s);
        for (k = 0; fold && key[k] != '\0'; k++)
            key[k] =
                (char)(key[k] >= 'A' && key[k] <= 'Z' ? key[k] + 32 : key[k]);
        if (json_object_get(seen, key) == NULL) {
            json_object_set_new(seen, key, json_true());
            json_array_append(list, v);
        }
    }
    json_decref(seen);
    return list;
}

static json_t *make_terms(const json_t *vals, const struct field *f)
{
    json_t *list = json_array(), *v;
    const char *vocab = f->vocabulary != NULL ? f->vocabulary : "";
    size_t i;

    json_array_foreach(vals, i, v)
    {
        json_t *term =
            f->def->kind == F_TERMS
                ? json_pack("{s:s, s:O}", "source", vocab, "value", v)
                : json_pack("{s:s, s:O}", "role",
                            f->role != NULL ? f->role : "author", "name", v);

        if (term == NULL || json_array_append_new(list, term) < 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

static int set_licence(json_t *doc, const char *text)
{
    const char *names[8];
    struct licence lic;
    json_t *flags;
    size_t n;

    if (licence_normalise(&lic, text) == OER_ENOMEM)
        return OER_ENOMEM;
    if (json_object_set_new(doc, "licence", json_string(lic.id)) < 0)
        return OER_ENOMEM;
    /* the statement is kept when it says more than the id */
    if ((lic.flags != 0 || strcmp(lic.id, LICENCE_UNKNOWN) == 0) &&
        json_object_get(doc, "rights") == NULL &&
        json_object_set_new(doc, "rights", json_string(text)) < 0)
        return OER_ENOMEM;
    n = licence_flag_names(names, 8, lic.flags);
    if (n == 0)
        return 0;
    flags = json_array();
    for (size_t i = 0; i < n && i < 8; i++)
        json_array_append_new(flags, json_string(names[i]));
    return json_object_set_new(doc, "licence_flags", flags) < 0 ? OER_ENOMEM
                                                                : 0;
}

/* The value of one field, from its values, into doc. */
static int set_field(json_t *doc, const struct field *f, const json_t *vals,
                     const char *lang)
{
    const char *first = json_string_value(json_array_get(vals, 0));
    const char *name = f->def->name;
    json_t *v = NULL;
    char stamp[24];

    switch (f->def->kind) {
    case F_LANGMAP:
        v = json_pack("{s:s}", f->language != NULL ? f->language : lang, first);
        break;
    case F_LANGLIST:
        v = json_pack("{s:o}", f->language != NULL ? f->language : lang,
                      distinct(vals, 0));
        break;
    case F_TAGS:
        v = distinct(vals, 1);
        break;
    case F_TERMS:
    case F_CONTRIB:
        v = make_terms(vals, f);
        break;
    case F_STRING:
        v = json_string(first);
        break;
    case F_TIME:
        if (mapping_timestamp(stamp, first) != 0)
            return 0;
        v = json_string(stamp);
        break;
    case F_LICENCE:
        return set_licence(doc, first);
    }
    return json_object_set_new(doc, name, v) < 0 ? OER_ENOMEM : 0;
}

/* The language of langmaps with no language of their own: the record's
 * one language, else "und". */
static void record_language(char *out, size_t cap, const json_t *doc)
{
    const json_t *langs = json_object_get(doc, "languages");

    snprintf(out, cap, "%s",
             json_array_size(langs) == 1
                 ? json_string_value(json_array_get(langs, 0))
                 : "und");
    for (char *p = out; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
}

static int source_identifier(char **out, const struct mapping *map,
                             const json_t *record)
{
    json_t *ids = json_array();
    const char *id, *prefix = map->prefix != NULL ? map->prefix : "";
    size_t n;
    int rc;

    *out = NULL;
    if (ids == NULL)
        return OER_ENOMEM;
    rc = collect(ids, record, map->id.steps, map->id.count);
    id = json_string_value(json_array_get(ids, 0));
    if (rc == 0 && id != NULL && *id != '\0') {
        n = strlen(prefix) + strlen(id) + 1;
        *out = malloc(n);
        if (*out == NULL)
            rc = OER_ENOMEM;
        else
            snprintf(*out, n, "%s%s", prefix, id);
    }
    json_decref(ids);
    return rc;
}

static int map_fields(json_t *doc, const struct mapping *map,
                      const json_t *record)
{
    char lang[80] = "und";
    json_t *vals;
    int rc = 0;

    /* languages first: langmaps take the record's language */
    for (size_t k = 0; rc == 0 && k <= FIELD_COUNT; k++) {
        size_t i = k == 0 ? 3 : k - 1;
        const struct field *f = &map->fields[i];

        if (f->def == NULL || (k > 0 && i == 3))
            continue;
        rc = field_values(&vals, f, record);
        if (rc == 0 && json_array_size(vals) > 0)
            rc = set_field(doc, f, vals, lang);
        json_decref(vals);
        if (i == 3)
            record_language(lang, sizeof(lang), doc);
    }
    return rc;
}

int mapping_apply(json_t **out, char **source_id, const struct mapping *map,
                  const json_t *record, char *reason, size_t cap)
{
    json_t *doc = NULL;
    int rc;

    *out = NULL;
    rc = source_identifier(source_id, map, record);
    if (rc == 0 && *source_id == NULL) {
        snprintf(reason, cap, "no source identifier (%s %s is empty)",
                 map->kind == MAPPING_TABLE ? "column" : "path", map->id.text);
        return OER_EINVAL;
    }
    doc = rc == 0 ? json_pack("{s:i, s:s}", "schema", METADATA_SCHEMA,
                              "source_id", *source_id)
                  : NULL;
    if (doc == NULL)
        return OER_ENOMEM;
    rc = map_fields(doc, map, record);
    if (rc == 0 && json_object_get(doc, "languages") == NULL)
        rc = json_object_set_new(doc, "languages", json_pack("[s]", "und"));
    if (rc == 0 && json_object_get(doc, "licence") == NULL)
        rc = json_object_set_new(doc, "licence", json_string(LICENCE_UNKNOWN));
    if (rc != 0) {
        json_decref(doc);
        return OER_ENOMEM;
    }
    *out = doc;
    return 0;
}
