/*
 * metadata: validation, normalisation and canonical bytes of the resource
 * document of docs/METADATA.md.  Validation walks the document once,
 * field by field from tables of rules, and stops at the first problem.
 */
#include "node/metadata.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <utf8proc.h>

#include "node/error.h"
#include "node/licence.h"
#include "node/log.h"

#define TITLE_MAX 1000
#define DESCRIPTION_MAX 20000
#define STRING_MAX 2000
#define LANGS_MAX 50
#define LIST_MAX 200
#define FILES_MAX 100
#define ID_PART_MAX 64
#define TAG_MAX 64
#define DEPTH_MAX 32
#define CANONICAL_DEPTH_MAX 64
#define PATH_LEN 128
#define CANONICAL_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

/* One validation pass: its options and where its verdict goes. */
struct vctx {
    unsigned flags;
    struct metadata_error *err;
};

/* Checks one value found at path. */
typedef int (*check_cb)(struct vctx *c, json_t *v, const char *path);

/* Whether a field may, must or must not be there. */
enum presence {
    P_NO,    /* refused */
    P_OPT,   /* optional */
    P_REQ,   /* required */
    P_STORED /* required unless METADATA_SUBMISSION */
};

struct field {
    const char *name;
    check_cb check;
    unsigned char record; /* enum presence in a record */
    unsigned char tomb;   /* enum presence in a tombstone */
};

const char *metadata_problem_name(enum metadata_problem problem)
{
    static const char *const names[] = {
        "ok",       "missing",      "type",          "too-long",  "bad-utf8",
        "xml-char", "bad-filename", "unknown-field", "bad-value",
    };

    if ((unsigned)problem >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[problem];
}

static int fail(struct vctx *c, enum metadata_problem problem, const char *path,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Fill in the verdict and return OER_EINVAL. */
static int fail(struct vctx *c, enum metadata_problem problem, const char *path,
                const char *fmt, ...)
{
    struct metadata_error scratch;
    struct metadata_error *e = c->err != NULL ? c->err : &scratch;
    va_list ap;

    e->problem = problem;
    snprintf(e->field, sizeof(e->field), "%s", path);
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
    va_end(ap);
    log_debug("metadata", "document refused", "problem",
              metadata_problem_name(problem), "field", e->field, "detail",
              e->detail, NULL);
    return OER_EINVAL;
}

static int no_memory(void)
{
    log_error("metadata", "out of memory", NULL);
    return OER_ENOMEM;
}

/* Cut a UTF-8 sequence that snprintf left incomplete at the end of s. */
static void path_cut(char *s, int n)
{
    size_t len, start;
    unsigned char lead;
    size_t need;

    if (n < 0)
        s[0] = '\0';
    if (n < 0 || (size_t)n < PATH_LEN)
        return;
    len = strlen(s);
    start = len;
    while (start > 0 && ((unsigned char)s[start - 1] & 0xc0) == 0x80)
        start--;
    if (start == 0)
        return;
    lead = (unsigned char)s[start - 1];
    need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
    if (len - (start - 1) < need)
        s[start - 1] = '\0';
}

/* dst = path.key (or key at the top); cut at PATH_LEN. */
static void path_key(char *dst, const char *path, const char *key)
{
    int n;

    if (path[0] == '\0')
        n = snprintf(dst, PATH_LEN, "%s", key);
    else
        n = snprintf(dst, PATH_LEN, "%s.%s", path, key);
    path_cut(dst, n);
}

/* dst = path[i]; cut at PATH_LEN. */
static void path_index(char *dst, const char *path, size_t i)
{
    path_cut(dst, snprintf(dst, PATH_LEN, "%s[%zu]", path, i));
}

static int xml_allowed(int32_t cp)
{
    return cp == 0x9 || cp == 0xa || cp == 0xd ||
           (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
           (cp >= 0x10000 && cp <= 0x10ffff);
}

/*
 * Scan s[0..len) as UTF-8 holding only characters XML 1.0 allows.  On a
 * problem, *at is its byte offset and *bad the code point (XML_CHAR).
 */
static enum metadata_problem scan_text(const char *s, size_t len, size_t *at,
                                       int32_t *bad)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0;

    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, len - i, &cp);

        *at = i;
        if (n <= 0)
            return METADATA_BAD_UTF8;
        if (!xml_allowed(cp)) {
            *bad = cp;
            return METADATA_XML_CHAR;
        }
        i += (size_t)n;
    }
    return METADATA_OK;
}

/* Code points of valid UTF-8. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static int is_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* The NFC form of the valid UTF-8 s, malloc'd, or NULL. */
static char *nfc_dup(const char *s)
{
    if (is_ascii(s))
        return strdup(s);
    return (char *)utf8proc_NFC((const utf8proc_uint8_t *)s);
}

/*
 * Check text (a string value or a key) as text: UTF-8, XML characters.
 * what names it in the detail ("" for a value, "a key " for a key).
 */
static int check_bytes(struct vctx *c, const char *s, size_t len,
                       const char *path, const char *what)
{
    size_t at = 0;
    int32_t cp = 0;
    enum metadata_problem p = scan_text(s, len, &at, &cp);

    if (p == METADATA_BAD_UTF8)
        return fail(c, p, path, "%sinvalid utf-8 at byte %zu", what, at);
    if (p == METADATA_XML_CHAR)
        return fail(c, p, path, "%scharacter U+%04X is not allowed in xml",
                    what, (unsigned)cp);
    return 0;
}

/*
 * A string of at most max characters after NFC, valid UTF-8 without
 * characters XML forbids, empty only when may_be_empty.  Normalised to
 * NFC in place.
 */
static int check_str(struct vctx *c, json_t *v, const char *path, size_t max,
                     int may_be_empty)
{
    const char *s;
    size_t len;
    char *norm = NULL;
    int rc;

    if (!json_is_string(v))
        return fail(c, METADATA_TYPE, path, "expected a string");
    s = json_string_value(v);
    len = json_string_length(v);
    rc = check_bytes(c, s, len, path, "");
    if (rc != 0)
        return rc;
    if (len == 0 && !may_be_empty)
        return fail(c, METADATA_MISSING, path, "empty string");

    /* NFC shrinks text at most a few times: spare it huge strings. */
    if (len > 16 * max)
        return fail(c, METADATA_TOO_LONG, path, "longer than %zu characters",
                    max);
    norm = nfc_dup(s);
    if (norm == NULL)
        return no_memory();
    rc = 0;
    if (strcmp(norm, s) != 0 && json_string_set(v, norm) != 0)
        rc = no_memory();
    else if (utf8_chars(norm) > max)
        rc =
            fail(c, METADATA_TOO_LONG, path, "longer than %zu characters", max);
    free(norm);
    return rc;
}

static int check_text(struct vctx *c, json_t *v, const char *path)
{
    return check_str(c, v, path, STRING_MAX, 0);
}

static int check_text_or_empty(struct vctx *c, json_t *v, const char *path)
{
    return check_str(c, v, path, STRING_MAX, 1);
}

static int check_title_text(struct vctx *c, json_t *v, const char *path)
{
    return check_str(c, v, path, TITLE_MAX, 0);
}

static int check_description_text(struct vctx *c, json_t *v, const char *path)
{
    return check_str(c, v, path, DESCRIPTION_MAX, 0);
}

static int ascii_letter(char ch)
{
    return ch >= 'a' && ch <= 'z';
}

/*
 * Lower-case tag (len bytes) into out (TAG_MAX + 1 bytes), x-none to und,
 * and check it: a language of 2 or 3 letters, then subtags of 1 to 8
 * letters or digits.  Returns 1 when it is a tag.
 */
static int lang_norm(char *out, const char *tag, size_t len)
{
    size_t start = 0;

    if (len == 0 || len > TAG_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = tag[i];

        if (ch == '\0')
            return 0;
        out[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
    }
    out[len] = '\0';
    if (strcmp(out, "x-none") == 0)
        strcpy(out, "und");

    for (size_t i = 0;; i++) {
        size_t n = i - start;

        if (out[i] != '-' && out[i] != '\0') {
            if (!ascii_letter(out[i]) &&
                (start == 0 || !(out[i] >= '0' && out[i] <= '9')))
                return 0;
            continue;
        }
        if (start == 0 ? n < 2 || n > 3 : n < 1 || n > 8)
            return 0;
        if (out[i] == '\0')
            return 1;
        start = i + 1;
    }
}

/* A value of "languages": a tag, normalised in place. */
static int check_lang(struct vctx *c, json_t *v, const char *path)
{
    char tag[TAG_MAX + 1];
    int rc = check_text(c, v, path);

    if (rc != 0)
        return rc;
    if (!lang_norm(tag, json_string_value(v), json_string_length(v)))
        return fail(c, METADATA_BAD_VALUE, path, "not a language tag");
    if (strcmp(tag, json_string_value(v)) != 0 && json_string_set(v, tag))
        return no_memory();
    return 0;
}

/*
 * The normal form of a key: a language tag when lang, else its NFC.
 * *out is malloc'd.  path is the object's.
 */
static int key_form(char **out, struct vctx *c, const char *key, size_t len,
                    const char *path, int lang)
{
    char tag[TAG_MAX + 1];
    int rc = check_bytes(c, key, len, path, "a key: ");

    *out = NULL;
    if (rc != 0)
        return rc;
    if (lang && !lang_norm(tag, key, len))
        return fail(c, METADATA_BAD_VALUE, path, "a key is not a language tag");
    if (!lang && len > 16 * STRING_MAX)
        return fail(c, METADATA_TOO_LONG, path,
                    "a key is longer than %d characters", STRING_MAX);
    *out = lang ? strdup(tag) : nfc_dup(key);
    if (*out == NULL)
        return no_memory();
    if (!lang && utf8_chars(*out) > STRING_MAX) {
        free(*out);
        *out = NULL;
        return fail(c, METADATA_TOO_LONG, path,
                    "a key is longer than %d characters", STRING_MAX);
    }
    return 0;
}

/* Rebuild obj with every key in normal form; refuse two keys that meet. */
static int rekey(struct vctx *c, json_t *obj, const char *path, int lang)
{
    json_t *fresh = json_object();
    json_t *v;
    const char *key;
    size_t len;
    char *norm = NULL;
    int rc = 0;

    if (fresh == NULL)
        return no_memory();
    json_object_keylen_foreach(obj, key, len, v)
    {
        rc = key_form(&norm, c, key, len, path, lang);
        if (rc != 0)
            goto out;
        if (json_object_get(fresh, norm) != NULL) {
            rc = lang ? fail(c, METADATA_BAD_VALUE, path,
                             "language %s appears twice", norm)
                      : fail(c, METADATA_BAD_VALUE, path,
                             "two keys are equal after nfc");
            goto out;
        }
        if (json_object_set(fresh, norm, v) != 0) {
            rc = no_memory();
            goto out;
        }
        free(norm);
        norm = NULL;
    }
    if (json_object_clear(obj) != 0 || json_object_update(obj, fresh) != 0)
        rc = no_memory();
out:
    free(norm);
    json_decref(fresh);
    return rc;
}

/* Check the keys of obj and put them in normal form. */
static int norm_keys(struct vctx *c, json_t *obj, const char *path, int lang)
{
    json_t *v;
    const char *key;
    size_t len;
    char *norm;
    int rc, changed = 0;

    json_object_keylen_foreach(obj, key, len, v)
    {
        rc = key_form(&norm, c, key, len, path, lang);
        if (rc != 0)
            return rc;
        changed |= strlen(norm) != len || memcmp(norm, key, len) != 0;
        free(norm);
    }
    return changed ? rekey(c, obj, path, lang) : 0;
}

/* A value this version does not know: any JSON but reals, as text. */
static int check_any(struct vctx *c, json_t *v, const char *path, int depth)
{
    char sub[PATH_LEN];
    const char *key;
    json_t *item;
    size_t i;
    int rc = 0;

    if (depth > DEPTH_MAX)
        return fail(c, METADATA_TOO_LONG, path,
                    "nested more than %d levels deep", DEPTH_MAX);
    switch (json_typeof(v)) {
    case JSON_STRING:
        return check_text_or_empty(c, v, path);
    case JSON_REAL:
        return fail(c, METADATA_TYPE, path, "numbers must be integers");
    case JSON_ARRAY:
        json_array_foreach(v, i, item)
        {
            path_index(sub, path, i);
            rc = check_any(c, item, sub, depth + 1);
            if (rc != 0)
                return rc;
        }
        return 0;
    case JSON_OBJECT:
        rc = norm_keys(c, v, path, 0);
        if (rc != 0)
            return rc;
        json_object_foreach(v, key, item)
        {
            path_key(sub, path, key);
            rc = check_any(c, item, sub, depth + 1);
            if (rc != 0)
                return rc;
        }
        return 0;
    default:
        return 0;
    }
}

static const struct field *find_field(const struct field *rules, size_t n,
                                      const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rules[i].name, name) == 0)
            return &rules[i];
    return NULL;
}

/* The fields of obj that rules name, as the presence column says. */
static int check_known(struct vctx *c, json_t *obj, const char *path,
                       const struct field *rules, size_t n, int tomb)
{
    char sub[PATH_LEN];

    for (size_t i = 0; i < n; i++) {
        enum presence p = tomb ? rules[i].tomb : rules[i].record;
        json_t *v = json_object_get(obj, rules[i].name);
        int rc;

        path_key(sub, path, rules[i].name);
        if (v == NULL) {
            if (p == P_REQ ||
                (p == P_STORED && !(c->flags & METADATA_SUBMISSION)))
                return fail(c, METADATA_MISSING, sub, "required field");
            continue;
        }
        if (p == P_NO)
            return fail(c, METADATA_UNKNOWN_FIELD, sub,
                        tomb ? "not allowed in a tombstone"
                             : "only allowed in a tombstone");
        rc = rules[i].check(c, v, sub);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* An object with the fields of rules, unknown ones kept unless strict. */
static int check_fields(struct vctx *c, json_t *obj, const char *path,
                        const struct field *rules, size_t n, int tomb)
{
    char sub[PATH_LEN];
    const char *key;
    json_t *v;
    int rc;

    if (!json_is_object(obj))
        return fail(c, METADATA_TYPE, path, "expected an object");
    rc = norm_keys(c, obj, path, 0);
    if (rc == 0)
        rc = check_known(c, obj, path, rules, n, tomb);
    if (rc != 0)
        return rc;

    json_object_foreach(obj, key, v)
    {
        if (find_field(rules, n, key) != NULL)
            continue;
        path_key(sub, path, key);
        if (c->flags & METADATA_STRICT)
            return fail(c, METADATA_UNKNOWN_FIELD, sub, "unknown field");
        rc = check_any(c, v, sub, 1);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* An array of at most max items, each checked by each. */
static int check_list(struct vctx *c, json_t *v, const char *path, size_t max,
                      check_cb each)
{
    char sub[PATH_LEN];
    json_t *item;
    size_t i;

    if (!json_is_array(v))
        return fail(c, METADATA_TYPE, path, "expected an array");
    if (json_array_size(v) > max)
        return fail(c, METADATA_TOO_LONG, path, "more than %zu entries", max);
    json_array_foreach(v, i, item)
    {
        int rc;

        path_index(sub, path, i);
        rc = each(c, item, sub);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* An object from language tag to a value checked by each. */
static int check_langs(struct vctx *c, json_t *v, const char *path,
                       check_cb each)
{
    char sub[PATH_LEN];
    const char *key;
    json_t *item;
    int rc;

    if (!json_is_object(v))
        return fail(c, METADATA_TYPE, path,
                    "expected an object of language tags");
    if (json_object_size(v) > LANGS_MAX)
        return fail(c, METADATA_TOO_LONG, path, "more than %d languages",
                    LANGS_MAX);
    rc = norm_keys(c, v, path, 1);
    if (rc != 0)
        return rc;
    json_object_foreach(v, key, item)
    {
        path_key(sub, path, key);
        rc = each(c, item, sub);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int check_title(struct vctx *c, json_t *v, const char *path)
{
    if (json_is_object(v) && json_object_size(v) == 0)
        return fail(c, METADATA_MISSING, path, "no title in any language");
    return check_langs(c, v, path, check_title_text);
}

static int check_description(struct vctx *c, json_t *v, const char *path)
{
    return check_langs(c, v, path, check_description_text);
}

static int check_label(struct vctx *c, json_t *v, const char *path)
{
    return check_langs(c, v, path, check_text);
}

static int check_keyword_list(struct vctx *c, json_t *v, const char *path)
{
    return check_list(c, v, path, LIST_MAX, check_text);
}

static int check_keywords(struct vctx *c, json_t *v, const char *path)
{
    return check_langs(c, v, path, check_keyword_list);
}

static int check_languages(struct vctx *c, json_t *v, const char *path)
{
    if (json_is_array(v) && json_array_size(v) == 0)
        return fail(c, METADATA_MISSING, path, "no language");
    return check_list(c, v, path, LIST_MAX, check_lang);
}

static const struct field term_fields[] = {
    {"source", check_text_or_empty, P_REQ, P_NO},
    {"value", check_text, P_REQ, P_NO},
    {"label", check_label, P_OPT, P_NO},
    {"lom", check_text, P_OPT, P_NO},
};

static int check_term(struct vctx *c, json_t *v, const char *path)
{
    return check_fields(c, v, path, term_fields,
                        sizeof(term_fields) / sizeof(term_fields[0]), 0);
}

static int check_terms(struct vctx *c, json_t *v, const char *path)
{
    return check_list(c, v, path, LIST_MAX, check_term);
}

static const struct field contributor_fields[] = {
    {"role", check_text, P_REQ, P_NO},
    {"name", check_text, P_REQ, P_NO},
    {"org", check_text, P_OPT, P_NO},
    {"date", check_text, P_OPT, P_NO},
};

static int check_contributor(struct vctx *c, json_t *v, const char *path)
{
    return check_fields(
        c, v, path, contributor_fields,
        sizeof(contributor_fields) / sizeof(contributor_fields[0]), 0);
}

static int check_contributors(struct vctx *c, json_t *v, const char *path)
{
    return check_list(c, v, path, LIST_MAX, check_contributor);
}

/* Shaped like an SPDX id: [A-Za-z0-9.+-]+, at most 64 characters. */
static int is_spdx_shaped(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-");

    return n > 0 && n <= 64 && s[n] == '\0';
}

static int check_licence(struct vctx *c, json_t *v, const char *path)
{
    struct licence lic;
    const char *s;
    int rc = check_text(c, v, path);

    if (rc != 0)
        return rc;
    s = json_string_value(v);
    if (licence_is_canonical(s))
        return 0;
    /* A record signed by another node may carry an id from a newer
     * licence table: kept, and never shared as content (licence_allows
     * knows nothing of it). */
    if (!(c->flags & METADATA_STRICT) && is_spdx_shaped(s))
        return 0;
    /* a licence written as people write it: name the id to use */
    if (licence_normalise(&lic, s) == 0 &&
        strcmp(lic.id, LICENCE_UNKNOWN) != 0)
        return fail(c, METADATA_BAD_VALUE, path,
                    "not a known licence id; write \"%s\"", lic.id);
    return fail(c, METADATA_BAD_VALUE, path, "not a known licence id");
}

/* One of the flag names node/licence gives (licence_flag_names). */
static int check_licence_flag(struct vctx *c, json_t *v, const char *path)
{
    int rc = check_text(c, v, path);

    if (rc != 0)
        return rc;
    for (unsigned bit = 1; bit != 0; bit <<= 1) {
        const char *name = NULL;

        if (licence_flag_names(&name, 1, bit) == 1 && name != NULL &&
            strcmp(json_string_value(v), name) == 0)
            return 0;
    }
    return fail(c, METADATA_BAD_VALUE, path, "not a known licence flag");
}

static int check_licence_flags(struct vctx *c, json_t *v, const char *path)
{
    return check_list(c, v, path, LIST_MAX, check_licence_flag);
}

static int check_flags(struct vctx *c, json_t *v, const char *path)
{
    return check_list(c, v, path, LIST_MAX, check_text);
}

/* An http, https or ftp URL with a host and no white space. */
/* 1: a well-formed url; 0: not http, https or ftp with a host; -1: it
 * holds white space or a control character. */
static int url_shape(const char *s)
{
    static const char *const schemes[] = {"http://", "https://", "ftp://"};
    const char *rest = NULL;

    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncasecmp(s, schemes[i], strlen(schemes[i])) == 0)
            rest = s + strlen(schemes[i]);
    if (rest == NULL || *rest == '\0' || *rest == '/')
        return 0;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return -1;
    return 1;
}

int metadata_valid_url(const char *s)
{
    return s != NULL && url_shape(s) == 1;
}

static int check_url(struct vctx *c, json_t *v, const char *path)
{
    int rc = check_text(c, v, path);

    if (rc != 0)
        return rc;
    rc = url_shape(json_string_value(v));
    if (rc == 0)
        return fail(c, METADATA_BAD_VALUE, path,
                    "not an http, https or ftp url");
    if (rc < 0)
        return fail(c, METADATA_BAD_VALUE, path,
                    "a url holds white space or a control character");
    return 0;
}

static int leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* "YYYY-MM-DD" or "YYYY-MM-DDThh:mm:ssZ", a real day and time. */
static int valid_timestamp(const char *s, size_t len)
{
    static const char shape[] = "0000-00-00T00:00:00Z";
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h = 0, mi = 0, sec = 0;

    if (len != 10 && len != sizeof(shape) - 1)
        return 0;
    for (size_t i = 0; i < len; i++) {
        int digit = s[i] >= '0' && s[i] <= '9';

        if (shape[i] == '0' ? !digit : s[i] != shape[i])
            return 0;
    }
    if (sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) != 3 ||
        (len > 10 && sscanf(s + 11, "%2d:%2d:%2d", &h, &mi, &sec) != 3))
        return 0;
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
        return 0;
    return d <= days[mo - 1] + (mo == 2 && leap_year(y));
}

int metadata_valid_language(const char *s)
{
    char tag[TAG_MAX + 1];

    return s != NULL && lang_norm(tag, s, strlen(s));
}

int metadata_valid_timestamp(const char *s)
{
    return s != NULL && valid_timestamp(s, strlen(s));
}

static int check_timestamp(struct vctx *c, json_t *v, const char *path)
{
    int rc = check_text(c, v, path);

    if (rc != 0)
        return rc;
    if (!valid_timestamp(json_string_value(v), json_string_length(v)))
        return fail(c, METADATA_BAD_VALUE, path,
                    "not a timestamp YYYY-MM-DDThh:mm:ssZ or a date "
                    "YYYY-MM-DD");
    return 0;
}

/* A file name: not empty, not "." or "..", no separator or control. */
static int check_filename(struct vctx *c, json_t *v, const char *path)
{
    const char *s;
    int rc = check_text_or_empty(c, v, path);

    if (rc != 0)
        return rc;
    s = json_string_value(v);
    if (*s == '\0')
        return fail(c, METADATA_BAD_FILENAME, path, "empty file name");
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return fail(c, METADATA_BAD_FILENAME, path,
                    "a file name may not be \".\" or \"..\"");
    if (strpbrk(s, "/\\") != NULL)
        return fail(c, METADATA_BAD_FILENAME, path,
                    "a file name holds a path separator");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        /* C0, DEL, and C1 (U+0080 to U+009F are C2 80 to C2 9F). */
        if (*p < 0x20 || *p == 0x7f ||
            (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
            return fail(c, METADATA_BAD_FILENAME, path,
                        "a file name holds a control character");
    }
    return 0;
}

static int check_size(struct vctx *c, json_t *v, const char *path)
{
    if (!json_is_integer(v))
        return fail(c, METADATA_TYPE, path, "expected an integer");
    if (json_integer_value(v) < 0)
        return fail(c, METADATA_BAD_VALUE, path, "negative size");
    return 0;
}

/* Exactly n hex digits, lower-cased in place. */
static int check_hex(struct vctx *c, json_t *v, const char *path, size_t n)
{
    char buf[65];
    const char *s;
    int rc = check_text(c, v, path);

    if (rc != 0)
        return rc;
    s = json_string_value(v);
    if (json_string_length(v) != n || strspn(s, "0123456789abcdefABCDEF") != n)
        return fail(c, METADATA_BAD_VALUE, path, "expected %zu hex digits", n);
    for (size_t i = 0; i <= n; i++)
        buf[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
    if (strcmp(buf, s) != 0 && json_string_set(v, buf) != 0)
        return no_memory();
    return 0;
}

static int check_blob(struct vctx *c, json_t *v, const char *path)
{
    return check_hex(c, v, path, 40);
}

static int check_sha256(struct vctx *c, json_t *v, const char *path)
{
    return check_hex(c, v, path, 64);
}

static const struct field file_fields[] = {
    {"name", check_filename, P_REQ, P_NO},
    {"media_type", check_text, P_REQ, P_NO},
    {"size", check_size, P_REQ, P_NO},
    {"blob", check_blob, P_REQ, P_NO},
    {"sha256", check_sha256, P_REQ, P_NO},
};

static int check_file(struct vctx *c, json_t *v, const char *path)
{
    return check_fields(c, v, path, file_fields,
                        sizeof(file_fields) / sizeof(file_fields[0]), 0);
}

static int check_files(struct vctx *c, json_t *v, const char *path)
{
    return check_list(c, v, path, FILES_MAX, check_file);
}

static int check_schema(struct vctx *c, json_t *v, const char *path)
{
    if (!json_is_integer(v))
        return fail(c, METADATA_TYPE, path, "expected an integer");
    if (json_integer_value(v) != METADATA_SCHEMA)
        return fail(c, METADATA_BAD_VALUE, path,
                    "unsupported schema version %lld",
                    (long long)json_integer_value(v));
    return 0;
}

/* "<origin>/<local-id>". */
static int check_id(struct vctx *c, json_t *v, const char *path)
{
    char origin[ID_PART_MAX + 1];
    const char *s, *slash;
    int rc = check_text(c, v, path);

    if (rc != 0)
        return rc;
    s = json_string_value(v);
    slash = strchr(s, '/');
    if (slash == NULL)
        return fail(c, METADATA_BAD_VALUE, path,
                    "not of the form <origin>/<local-id>");
    if ((size_t)(slash - s) > ID_PART_MAX)
        return fail(c, METADATA_BAD_VALUE, path, "origin is not a node id");
    memcpy(origin, s, (size_t)(slash - s));
    origin[slash - s] = '\0';
    if (!metadata_valid_origin(origin))
        return fail(c, METADATA_BAD_VALUE, path, "origin is not a node id");
    if (!metadata_valid_local_id(slash + 1))
        return fail(c, METADATA_BAD_VALUE, path, "local id is not valid");
    return 0;
}

static int check_deleted(struct vctx *c, json_t *v, const char *path)
{
    if (!json_is_boolean(v))
        return fail(c, METADATA_TYPE, path, "expected true or false");
    return 0;
}

/* The fields of docs/METADATA.md, in its order. */
static const struct field doc_fields[] = {
    {"schema", check_schema, P_REQ, P_REQ},
    {"id", check_id, P_STORED, P_STORED},
    {"title", check_title, P_REQ, P_NO},
    {"description", check_description, P_OPT, P_NO},
    {"keywords", check_keywords, P_OPT, P_NO},
    {"languages", check_languages, P_REQ, P_NO},
    {"levels", check_terms, P_OPT, P_NO},
    {"subjects", check_terms, P_OPT, P_NO},
    {"resource_types", check_terms, P_OPT, P_NO},
    {"audience", check_terms, P_OPT, P_NO},
    {"age_range", check_text, P_OPT, P_NO},
    {"contributors", check_contributors, P_OPT, P_NO},
    {"licence", check_licence, P_REQ, P_NO},
    {"licence_flags", check_licence_flags, P_OPT, P_NO},
    {"rights", check_text, P_OPT, P_NO},
    {"source_url", check_url, P_OPT, P_NO},
    {"source_id", check_text, P_OPT, P_OPT},
    {"created", check_timestamp, P_OPT, P_NO},
    {"updated", check_timestamp, P_STORED, P_STORED},
    {"files", check_files, P_OPT, P_NO},
    {"flags", check_flags, P_OPT, P_NO},
    {"deleted", check_deleted, P_OPT, P_REQ},
    {"reason", check_text, P_NO, P_REQ},
};

int metadata_validate(json_t *doc, unsigned flags, struct metadata_error *err)
{
    struct vctx c = {flags, err};
    char *bytes = NULL;
    size_t len = 0;
    int rc;

    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (!json_is_object(doc))
        return fail(&c, METADATA_TYPE, "", "the document is not an object");
    rc = check_fields(&c, doc, "", doc_fields,
                      sizeof(doc_fields) / sizeof(doc_fields[0]),
                      metadata_is_tombstone(doc));
    if (rc != 0)
        return rc;

    /* The limit is on the bytes that are stored and signed. */
    rc = metadata_canonical(&bytes, &len, doc);
    if (rc == 0 && len > METADATA_DOC_MAX)
        rc = fail(&c, METADATA_TOO_LONG, "",
                  "the document is %zu bytes in canonical form, more than %d",
                  len, METADATA_DOC_MAX);
    free(bytes);
    return rc;
}

/* Whether v holds no real and is at most depth levels deep. */
static int integers_only(const json_t *v, int depth)
{
    const char *key;
    const json_t *item;
    size_t i;

    if (depth > CANONICAL_DEPTH_MAX || json_is_real(v))
        return 0;
    if (json_is_array(v)) {
        json_array_foreach(v, i,
                           item) if (!integers_only(item, depth + 1)) return 0;
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key,
                            item) if (!integers_only(item, depth + 1)) return 0;
    }
    return 1;
}

int metadata_canonical(char **out, size_t *len, const json_t *doc)
{
    size_t n;
    char *buf;

    *out = NULL;
    *len = 0;
    if (!json_is_object(doc) || !integers_only(doc, 0)) {
        log_warn("metadata", "no canonical form", "reason",
                 "not an object, a real number or nested too deep", NULL);
        return OER_EINVAL;
    }

    /* jansson's compact dump with sorted keys is the canonical form:
     * byte-order keys, minimal escapes, raw UTF-8 (docs/METADATA.md). */
    n = json_dumpb(doc, NULL, 0, CANONICAL_FLAGS);
    if (n == 0) {
        log_warn("metadata", "no canonical form", "reason",
                 "invalid utf-8 in a string", NULL);
        return OER_EINVAL;
    }
    buf = malloc(n + 1);
    if (buf == NULL)
        return no_memory();
    if (json_dumpb(doc, buf, n, CANONICAL_FLAGS) != n) {
        free(buf);
        return no_memory();
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* The verdict for a jansson parse error. */
static int parse_error(struct vctx *c, const json_error_t *je)
{
    switch (json_error_code(je)) {
    case json_error_out_of_memory:
        return no_memory();
    case json_error_invalid_utf8:
        return fail(c, METADATA_BAD_UTF8, "", "invalid utf-8 at byte %d",
                    je->position);
    case json_error_null_character:
    case json_error_null_byte_in_key:
        return fail(c, METADATA_XML_CHAR, "",
                    "character U+0000 is not allowed in xml");
    case json_error_stack_overflow:
        return fail(c, METADATA_TOO_LONG, "", "nested too deeply");
    case json_error_duplicate_key:
        return fail(c, METADATA_BAD_VALUE, "",
                    "duplicate key at line %d column %d", je->line, je->column);
    case json_error_numeric_overflow:
        return fail(c, METADATA_BAD_VALUE, "",
                    "number too large at line %d column %d", je->line,
                    je->column);
    default:
        return fail(c, METADATA_BAD_VALUE, "",
                    "invalid json at line %d column %d", je->line, je->column);
    }
}

int metadata_parse(json_t **out, const char *buf, size_t len,
                   struct metadata_error *err)
{
    struct vctx c = {0, err};
    json_error_t je;
    json_t *doc;

    *out = NULL;
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL)
        return parse_error(&c, &je);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return fail(&c, METADATA_TYPE, "", "the document is not an object");
    }
    *out = doc;
    return 0;
}

int metadata_is_tombstone(const json_t *doc)
{
    return json_is_true(json_object_get(doc, "deleted"));
}

int metadata_valid_origin(const char *origin)
{
    size_t n;

    if (origin == NULL || !(origin[0] >= 'a' && origin[0] <= 'z'))
        return 0;
    n = strlen(origin);
    return n <= ID_PART_MAX &&
           strspn(origin, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

int metadata_valid_local_id(const char *local_id)
{
    size_t n;

    if (local_id == NULL || local_id[0] == '\0' || local_id[0] == '-')
        return 0;
    n = strlen(local_id);
    return n <= ID_PART_MAX &&
           strspn(local_id, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int metadata_local_id(char *out, const char *source_id)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    uint64_t bits = 0;

    if (source_id != NULL) {
        if (EVP_Digest(source_id, strlen(source_id), digest, &dlen,
                       EVP_sha256(), NULL) != 1) {
            log_error("metadata", "sha-256 failed", NULL);
            return OER_EIO;
        }
    } else if (RAND_bytes(digest, 8) != 1) {
        log_error("metadata", "no randomness for a local id", NULL);
        return OER_EIO;
    }

    /* The first 60 bits, 5 at a time, as RFC 4648 base32 in lower case. */
    for (int i = 0; i < 8; i++)
        bits = bits << 8 | digest[i];
    for (int i = 0; i < 12; i++)
        out[i] = alphabet[(bits >> (59 - 5 * i)) & 31];
    out[12] = '\0';
    return 0;
}

void metadata_now(char *out)
{
    time_t now = time(NULL);
    struct tm tm;

    if (gmtime_r(&now, &tm) == NULL ||
        strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        strcpy(out, "1970-01-01T00:00:00Z");
}
