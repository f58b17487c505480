/*
 * scan: a single pass over a msgpack body that checks every header
 * against the bytes that remain and against protocol/limits.h, so that a
 * decoder only ever sees bodies whose declared sizes are real.  Works in
 * place with a fixed stack of nesting levels; allocates nothing.
 */
#include "protocol/scan.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <utf8proc.h>

#include "node/error.h"
#include "protocol/limits.h"

enum kind {
    KIND_BAD,
    KIND_EXT,
    KIND_SCALAR,
    KIND_STR,
    KIND_BIN,
    KIND_ARRAY,
    KIND_MAP
};

/* Headers 0xc0 to 0xdf: the kind, and the width of the length or count
 * field (or of the payload, for scalars). */
static const struct {
    unsigned char kind;
    unsigned char width;
} heads_c0[32] = {
    {KIND_SCALAR, 0}, {KIND_BAD, 0},    {KIND_SCALAR, 0}, {KIND_SCALAR, 0},
    {KIND_BIN, 1},    {KIND_BIN, 2},    {KIND_BIN, 4},    {KIND_EXT, 0},
    {KIND_EXT, 0},    {KIND_EXT, 0},    {KIND_SCALAR, 4}, {KIND_SCALAR, 8},
    {KIND_SCALAR, 1}, {KIND_SCALAR, 2}, {KIND_SCALAR, 4}, {KIND_SCALAR, 8},
    {KIND_SCALAR, 1}, {KIND_SCALAR, 2}, {KIND_SCALAR, 4}, {KIND_SCALAR, 8},
    {KIND_EXT, 0},    {KIND_EXT, 0},    {KIND_EXT, 0},    {KIND_EXT, 0},
    {KIND_EXT, 0},    {KIND_STR, 1},    {KIND_STR, 2},    {KIND_STR, 4},
    {KIND_ARRAY, 2},  {KIND_ARRAY, 4},  {KIND_MAP, 2},    {KIND_MAP, 4},
};

struct span {
    size_t off;
    size_t len;
};

struct level {
    uint64_t left; /* objects still to read; keys and values for a map */
    bool map;
    size_t nkeys;
    struct span keys[LIMIT_MAP_KEYS];
};

/* What the object about to be read is. */
enum role { ROLE_VALUE, ROLE_KEY, ROLE_TYPE };

struct scanner {
    const unsigned char *p;
    size_t len;
    size_t pos;
    size_t elements;
    int depth;
    bool type_next; /* the key just read is the top-level "type" */
    struct span type;
    bool have_type;
    char *reason;
    struct level levels[LIMIT_DEPTH];
};

__attribute__((format(printf, 2, 3))) static int refuse(char *reason,
                                                        const char *fmt, ...)
{
    va_list ap;

    if (reason != NULL) {
        va_start(ap, fmt);
        vsnprintf(reason, LIMIT_REASON, fmt, ap);
        va_end(ap);
    }
    return OER_EPROTO;
}

static uint64_t read_be(const unsigned char *p, unsigned width)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < width; i++)
        v = (v << 8) | p[i];
    return v;
}

static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n;

        if (s[i] < 0x80) {
            i++;
            continue;
        }
        n = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0)
            return false;
        i += (size_t)n;
    }
    return true;
}

/* Read a header at s->pos: its kind and its length, count or width. */
static int read_head(struct scanner *s, enum kind *kind, uint64_t *n)
{
    size_t at = s->pos;
    unsigned char b = s->p[at];
    unsigned width;

    s->pos++;
    if (b < 0x80 || b >= 0xe0) {
        *kind = KIND_SCALAR;
        *n = 0;
        return 0;
    }
    if (b < 0xc0) {
        *kind = b < 0x90 ? KIND_MAP : b < 0xa0 ? KIND_ARRAY : KIND_STR;
        *n = b < 0xa0 ? (b & 0x0f) : (b & 0x1f);
        return 0;
    }
    *kind = heads_c0[b - 0xc0].kind;
    width = heads_c0[b - 0xc0].width;
    if (*kind == KIND_BAD)
        return refuse(s->reason, "unused type byte 0xc1 at byte %zu", at);
    if (*kind == KIND_EXT)
        return refuse(s->reason, "ext type at byte %zu", at);
    if (*kind == KIND_SCALAR) {
        *n = width;
        return 0;
    }
    if (s->len - s->pos < width)
        return refuse(s->reason, "truncated header at byte %zu", at);
    *n = read_be(s->p + s->pos, width);
    s->pos += width;
    return 0;
}

static int check_key(struct scanner *s, size_t off, size_t len)
{
    struct level *lv = &s->levels[s->depth - 1];

    for (size_t i = 0; i < lv->nkeys; i++) {
        if (lv->keys[i].len == len &&
            memcmp(s->p + lv->keys[i].off, s->p + off, len) == 0)
            return refuse(s->reason, "duplicate key at byte %zu", off);
    }
    lv->keys[lv->nkeys].off = off;
    lv->keys[lv->nkeys].len = len;
    lv->nkeys++;
    if (s->depth == 1 && len == 4 && memcmp(s->p + off, "type", 4) == 0)
        s->type_next = true;
    return 0;
}

static int scan_bytes(struct scanner *s, enum kind kind, uint64_t n,
                      enum role role, size_t at)
{
    size_t off = s->pos;

    if (n > s->len - s->pos)
        return refuse(s->reason,
                      "length %llu at byte %zu runs past the "
                      "frame",
                      (unsigned long long)n, at);
    s->pos += (size_t)n;
    if (kind == KIND_BIN)
        return n > LIMIT_BIN ? refuse(s->reason,
                                      "binary of %llu bytes at "
                                      "byte %zu is over the limit",
                                      (unsigned long long)n, at)
                             : 0;
    if (n > LIMIT_STR)
        return refuse(s->reason,
                      "string of %llu bytes at byte %zu is over "
                      "the limit",
                      (unsigned long long)n, at);
    if (!utf8_valid(s->p + off, (size_t)n))
        return refuse(s->reason, "invalid UTF-8 in string at byte %zu", at);
    if (role == ROLE_KEY)
        return check_key(s, off, (size_t)n);
    if (role == ROLE_TYPE) {
        s->type.off = off;
        s->type.len = (size_t)n;
        s->have_type = true;
    }
    return 0;
}

static int push(struct scanner *s, enum kind kind, uint64_t n, size_t at)
{
    uint64_t objects = kind == KIND_MAP ? 2 * n : n;
    struct level *lv;

    /* Every object takes at least one byte, so a count is bounded by
     * what remains before anything is believed. */
    if (objects > s->len - s->pos)
        return refuse(s->reason,
                      "count %llu at byte %zu runs past the "
                      "frame",
                      (unsigned long long)n, at);
    if (objects > LIMIT_ELEMENTS - s->elements)
        return refuse(s->reason, "too many elements at byte %zu", at);
    if (kind == KIND_MAP && n > LIMIT_MAP_KEYS)
        return refuse(s->reason,
                      "map of %llu keys at byte %zu is over "
                      "the limit",
                      (unsigned long long)n, at);
    if (s->depth == LIMIT_DEPTH)
        return refuse(s->reason, "nesting deeper than %d at byte %zu",
                      LIMIT_DEPTH, at);
    if (n == 0)
        return 0;
    lv = &s->levels[s->depth++];
    lv->left = objects;
    lv->map = kind == KIND_MAP;
    lv->nkeys = 0;
    return 0;
}

static int scan_object(struct scanner *s, enum role role)
{
    size_t at = s->pos;
    enum kind kind;
    uint64_t n = 0;
    int rc;

    if (++s->elements > LIMIT_ELEMENTS)
        return refuse(s->reason, "too many elements at byte %zu", at);
    rc = read_head(s, &kind, &n);
    if (rc < 0)
        return rc;
    if (role == ROLE_KEY && kind != KIND_STR)
        return refuse(s->reason, "map key at byte %zu is not a string", at);
    if (role == ROLE_TYPE && kind != KIND_STR)
        return refuse(s->reason, "type at byte %zu is not a string", at);
    switch (kind) {
    case KIND_SCALAR:
        if (n > s->len - s->pos)
            return refuse(s->reason, "truncated value at byte %zu", at);
        s->pos += (size_t)n;
        return 0;
    case KIND_STR:
    case KIND_BIN:
        return scan_bytes(s, kind, n, role, at);
    default:
        return push(s, kind, n, at);
    }
}

static int scan_body(struct scanner *s)
{
    unsigned char b = s->p[0];
    int rc;

    if (!((b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf))
        return refuse(s->reason, "frame is not a map");
    rc = scan_object(s, ROLE_VALUE);
    while (rc == 0 && s->depth > 0) {
        struct level *lv = &s->levels[s->depth - 1];
        enum role role = ROLE_VALUE;

        if (lv->left == 0) {
            s->depth--;
            continue;
        }
        if (lv->map && lv->left % 2 == 0)
            role = ROLE_KEY;
        else if (s->type_next)
            role = ROLE_TYPE;
        s->type_next = false;
        lv->left--;
        if (s->pos == s->len)
            return refuse(s->reason, "truncated frame at byte %zu", s->pos);
        rc = scan_object(s, role);
    }
    if (rc == 0 && s->pos != s->len)
        return refuse(s->reason, "%zu bytes after the map", s->len - s->pos);
    return rc;
}

int scan_frame(struct scan_result *out, char *reason, const void *body,
               size_t len)
{
    struct scanner s;
    int rc;

    if (len == 0)
        return refuse(reason, "empty frame");
    if (len > LIMIT_DATA_FRAME)
        return refuse(reason, "frame of %zu bytes is over the limit", len);
    if (len > LIMIT_FRAME) {
        rc = scan_large_head(reason, body, len);
        if (rc < 0)
            return rc;
    }
    memset(&s, 0, offsetof(struct scanner, levels));
    s.p = body;
    s.len = len;
    s.reason = reason;
    rc = scan_body(&s);
    if (rc < 0)
        return rc;
    if (!s.have_type)
        return refuse(reason, "frame has no type");
    if (out != NULL) {
        out->type = s.p + s.type.off;
        out->type_len = s.type.len;
        out->elements = s.elements;
    }
    return 0;
}

int scan_large_head(char *reason, const void *head, size_t avail)
{
    static const unsigned char key[] = {0xa4, 't', 'y', 'p', 'e'};
    static const unsigned char pack[] = {0xa4, 'P', 'A', 'C', 'K'};
    static const unsigned char files[] = {0xa5, 'F', 'I', 'L', 'E', 'S'};
    const unsigned char *p = head;
    size_t at;

    if (avail == 0)
        return refuse(reason, "empty frame");
    if (p[0] > 0x80 && p[0] <= 0x8f)
        at = 1;
    else if (p[0] == 0xde)
        at = 3;
    else if (p[0] == 0xdf)
        at = 5;
    else
        return refuse(reason, "large frame is not a map with keys");
    if (avail < at + sizeof(key) || memcmp(p + at, key, sizeof(key)) != 0)
        return refuse(reason, "large frame does not start with its type");
    at += sizeof(key);
    if (avail >= at + sizeof(pack) && memcmp(p + at, pack, sizeof(pack)) == 0)
        return 0;
    if (avail >= at + sizeof(files) &&
        memcmp(p + at, files, sizeof(files)) == 0)
        return 0;
    return refuse(reason, "frame over %u bytes that is not PACK or FILES",
                  LIMIT_FRAME);
}
