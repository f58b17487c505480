/*
 * message: typed messages over msgpack-c.  Each type has a codec in one
 * table: its wire name, a decoder that reads fields out of the map that
 * msgpack-c built, and an encoder that packs them.  Decoded strings and
 * data are copied into one msgpack_zone owned by the message.
 */
#include "protocol/message.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "node/error.h"
#include "node/log.h"
#include "protocol/frame.h"
#include "protocol/scan.h"

struct decoder {
    msgpack_zone *zone;
    char *reason;
    const char *where; /* the type being read, for reasons */
};

struct encoder {
    msgpack_sbuffer buf;
    msgpack_packer pk;
    int failed;      /* a pack call failed: out of memory */
    const char *bad; /* the first field that broke a rule */
};

/*
 * What a field is.  Each message type is a table of fields; the same
 * table drives decoding and encoding, in the order the encoder writes.
 */
enum field_kind {
    FIELD_UINT,   /* uint64_t */
    FIELD_BOOL,   /* bool */
    FIELD_NAME,   /* const char *, 1 to LIMIT_NAME bytes */
    FIELD_TEXT,   /* const char *, 0 to LIMIT_STR bytes */
    FIELD_OID,    /* struct message_oid */
    FIELD_BIN,    /* const unsigned char * and a size_t at len_off */
    FIELD_ENUM,   /* an enum, as one of names */
    FIELD_LIST,   /* entries at off, their size_t count at len_off */
    FIELD_MAP,    /* a nested map of the fields sub, same struct */
    FIELD_FILE,   /* one FILES entry */
    FIELD_FILTERS /* SEARCH filters: facet -> list of values */
};

struct field {
    const char *key;
    enum field_kind kind;
    size_t off;
    size_t len_off;
    size_t each;              /* LIST: bytes of one entry */
    size_t max;               /* LIST: most entries */
    const struct field *elem; /* LIST: one entry (its key unused) */
    const struct field *sub;  /* MAP */
    size_t nsub;
    const char *const *names; /* ENUM */
    int nnames;
    bool optional; /* TEXT: "" when absent; LIST: no entries */
    bool omit;     /* optional: not written when NULL or "", or empty */
};

struct codec {
    const char *name;
    enum message_type type;
    const struct field *fields;
    size_t nfields;
    bool data; /* may use LIMIT_DATA_FRAME */
    const char *(*check)(const struct message *msg); /* rules across fields */
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define AT(type, member) offsetof(struct type, member)
#define PLAIN(k, kd, st, m)                                                    \
    {                                                                          \
        .key = (k), .kind = (kd), .off = AT(st, m)                             \
    }
#define ELEM(kd)                                                               \
    {                                                                          \
        .key = "entry", .kind = (kd)                                           \
    }
#define TEXT_OPT(k, st, m)                                                     \
    {                                                                          \
        .key = (k), .kind = FIELD_TEXT, .off = AT(st, m), .optional = true     \
    }
#define TEXT_OMIT(k, st, m)                                                    \
    {                                                                          \
        .key = (k), .kind = FIELD_TEXT, .off = AT(st, m), .optional = true,    \
        .omit = true                                                           \
    }
#define LIST_OMIT(k, st, m, n, type, most, el)                                 \
    {                                                                          \
        .key = (k), .kind = FIELD_LIST, .off = AT(st, m),                      \
        .len_off = AT(st, n), .each = sizeof(type), .max = (most),             \
        .elem = (el), .optional = true, .omit = true                           \
    }
#define BIN(k, st, m, l)                                                       \
    {                                                                          \
        .key = (k), .kind = FIELD_BIN, .off = AT(st, m), .len_off = AT(st, l)  \
    }
#define ENUM(k, st, m, nm)                                                     \
    {                                                                          \
        .key = (k), .kind = FIELD_ENUM, .off = AT(st, m), .names = (nm),       \
        .nnames = COUNT(nm)                                                    \
    }
#define MAP(k, table)                                                          \
    {                                                                          \
        .key = (k), .kind = FIELD_MAP, .sub = (table), .nsub = COUNT(table)    \
    }
#define LIST(k, st, m, n, type, most, el)                                      \
    {                                                                          \
        .key = (k), .kind = FIELD_LIST, .off = AT(st, m),                      \
        .len_off = AT(st, n), .each = sizeof(type), .max = (most),             \
        .elem = (el)                                                           \
    }

static const char *const result_names[] = {
    "ok", "up-to-date", "refused", "not-found", "failed",
};

static const char *const status_names[] = {
    "sent",
    "denied-licence",
    "denied-policy",
    "missing",
};

static const struct field elem_name = ELEM(FIELD_NAME);
static const struct field elem_oid = ELEM(FIELD_OID);
static const struct field elem_file = ELEM(FIELD_FILE);
static const struct field elem_text = ELEM(FIELD_TEXT);

static const struct field use_fields[] = {
    PLAIN("commercial", FIELD_BOOL, message_hello, commercial),
    PLAIN("adapts", FIELD_BOOL, message_hello, adapts),
};

static const struct field hello_fields[] = {
    PLAIN("version", FIELD_UINT, message_hello, version),
    PLAIN("node", FIELD_NAME, message_hello, node),
    PLAIN("software", FIELD_NAME, message_hello, software),
    LIST("features", message_hello, features, nfeatures, char *, LIMIT_FEATURES,
         &elem_name),
    MAP("use", use_fields),
    PLAIN("max_frame", FIELD_UINT, message_hello, max_frame),
    PLAIN("max_data_frame", FIELD_UINT, message_hello, max_data_frame),
};

static const struct field head_fields[] = {
    PLAIN("origin", FIELD_NAME, message_head, origin),
    PLAIN("head", FIELD_OID, message_head, head),
    PLAIN("count", FIELD_UINT, message_head, count),
    TEXT_OMIT("key", message_head, key),
};

static const struct field elem_head = MAP("entry", head_fields);

static const struct field heads_fields[] = {
    LIST("heads", message_heads, heads, nheads, struct message_head,
         LIMIT_HEADS, &elem_head),
};

static const struct field fetch_fields[] = {
    PLAIN("origin", FIELD_NAME, message_fetch, origin),
    PLAIN("want", FIELD_OID, message_fetch, want),
    LIST("haves", message_fetch, haves, nhaves, struct message_oid, LIMIT_HAVES,
         &elem_oid),
};

static const struct field pack_fields[] = {
    PLAIN("origin", FIELD_NAME, message_pack, origin),
    PLAIN("seq", FIELD_UINT, message_pack, seq),
    BIN("data", message_pack, data, len),
    PLAIN("last", FIELD_BOOL, message_pack, last),
};

static const struct field fetch_end_fields[] = {
    PLAIN("origin", FIELD_NAME, message_fetch_end, origin),
    ENUM("result", message_fetch_end, result, result_names),
    TEXT_OPT("reason", message_fetch_end, reason),
};

static const struct field want_files_fields[] = {
    LIST("blobs", message_want_files, blobs, nblobs, struct message_oid,
         LIMIT_BLOBS, &elem_oid),
};

static const struct field file_fields[] = {
    PLAIN("blob", FIELD_OID, message_file, blob),
    ENUM("status", message_file, status, status_names),
};

/* The fields of an entry whose status is "sent", after file_fields. */
static const struct field file_sent_fields[] = {
    BIN("data", message_file, data, len),
    PLAIN("offset", FIELD_UINT, message_file, offset),
    PLAIN("size", FIELD_UINT, message_file, size),
};

static const struct field files_fields[] = {
    LIST("files", message_files, files, nfiles, struct message_file,
         LIMIT_FILES, &elem_file),
};

static const struct field search_fields[] = {
    PLAIN("id", FIELD_UINT, message_search, id),
    PLAIN("query", FIELD_TEXT, message_search, query),
    PLAIN("filters", FIELD_FILTERS, message_search, filters),
    PLAIN("deadline_ms", FIELD_UINT, message_search, deadline_ms),
    LIST_OMIT("held", message_search, held, nheld, char *, LIMIT_HELD,
              &elem_name),
    TEXT_OMIT("system", message_search, system),
    TEXT_OMIT("lang", message_search, lang),
};

static const struct field hit_fields[] = {
    PLAIN("id", FIELD_NAME, message_hit, id),
    PLAIN("title", FIELD_TEXT, message_hit, title),
    PLAIN("score", FIELD_UINT, message_hit, score),
};

static const struct field elem_hit = MAP("entry", hit_fields);

static const struct field results_fields[] = {
    PLAIN("id", FIELD_UINT, message_results, id),
    LIST("hits", message_results, hits, nhits, struct message_hit, LIMIT_HITS,
         &elem_hit),
    TEXT_OPT("error", message_results, error),
};

static const struct field ping_fields[] = {
    PLAIN("nonce", FIELD_UINT, message_ping, nonce),
};

static const struct field error_fields[] = {
    PLAIN("code", FIELD_NAME, message_error, code),
    PLAIN("message", FIELD_TEXT, message_error, message),
};

static const struct field bye_fields[] = {
    PLAIN("reason", FIELD_TEXT, message_bye, reason),
};

/* A peer that accepts less than LIMIT_FRAME_MIN could not take a HEADS. */
static const char *check_hello(const struct message *msg)
{
    if (msg->u.hello.max_frame < LIMIT_FRAME_MIN ||
        msg->u.hello.max_data_frame < LIMIT_FRAME_MIN)
        return "max_frame is below the least allowed";
    return NULL;
}

#define CODEC(nm, ty, table, big)                                              \
    {                                                                          \
        .name = (nm), .type = (ty), .fields = (table),                         \
        .nfields = COUNT(table), .data = (big)                                 \
    }

static const struct codec codecs[] = {
    {.name = "HELLO",
     .type = MESSAGE_HELLO,
     .fields = hello_fields,
     .nfields = COUNT(hello_fields),
     .check = check_hello},
    CODEC("HEADS", MESSAGE_HEADS, heads_fields, false),
    CODEC("FETCH", MESSAGE_FETCH, fetch_fields, false),
    CODEC("PACK", MESSAGE_PACK, pack_fields, true),
    CODEC("FETCH_END", MESSAGE_FETCH_END, fetch_end_fields, false),
    CODEC("WANT_FILES", MESSAGE_WANT_FILES, want_files_fields, false),
    CODEC("FILES", MESSAGE_FILES, files_fields, true),
    CODEC("SEARCH", MESSAGE_SEARCH, search_fields, false),
    CODEC("RESULTS", MESSAGE_RESULTS, results_fields, false),
    CODEC("PING", MESSAGE_PING, ping_fields, false),
    CODEC("PONG", MESSAGE_PONG, ping_fields, false),
    CODEC("ERROR", MESSAGE_ERROR, error_fields, false),
    CODEC("BYE", MESSAGE_BYE, bye_fields, false),
};

/* ---- decoding ---- */

#define SLOT(base, off, type) ((type *)((char *)(base) + (off)))

__attribute__((format(printf, 3, 4))) static int
refuse(struct decoder *d, const char *key, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (d->reason == NULL)
        return OER_EPROTO;
    n = snprintf(d->reason, LIMIT_REASON, "%s: %s ", d->where, key);
    if (n < 0 || n >= LIMIT_REASON)
        return OER_EPROTO;
    va_start(ap, fmt);
    vsnprintf(d->reason + n, LIMIT_REASON - (size_t)n, fmt, ap);
    va_end(ap);
    return OER_EPROTO;
}

static const msgpack_object *find(const msgpack_object *map, const char *key)
{
    size_t n = strlen(key);

    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;

        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static void *zalloc(struct decoder *d, size_t size)
{
    void *p = msgpack_zone_malloc(d->zone, size ? size : 1);

    if (p != NULL)
        memset(p, 0, size);
    return p;
}

/* Copy a string: no NUL inside, min to max bytes. */
static int read_str(struct decoder *d, const char **out, const struct field *f,
                    const msgpack_object *o, size_t min, size_t max)
{
    size_t n = o->via.str.size;
    char *s;

    if (o->type != MSGPACK_OBJECT_STR)
        return refuse(d, f->key, "is not a string");
    if (n < min || n > max)
        return refuse(d, f->key, "has a bad length %zu", n);
    if (memchr(o->via.str.ptr, '\0', n) != NULL)
        return refuse(d, f->key, "holds a NUL");
    s = zalloc(d, n + 1);
    if (s == NULL)
        return OER_ENOMEM;
    memcpy(s, o->via.str.ptr, n);
    *out = s;
    return 0;
}

static int read_bin(struct decoder *d, void *base, const struct field *f,
                    const msgpack_object *o)
{
    unsigned char *copy;

    if (o->type != MSGPACK_OBJECT_BIN)
        return refuse(d, f->key, "is not a binary");
    if (f->kind == FIELD_OID) {
        if (o->via.bin.size != LIMIT_OID)
            return refuse(d, f->key, "is not %d bytes", LIMIT_OID);
        memcpy(SLOT(base, f->off, struct message_oid)->id, o->via.bin.ptr,
               LIMIT_OID);
        return 0;
    }
    copy = zalloc(d, o->via.bin.size);
    if (copy == NULL)
        return OER_ENOMEM;
    memcpy(copy, o->via.bin.ptr, o->via.bin.size);
    *SLOT(base, f->off, const unsigned char *) = copy;
    *SLOT(base, f->len_off, size_t) = o->via.bin.size;
    return 0;
}

static int read_enum(struct decoder *d, void *base, const struct field *f,
                     const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return refuse(d, f->key, "is not a string");
    for (int i = 0; i < f->nnames; i++) {
        if (strlen(f->names[i]) == o->via.str.size &&
            memcmp(f->names[i], o->via.str.ptr, o->via.str.size) == 0) {
            *SLOT(base, f->off, int) = i;
            return 0;
        }
    }
    return refuse(d, f->key, "has an unknown value");
}

static int read_value(struct decoder *d, void *base, const struct field *f,
                      const msgpack_object *o);
static int read_fields(struct decoder *d, void *base,
                       const struct field *fields, size_t n,
                       const msgpack_object *map);

static int read_list(struct decoder *d, void *base, const struct field *f,
                     const msgpack_object *o)
{
    const msgpack_object_array *a = &o->via.array;
    char *items;
    int rc;

    if (o->type != MSGPACK_OBJECT_ARRAY)
        return refuse(d, f->key, "is not an array");
    if (a->size > f->max)
        return refuse(d, f->key, "has more than %zu entries", f->max);
    items = zalloc(d, a->size * f->each);
    if (items == NULL)
        return OER_ENOMEM;
    *SLOT(base, f->off, void *) = items;
    for (uint32_t i = 0; i < a->size; i++) {
        rc = read_value(d, items + i * f->each, f->elem, &a->ptr[i]);
        if (rc < 0)
            return rc;
    }
    *SLOT(base, f->len_off, size_t) = a->size;
    return 0;
}

static int read_file(struct decoder *d, void *base, const struct field *f,
                     const msgpack_object *o)
{
    struct message_file *file = base;
    int rc;

    if (o->type != MSGPACK_OBJECT_MAP)
        return refuse(d, f->key, "is not a map");
    rc = read_fields(d, file, file_fields, COUNT(file_fields), o);
    if (rc < 0 || file->status != MESSAGE_FILE_SENT)
        return rc;
    rc = read_fields(d, file, file_sent_fields, COUNT(file_sent_fields), o);
    if (rc < 0)
        return rc;
    if (file->offset > file->size || file->len > file->size - file->offset)
        return refuse(d, "data", "runs past size");
    return 0;
}

static int read_filter(struct decoder *d, struct message_filter *filter,
                       const msgpack_object_kv *kv)
{
    static const struct field key = ELEM(FIELD_NAME);
    static const struct field values =
        LIST("filters[]", message_filter, values, nvalues, char *,
             LIMIT_FILTER_VALUES, &elem_text);
    int rc;

    rc = read_str(d, &filter->key, &key, &kv->key, 1, LIMIT_NAME);
    if (rc < 0)
        return rc;
    return read_list(d, filter, &values, &kv->val);
}

static int read_filters(struct decoder *d, void *base, const struct field *f,
                        const msgpack_object *o)
{
    struct message_search *s = base;
    int rc;

    if (o->type != MSGPACK_OBJECT_MAP)
        return refuse(d, f->key, "is not a map");
    if (o->via.map.size > LIMIT_FILTERS)
        return refuse(d, f->key, "has more than %d keys", LIMIT_FILTERS);
    s->filters = zalloc(d, o->via.map.size * sizeof(*s->filters));
    if (s->filters == NULL)
        return OER_ENOMEM;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        rc = read_filter(d, &s->filters[i], &o->via.map.ptr[i]);
        if (rc < 0)
            return rc;
    }
    s->nfilters = o->via.map.size;
    return 0;
}

static int read_scalar(struct decoder *d, void *base, const struct field *f,
                       const msgpack_object *o)
{
    if (f->kind == FIELD_UINT) {
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return refuse(d, f->key, "is not an unsigned integer");
        *SLOT(base, f->off, uint64_t) = o->via.u64;
        return 0;
    }
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return refuse(d, f->key, "is not a boolean");
    *SLOT(base, f->off, bool) = o->via.boolean;
    return 0;
}

static int read_value(struct decoder *d, void *base, const struct field *f,
                      const msgpack_object *o)
{
    switch (f->kind) {
    case FIELD_UINT:
    case FIELD_BOOL:
        return read_scalar(d, base, f, o);
    case FIELD_NAME:
        return read_str(d, SLOT(base, f->off, const char *), f, o, 1,
                        LIMIT_NAME);
    case FIELD_TEXT:
        return read_str(d, SLOT(base, f->off, const char *), f, o, 0,
                        LIMIT_STR);
    case FIELD_OID:
    case FIELD_BIN:
        return read_bin(d, base, f, o);
    case FIELD_ENUM:
        return read_enum(d, base, f, o);
    case FIELD_LIST:
        return read_list(d, base, f, o);
    case FIELD_MAP:
        if (o->type != MSGPACK_OBJECT_MAP)
            return refuse(d, f->key, "is not a map");
        return read_fields(d, SLOT(base, f->off, char), f->sub, f->nsub, o);
    case FIELD_FILE:
        return read_file(d, base, f, o);
    case FIELD_FILTERS:
        return read_filters(d, base, f, o);
    }
    return refuse(d, f->key, "has no decoder");
}

static int read_fields(struct decoder *d, void *base,
                       const struct field *fields, size_t n,
                       const msgpack_object *map)
{
    for (size_t i = 0; i < n; i++) {
        const struct field *f = &fields[i];
        const msgpack_object *o = find(map, f->key);
        int rc;

        if (o == NULL && f->optional && f->kind == FIELD_LIST) {
            *SLOT(base, f->off, void *) = NULL;
            *SLOT(base, f->len_off, size_t) = 0;
            continue;
        }
        if (o == NULL && f->optional) {
            *SLOT(base, f->off, const char *) = "";
            continue;
        }
        if (o == NULL)
            return refuse(d, f->key, "is missing");
        rc = read_value(d, base, f, o);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- encoding ---- */

static void put_str(struct encoder *e, const char *s, size_t min, size_t max)
{
    size_t n;

    if (s == NULL) {
        e->failed |= msgpack_pack_str_with_body(&e->pk, "", 0);
        return;
    }
    n = strlen(s);
    if (n < min || n > max)
        e->bad = e->bad ? e->bad : "a string of a bad length";
    e->failed |= msgpack_pack_str_with_body(&e->pk, s, n);
}

static void put_key(struct encoder *e, const char *key)
{
    e->failed |= msgpack_pack_str_with_body(&e->pk, key, strlen(key));
}

static void put_value(struct encoder *e, const void *base,
                      const struct field *f);

/* Whether a field is left out: an omitted optional text that is empty,
 * or a list without entries. */
static bool skipped(const void *base, const struct field *f)
{
    const char *text;

    if (!f->omit)
        return false;
    if (f->kind == FIELD_LIST)
        return *SLOT(base, f->len_off, const size_t) == 0;
    text = *SLOT(base, f->off, const char *const);
    return text == NULL || text[0] == '\0';
}

/* The fields of a table that are written. */
static size_t written(const void *base, const struct field *fields, size_t n)
{
    size_t count = 0;

    for (size_t i = 0; i < n; i++)
        count += !skipped(base, &fields[i]);
    return count;
}

static void put_fields(struct encoder *e, const void *base,
                       const struct field *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (skipped(base, &fields[i]))
            continue;
        put_key(e, fields[i].key);
        put_value(e, base, &fields[i]);
    }
}

static void put_list(struct encoder *e, const void *base, const struct field *f)
{
    const char *items = *SLOT(base, f->off, const char *const);
    size_t n = *SLOT(base, f->len_off, const size_t);

    if (n > f->max || (n > 0 && items == NULL)) {
        e->bad = e->bad ? e->bad : f->key;
        n = 0;
    }
    e->failed |= msgpack_pack_array(&e->pk, n);
    for (size_t i = 0; i < n; i++)
        put_value(e, items + i * f->each, f->elem);
}

static void put_file(struct encoder *e, const struct message_file *file)
{
    bool sent = file->status == MESSAGE_FILE_SENT;

    if (sent &&
        (file->offset > file->size || file->len > file->size - file->offset))
        e->bad = e->bad ? e->bad : "data";
    e->failed |= msgpack_pack_map(&e->pk, sent ? 5 : 2);
    put_fields(e, file, file_fields, COUNT(file_fields));
    if (sent)
        put_fields(e, file, file_sent_fields, COUNT(file_sent_fields));
}

static void put_filters(struct encoder *e, const struct message_search *s)
{
    static const struct field values =
        LIST("filters[]", message_filter, values, nvalues, char *,
             LIMIT_FILTER_VALUES, &elem_text);
    size_t n = s->nfilters;

    if (n > LIMIT_FILTERS || (n > 0 && s->filters == NULL)) {
        e->bad = e->bad ? e->bad : "filters";
        n = 0;
    }
    e->failed |= msgpack_pack_map(&e->pk, n);
    for (size_t i = 0; i < n; i++) {
        put_str(e, s->filters[i].key, 1, LIMIT_NAME);
        put_list(e, &s->filters[i], &values);
    }
}

static void put_bin(struct encoder *e, const void *data, size_t len)
{
    if (len > 0 && data == NULL) {
        e->bad = e->bad ? e->bad : "data";
        len = 0;
    }
    e->failed |= msgpack_pack_bin_with_body(&e->pk, data, len);
}

static void put_value(struct encoder *e, const void *base,
                      const struct field *f)
{
    int i;

    switch (f->kind) {
    case FIELD_UINT:
        e->failed |=
            msgpack_pack_uint64(&e->pk, *SLOT(base, f->off, const uint64_t));
        return;
    case FIELD_BOOL:
        e->failed |= *SLOT(base, f->off, const bool)
                         ? msgpack_pack_true(&e->pk)
                         : msgpack_pack_false(&e->pk);
        return;
    case FIELD_NAME:
    case FIELD_TEXT:
        put_str(e, *SLOT(base, f->off, const char *const),
                f->kind == FIELD_NAME,
                f->kind == FIELD_NAME ? LIMIT_NAME : LIMIT_STR);
        return;
    case FIELD_OID:
        put_bin(e, SLOT(base, f->off, const struct message_oid)->id, LIMIT_OID);
        return;
    case FIELD_BIN:
        put_bin(e, *SLOT(base, f->off, const unsigned char *const),
                *SLOT(base, f->len_off, const size_t));
        return;
    case FIELD_ENUM:
        i = *SLOT(base, f->off, const int);
        if (i < 0 || i >= f->nnames) {
            e->bad = e->bad ? e->bad : f->key;
            i = 0;
        }
        put_str(e, f->names[i], 1, LIMIT_NAME);
        return;
    case FIELD_LIST:
        put_list(e, base, f);
        return;
    case FIELD_MAP:
        e->failed |= msgpack_pack_map(
            &e->pk, written(SLOT(base, f->off, const char), f->sub, f->nsub));
        put_fields(e, SLOT(base, f->off, const char), f->sub, f->nsub);
        return;
    case FIELD_FILE:
        put_file(e, base);
        return;
    case FIELD_FILTERS:
        put_filters(e, base);
        return;
    }
}

/* ---- the interface ---- */

static const struct codec *codec_named(const unsigned char *name, size_t len)
{
    for (size_t i = 0; i < COUNT(codecs); i++) {
        if (strlen(codecs[i].name) == len &&
            memcmp(codecs[i].name, name, len) == 0)
            return &codecs[i];
    }
    return NULL;
}

static const struct codec *codec_of(enum message_type type)
{
    for (size_t i = 0; i < COUNT(codecs); i++) {
        if (codecs[i].type == type)
            return &codecs[i];
    }
    return NULL;
}

/* Let msgpack-c build the objects of a scanned body and read the fields
 * of c out of them into m. */
static int unpack(struct decoder *d, struct message *m, const struct codec *c,
                  const void *body, size_t len)
{
    msgpack_unpacked up;
    msgpack_unpack_return ret;
    const char *broken;
    size_t off = 0;
    int rc;

    msgpack_unpacked_init(&up);
    ret = msgpack_unpack_next(&up, body, len, &off);
    if (ret == MSGPACK_UNPACK_NOMEM_ERROR)
        rc = OER_ENOMEM;
    else if (ret != MSGPACK_UNPACK_SUCCESS || off != len ||
             up.data.type != MSGPACK_OBJECT_MAP)
        rc = refuse(d, "frame", "is refused by msgpack");
    else
        rc = read_fields(d, &m->u, c->fields, c->nfields, &up.data);
    msgpack_unpacked_destroy(&up);
    if (rc < 0 || c->check == NULL)
        return rc;
    broken = c->check(m);
    return broken ? refuse(d, "frame", "breaks a rule: %s", broken) : 0;
}

int message_decode(struct message **out, char *reason, const void *body,
                   size_t len)
{
    struct decoder d = {.reason = reason, .where = "frame"};
    struct scan_result scan;
    const struct codec *c;
    struct message *m;
    int rc;

    *out = NULL;
    rc = scan_frame(&scan, reason, body, len);
    if (rc < 0)
        return rc;
    d.zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    m = d.zone ? zalloc(&d, sizeof(*m)) : NULL;
    if (m == NULL) {
        rc = OER_ENOMEM;
        goto out;
    }
    m->zone = d.zone;
    m->type = MESSAGE_UNKNOWN;

    /* A type this node does not know is ignored, and never unpacked. */
    c = codec_named(scan.type, scan.type_len);
    if (c != NULL) {
        d.where = c->name;
        rc = unpack(&d, m, c, body, len);
        m->type = c->type;
    }
out:
    if (rc == OER_ENOMEM)
        log_error("message", "out of memory decoding a frame", NULL);
    if (rc < 0) {
        if (d.zone != NULL)
            msgpack_zone_free(d.zone);
        return rc;
    }
    *out = m;
    return 0;
}

/* The largest body the peer takes for this type, within our limits. */
static size_t body_limit(const struct codec *c,
                         const struct message_hello *peer)
{
    size_t limit = c->data ? LIMIT_DATA_FRAME : LIMIT_FRAME;
    uint64_t theirs;

    if (peer == NULL)
        return limit;
    theirs = c->data ? peer->max_data_frame : peer->max_frame;
    return theirs < limit ? (size_t)theirs : limit;
}

/* Pack msg after room for the prefix; sets e->failed or e->bad. */
static void pack(struct encoder *e, const struct codec *c,
                 const struct message *msg)
{
    e->failed |= msgpack_sbuffer_write(&e->buf, "\0\0\0\0", LIMIT_PREFIX);
    e->failed |=
        msgpack_pack_map(&e->pk, written(&msg->u, c->fields, c->nfields) + 1);
    put_key(e, "type");
    put_str(e, c->name, 1, LIMIT_NAME);
    put_fields(e, &msg->u, c->fields, c->nfields);
    if (e->bad == NULL && c->check != NULL)
        e->bad = c->check(msg);
}

int message_encode(unsigned char **out, size_t *len, const struct message *msg,
                   const struct message_hello *peer)
{
    const struct codec *c = codec_of(msg->type);
    char reason[LIMIT_REASON] = "";
    struct encoder e = {.failed = 0};
    size_t body_len;
    int rc = OER_EINVAL;

    msgpack_sbuffer_init(&e.buf);
    msgpack_packer_init(&e.pk, &e.buf, msgpack_sbuffer_write);
    if (c == NULL) {
        snprintf(reason, sizeof(reason), "no such message type");
        goto out;
    }
    pack(&e, c, msg);
    if (e.failed) {
        rc = OER_ENOMEM;
        log_error("message", "out of memory encoding a frame", "type", c->name,
                  NULL);
        goto out;
    }
    body_len = e.buf.size - LIMIT_PREFIX;
    if (e.bad != NULL)
        snprintf(reason, sizeof(reason), "%s breaks a limit", e.bad);
    else if (body_len > body_limit(c, peer))
        snprintf(reason, sizeof(reason),
                 "frame of %zu bytes is over the "
                 "peer's limit of %zu",
                 body_len, body_limit(c, peer));
    /* What we send must pass the scan our peers run. */
    else if (scan_frame(NULL, reason, e.buf.data + LIMIT_PREFIX, body_len) == 0)
        rc = frame_seal((unsigned char *)e.buf.data, body_len);
out:
    if (rc == OER_EINVAL && reason[0] != '\0')
        log_warn("message", "message not sent", "type", c ? c->name : "none",
                 "reason", reason, NULL);
    if (rc < 0) {
        msgpack_sbuffer_destroy(&e.buf);
        return rc;
    }
    *len = e.buf.size;
    *out = (unsigned char *)msgpack_sbuffer_release(&e.buf);
    return 0;
}

void message_free(struct message *msg)
{
    if (msg == NULL || msg->zone == NULL)
        return;
    msgpack_zone_free(msg->zone);
}

const char *message_type_name(enum message_type type)
{
    const struct codec *c = codec_of(type);

    return c ? c->name : "UNKNOWN";
}

const char *message_result_name(enum message_result result)
{
    if ((int)result < 0 || (size_t)result >= COUNT(result_names))
        return "unknown";
    return result_names[result];
}

const char *message_file_status_name(enum message_file_status status)
{
    if ((int)status < 0 || (size_t)status >= COUNT(status_names))
        return "unknown";
    return status_names[status];
}
