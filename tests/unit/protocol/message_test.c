/*
 * Tests of protocol/message: golden vectors (exact bytes, both ways, and
 * an independent check with Python's msgpack), field rules, the sender's
 * own limits, and memory of decoding in proportion to the frame.
 *
 * OERNODE_WRITE_VECTORS=1 writes the vectors from the encoder instead of
 * comparing; that was done once, and the files are checked in.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/error.h"
#include "node/log.h"
#include "protocol/limits.h"
#include "protocol/message.h"
#include "testutil.h"

/* ---- allocation counting through the sanitizer's hooks ---- */

extern int __sanitizer_install_malloc_and_free_hooks(
    void (*on_malloc)(const volatile void *, size_t),
    void (*on_free)(const volatile void *)) __attribute__((weak));
extern size_t __sanitizer_get_allocated_size(const volatile void *p)
    __attribute__((weak));

static int counting;
static size_t live, peak;

static void on_malloc(const volatile void *p, size_t size)
{
    if (!counting)
        return;
    live += size;
    if (live > peak)
        peak = live;
}

static void on_free(const volatile void *p)
{
    size_t size;

    if (!counting || p == NULL)
        return;
    size = __sanitizer_get_allocated_size(p);
    live = size > live ? 0 : live - size;
}

/* Start counting; false when this build has no sanitizer hooks. */
static int count_start(void)
{
    static int installed;

    if (__sanitizer_install_malloc_and_free_hooks == NULL)
        return 0;
    if (!installed)
        installed = __sanitizer_install_malloc_and_free_hooks(on_malloc,
                                                              on_free);
    live = peak = 0;
    counting = 1;
    return installed;
}

static size_t count_stop(void)
{
    counting = 0;
    return peak;
}

/* ---- the sample messages behind the vectors ---- */

static const struct message_oid oid_a = {{
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
    0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14}};
static const struct message_oid oid_b = {{
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9,
    0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3}};
static const struct message_oid oid_c = {{
    0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xca, 0xfe, 0xba, 0xbe}};

static const char *features[] = {"relay", "search"};
/* The first head carries the optional key, the second does not. */
static struct message_head heads[] = {
    {"be-vl", {{0}}, 1234,
     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGCRRdI4aRZKw4lYwr0LuY76uWAwDdJMVhlMb8Oxk/W6"},
    {"nl-edurep", {{0}}, 0, NULL},
};
static struct message_oid haves[1];
static struct message_oid blobs[2];
static const unsigned char pack_data[] = "PACK\0\0\0\2\0\0\0\3";
static struct message_file files[] = {
    {.status = MESSAGE_FILE_SENT, .data = (const unsigned char *)"hello\n",
     .len = 6, .offset = 0, .size = 6},
    {.status = MESSAGE_FILE_DENIED_LICENCE},
    {.status = MESSAGE_FILE_MISSING},
};
static const char *levels[] = {"isced-2", "isced-3"};
static const char *langs[] = {"nl"};
static struct message_filter filters[] = {
    {"level", levels, 2},
    {"language", langs, 1},
};
static const char *held[] = {"be-vl", "nl-edurep"};
static struct message_hit hits[] = {
    {"be-vl/8f3k2", "Photosynth\xc3\xa8se \xe2\x80\x94 cours", 912000},
    {"nl-edurep/x1", "", 0},
};

static const char *const vector_names[] = {
    NULL, "hello", "heads", "fetch", "pack", "fetch_end", "want_files",
    "files", "search", "results", "ping", "pong", "error", "bye",
};
#define NTYPES ((int)(sizeof(vector_names) / sizeof(vector_names[0])))

static struct message sample(enum message_type type)
{
    struct message m = {.type = type};

    heads[0].head = oid_a;
    heads[1].head = oid_b;
    haves[0] = oid_b;
    blobs[0] = oid_a;
    blobs[1] = oid_c;
    files[0].blob = oid_a;
    files[1].blob = oid_b;
    files[2].blob = oid_c;
    switch (type) {
    case MESSAGE_HELLO:
        m.u.hello = (struct message_hello){
            1, "be-vl", "oernode/0.1.0", features, 2, false, true,
            LIMIT_FRAME, LIMIT_DATA_FRAME};
        break;
    case MESSAGE_HEADS:
        m.u.heads = (struct message_heads){heads, 2};
        break;
    case MESSAGE_FETCH:
        m.u.fetch = (struct message_fetch){"nl-edurep", oid_a, haves, 1};
        break;
    case MESSAGE_PACK:
        m.u.pack = (struct message_pack){"be-vl", 3, pack_data,
                                         sizeof(pack_data) - 1, true};
        break;
    case MESSAGE_FETCH_END:
        m.u.fetch_end = (struct message_fetch_end){
            "be-vl", MESSAGE_RESULT_UP_TO_DATE, ""};
        break;
    case MESSAGE_WANT_FILES:
        m.u.want_files = (struct message_want_files){blobs, 2};
        break;
    case MESSAGE_FILES:
        m.u.files = (struct message_files){files, 3};
        break;
    case MESSAGE_SEARCH:
        m.u.search = (struct message_search){7, "fotosynthese", filters, 2,
                                             1500, held, 2, "be-vl", "nl"};
        break;
    case MESSAGE_RESULTS:
        m.u.results = (struct message_results){7, hits, 2, ""};
        break;
    case MESSAGE_PING:
    case MESSAGE_PONG:
        m.u.ping.nonce = 0x0123456789abcdefULL;
        break;
    case MESSAGE_ERROR:
        m.u.error = (struct message_error){
            "proto", "frame of 9000000 bytes is over the limit"};
        break;
    case MESSAGE_BYE:
        m.u.bye.reason = "shutting down";
        break;
    default:
        break;
    }
    return m;
}

static void assert_oid(const struct message_oid *a, const struct message_oid *b)
{
    assert_memory_equal(a->id, b->id, LIMIT_OID);
}

static void assert_hello(const struct message_hello *a,
                         const struct message_hello *b)
{
    assert_int_equal(a->version, b->version);
    assert_string_equal(a->node, b->node);
    assert_string_equal(a->software, b->software);
    assert_int_equal(a->nfeatures, b->nfeatures);
    for (size_t i = 0; i < a->nfeatures; i++)
        assert_string_equal(a->features[i], b->features[i]);
    assert_int_equal(a->commercial, b->commercial);
    assert_int_equal(a->adapts, b->adapts);
    assert_int_equal(a->max_frame, b->max_frame);
    assert_int_equal(a->max_data_frame, b->max_data_frame);
}

static void assert_heads(const struct message_heads *a,
                         const struct message_heads *b)
{
    assert_int_equal(a->nheads, b->nheads);
    for (size_t i = 0; i < a->nheads; i++) {
        assert_string_equal(a->heads[i].origin, b->heads[i].origin);
        assert_oid(&a->heads[i].head, &b->heads[i].head);
        assert_int_equal(a->heads[i].count, b->heads[i].count);
        assert_string_equal(a->heads[i].key ? a->heads[i].key : "",
                            b->heads[i].key ? b->heads[i].key : "");
    }
}

static void assert_files(const struct message_files *a,
                         const struct message_files *b)
{
    assert_int_equal(a->nfiles, b->nfiles);
    for (size_t i = 0; i < a->nfiles; i++) {
        assert_oid(&a->files[i].blob, &b->files[i].blob);
        assert_int_equal(a->files[i].status, b->files[i].status);
        assert_int_equal(a->files[i].len, b->files[i].len);
        if (a->files[i].len > 0)
            assert_memory_equal(a->files[i].data, b->files[i].data,
                                a->files[i].len);
        assert_int_equal(a->files[i].offset, b->files[i].offset);
        assert_int_equal(a->files[i].size, b->files[i].size);
    }
}

static void assert_search(const struct message_search *a,
                          const struct message_search *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->query, b->query);
    assert_int_equal(a->deadline_ms, b->deadline_ms);
    assert_string_equal(a->system != NULL ? a->system : "",
                        b->system != NULL ? b->system : "");
    assert_string_equal(a->lang != NULL ? a->lang : "",
                        b->lang != NULL ? b->lang : "");
    assert_int_equal(a->nheld, b->nheld);
    for (size_t i = 0; i < a->nheld; i++)
        assert_string_equal(a->held[i], b->held[i]);
    assert_int_equal(a->nfilters, b->nfilters);
    for (size_t i = 0; i < a->nfilters; i++) {
        assert_string_equal(a->filters[i].key, b->filters[i].key);
        assert_int_equal(a->filters[i].nvalues, b->filters[i].nvalues);
        for (size_t j = 0; j < a->filters[i].nvalues; j++)
            assert_string_equal(a->filters[i].values[j],
                                b->filters[i].values[j]);
    }
}

static void assert_results(const struct message_results *a,
                           const struct message_results *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->nhits, b->nhits);
    for (size_t i = 0; i < a->nhits; i++) {
        assert_string_equal(a->hits[i].id, b->hits[i].id);
        assert_string_equal(a->hits[i].title, b->hits[i].title);
        assert_int_equal(a->hits[i].score, b->hits[i].score);
    }
    assert_string_equal(a->error != NULL ? a->error : "",
                        b->error != NULL ? b->error : "");
}

static void assert_lists(const struct message *a, const struct message *b)
{
    switch (a->type) {
    case MESSAGE_FETCH:
        assert_string_equal(a->u.fetch.origin, b->u.fetch.origin);
        assert_oid(&a->u.fetch.want, &b->u.fetch.want);
        assert_int_equal(a->u.fetch.nhaves, b->u.fetch.nhaves);
        for (size_t i = 0; i < a->u.fetch.nhaves; i++)
            assert_oid(&a->u.fetch.haves[i], &b->u.fetch.haves[i]);
        break;
    case MESSAGE_WANT_FILES:
        assert_int_equal(a->u.want_files.nblobs, b->u.want_files.nblobs);
        for (size_t i = 0; i < a->u.want_files.nblobs; i++)
            assert_oid(&a->u.want_files.blobs[i], &b->u.want_files.blobs[i]);
        break;
    default:
        break;
    }
}

static void assert_same(const struct message *a, const struct message *b)
{
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case MESSAGE_HELLO:
        return assert_hello(&a->u.hello, &b->u.hello);
    case MESSAGE_HEADS:
        return assert_heads(&a->u.heads, &b->u.heads);
    case MESSAGE_PACK:
        assert_string_equal(a->u.pack.origin, b->u.pack.origin);
        assert_int_equal(a->u.pack.seq, b->u.pack.seq);
        assert_int_equal(a->u.pack.len, b->u.pack.len);
        assert_memory_equal(a->u.pack.data, b->u.pack.data, a->u.pack.len);
        assert_int_equal(a->u.pack.last, b->u.pack.last);
        return;
    case MESSAGE_FETCH_END:
        assert_string_equal(a->u.fetch_end.origin, b->u.fetch_end.origin);
        assert_int_equal(a->u.fetch_end.result, b->u.fetch_end.result);
        assert_string_equal(a->u.fetch_end.reason, b->u.fetch_end.reason);
        return;
    case MESSAGE_FILES:
        return assert_files(&a->u.files, &b->u.files);
    case MESSAGE_SEARCH:
        return assert_search(&a->u.search, &b->u.search);
    case MESSAGE_RESULTS:
        return assert_results(&a->u.results, &b->u.results);
    case MESSAGE_PING:
    case MESSAGE_PONG:
        assert_true(a->u.ping.nonce == b->u.ping.nonce);
        return;
    case MESSAGE_ERROR:
        assert_string_equal(a->u.error.code, b->u.error.code);
        assert_string_equal(a->u.error.message, b->u.error.message);
        return;
    case MESSAGE_BYE:
        assert_string_equal(a->u.bye.reason, b->u.bye.reason);
        return;
    default:
        return assert_lists(a, b);
    }
}

/* ---- golden vectors ---- */

static char *vector_path(int type)
{
    char *path = NULL;

    if (asprintf(&path, "%s/tests/unit/protocol/vectors/%s.bin",
                 testutil_srcdir(), vector_names[type]) < 0)
        abort();
    return path;
}

static void test_vectors_exact(void **state)
{
    int write = getenv("OERNODE_WRITE_VECTORS") != NULL;

    for (int t = MESSAGE_HELLO; t < NTYPES; t++) {
        struct message m = sample((enum message_type)t);
        char *path = vector_path(t);
        unsigned char *frame = NULL;
        char *want;
        size_t len, want_len;

        assert_int_equal(message_encode(&frame, &len, &m, NULL), 0);
        if (write)
            testutil_write(path, (const char *)frame, len);
        want = testutil_read(path, &want_len);
        assert_non_null(want);
        assert_int_equal(len, want_len);
        assert_memory_equal(frame, want, len);
        free(want);
        free(frame);
        free(path);
    }
}

static void test_vectors_decode(void **state)
{
    for (int t = MESSAGE_HELLO; t < NTYPES; t++) {
        struct message want = sample((enum message_type)t);
        struct message *got = NULL;
        char *path = vector_path(t);
        char reason[LIMIT_REASON] = "";
        size_t len;
        char *frame = testutil_read(path, &len);

        assert_non_null(frame);
        assert_true(len > LIMIT_PREFIX);
        assert_int_equal(message_decode(&got, reason, frame + LIMIT_PREFIX,
                                        len - LIMIT_PREFIX),
                         0);
        assert_string_equal(message_type_name(got->type),
                            message_type_name(want.type));
        assert_same(got, &want);
        message_free(got);
        free(frame);
        free(path);
    }
}

static void test_vectors_python(void **state)
{
    char *out = NULL;
    int status;
    int found;

    status = testutil_run(&out, 1,
                          "python3 %s/tests/unit/protocol/check_vectors.py "
                          "%s/tests/unit/protocol/vectors",
                          testutil_srcdir(), testutil_srcdir());
    printf("%s", out);
    found = strstr(out, "13 vectors, 0 failed") != NULL;
    free(out);
    assert_int_equal(status, 0);
    assert_true(found);
}

/* The SEARCH vector as it was before held, system and lang: what a node
 * that predates them sends. */
static const char search_v1[] =
    "0000006085a474797065a6534541524348a2696407a57175657279ac666f746f73"
    "796e7468657365a766696c7465727382a56c6576656c92a769736365642d32a769"
    "736365642d33a86c616e677561676591a26e6cab646561646c696e655f6d73cd05"
    "dc";

/* Such a SEARCH decodes with none of them, and one without them is
 * written as such a node writes it, to the byte. */
static void test_search_without_optional_fields(void **state)
{
    unsigned char want[sizeof(search_v1) / 2], *frame = NULL;
    struct message m = sample(MESSAGE_SEARCH), *got = NULL;
    char reason[LIMIT_REASON] = "";
    size_t len;

    for (size_t i = 0; i < sizeof(want); i++)
        assert_int_equal(sscanf(search_v1 + 2 * i, "%2hhx", &want[i]), 1);
    assert_int_equal(message_decode(&got, reason, want + LIMIT_PREFIX,
                                    sizeof(want) - LIMIT_PREFIX),
                     0);
    assert_int_equal(got->u.search.nheld, 0);
    assert_null(got->u.search.held);
    assert_string_equal(got->u.search.system, "");
    assert_string_equal(got->u.search.lang, "");
    assert_string_equal(got->u.search.query, "fotosynthese");
    message_free(got);

    m.u.search.held = NULL;
    m.u.search.nheld = 0;
    m.u.search.system = "";
    m.u.search.lang = NULL;
    assert_int_equal(message_encode(&frame, &len, &m, NULL), 0);
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(frame, want, len);
    free(frame);
}

/* ---- bodies built by hand, for the field rules ---- */

#include <msgpack.h>

static msgpack_sbuffer sb;
static msgpack_packer pk;

static void body_begin(size_t nkeys, const char *type)
{
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, nkeys);
    msgpack_pack_str_with_body(&pk, "type", 4);
    msgpack_pack_str_with_body(&pk, type, strlen(type));
}

static void put(const char *s)
{
    msgpack_pack_str_with_body(&pk, s, strlen(s));
}

static void put_oid(size_t len)
{
    msgpack_pack_bin_with_body(&pk, oid_a.id, len);
}

/* Decode what was built; returns the code and keeps the reason. */
static char reason[LIMIT_REASON];

static int body_decode(struct message **keep)
{
    struct message *m = NULL;
    int rc;

    reason[0] = '\0';
    rc = message_decode(&m, reason, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0)
        assert_non_null(m);
    else
        assert_null(m);
    if (keep != NULL)
        *keep = m;
    else
        message_free(m);
    return rc;
}

static void test_unknown_type_and_fields_ignored(void **state)
{
    struct message *m;

    body_begin(2, "GOSSIP");
    put("rumour");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_nil(&pk);
    msgpack_pack_double(&pk, 1.5);
    assert_int_equal(body_decode(&m), 0);
    assert_int_equal(m->type, MESSAGE_UNKNOWN);
    message_free(m);

    body_begin(3, "PING");
    put("later");
    msgpack_pack_map(&pk, 1);
    put("x");
    msgpack_pack_int(&pk, -5);
    put("nonce");
    msgpack_pack_uint64(&pk, 42);
    assert_int_equal(body_decode(&m), 0);
    assert_int_equal(m->type, MESSAGE_PING);
    assert_int_equal(m->u.ping.nonce, 42);
    message_free(m);
}

static void test_missing_and_mistyped_fields(void **state)
{
    body_begin(1, "PING");
    assert_int_equal(body_decode(NULL), OER_EPROTO);
    assert_string_equal(reason, "PING: nonce is missing");

    body_begin(2, "PING");
    put("nonce");
    put("42");
    assert_int_equal(body_decode(NULL), OER_EPROTO);
    assert_string_equal(reason, "PING: nonce is not an unsigned integer");

    body_begin(2, "PONG");
    put("nonce");
    msgpack_pack_int(&pk, -1);
    assert_int_equal(body_decode(NULL), OER_EPROTO);

    body_begin(2, "BYE");
    put("reason");
    msgpack_pack_true(&pk);
    assert_int_equal(body_decode(NULL), OER_EPROTO);
    assert_string_equal(reason, "BYE: reason is not a string");
}

/* A FETCH with one field changed by how. */
static int fetch_with(const char *origin, size_t oid_len, size_t nhaves)
{
    body_begin(4, "FETCH");
    put("origin");
    put(origin);
    put("want");
    put_oid(oid_len);
    put("haves");
    msgpack_pack_array(&pk, nhaves);
    for (size_t i = 0; i < nhaves; i++)
        put_oid(LIMIT_OID);
    return body_decode(NULL);
}

static void test_field_ranges(void **state)
{
    assert_int_equal(fetch_with("be-vl", LIMIT_OID, 1), 0);
    assert_int_equal(fetch_with("be-vl", LIMIT_OID, LIMIT_HAVES), 0);
    assert_int_equal(fetch_with("be-vl", LIMIT_OID, LIMIT_HAVES + 1),
                     OER_EPROTO);
    assert_string_equal(reason, "FETCH: haves has more than 256 entries");
    assert_int_equal(fetch_with("be-vl", LIMIT_OID - 1, 0), OER_EPROTO);
    assert_string_equal(reason, "FETCH: want is not 20 bytes");
    assert_int_equal(fetch_with("", LIMIT_OID, 0), OER_EPROTO);

    /* A head as 40 hex characters is not the chosen form. */
    body_begin(2, "HEADS");
    put("heads");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 3);
    put("origin");
    put("be-vl");
    put("head");
    put("0102030405060708090a0b0c0d0e0f1011121314");
    put("count");
    msgpack_pack_uint64(&pk, 1);
    assert_int_equal(body_decode(NULL), OER_EPROTO);
    assert_string_equal(reason, "HEADS: head is not a binary");

    /* The optional key, when present, is a string. */
    body_begin(2, "HEADS");
    put("heads");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 4);
    put("origin");
    put("be-vl");
    put("head");
    put_oid(LIMIT_OID);
    put("count");
    msgpack_pack_uint64(&pk, 1);
    put("key");
    msgpack_pack_uint64(&pk, 1);
    assert_int_equal(body_decode(NULL), OER_EPROTO);
    assert_string_equal(reason, "HEADS: key is not a string");
}

static void test_names_enums_and_rules(void **state)
{
    body_begin(3, "ERROR");
    put("code");
    msgpack_pack_str_with_body(&pk, "pro\0to", 6);
    put("message");
    put("");
    assert_int_equal(body_decode(NULL), OER_EPROTO);
    assert_string_equal(reason, "ERROR: code holds a NUL");

    body_begin(3, "FETCH_END");
    put("origin");
    put("be-vl");
    put("result");
    put("maybe");
    assert_int_equal(body_decode(NULL), OER_EPROTO);
    assert_string_equal(reason, "FETCH_END: result has an unknown value");

    /* A sent file needs its data, inside its size. */
    body_begin(2, "FILES");
    put("files");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 5);
    put("blob");
    put_oid(LIMIT_OID);
    put("status");
    put("sent");
    put("data");
    msgpack_pack_bin_with_body(&pk, "abc", 3);
    put("offset");
    msgpack_pack_uint64(&pk, 2);
    put("size");
    msgpack_pack_uint64(&pk, 4);
    assert_int_equal(body_decode(NULL), OER_EPROTO);
    assert_string_equal(reason, "FILES: data runs past size");
}

static void test_hello_limits(void **state)
{
    struct message m = sample(MESSAGE_HELLO);
    struct message *got;
    unsigned char *frame;
    size_t len;

    /* A peer may not advertise a limit too small to be useful. */
    m.u.hello.max_frame = 100;
    assert_int_equal(message_encode(&frame, &len, &m, NULL), OER_EINVAL);
    body_begin(8, "HELLO");
    put("version");
    msgpack_pack_uint64(&pk, 1);
    put("node");
    put("x");
    put("software");
    put("y");
    put("features");
    msgpack_pack_array(&pk, 0);
    put("use");
    msgpack_pack_map(&pk, 2);
    put("commercial");
    msgpack_pack_false(&pk);
    put("adapts");
    msgpack_pack_false(&pk);
    put("max_frame");
    msgpack_pack_uint64(&pk, 100);
    put("max_data_frame");
    msgpack_pack_uint64(&pk, LIMIT_DATA_FRAME);
    assert_int_equal(body_decode(&got), OER_EPROTO);
}

/* ---- the sender's own limits (B22 b) ---- */

static void test_sender_limits(void **state)
{
    struct message m = sample(MESSAGE_PACK);
    struct message_hello peer = sample(MESSAGE_HELLO).u.hello;
    unsigned char *big = calloc(1, LIMIT_DATA_FRAME);
    unsigned char *frame = NULL;
    size_t len;

    /* A chunk of LIMIT_CHUNK fits; a whole 8 MiB of data does not, and
     * fails here, as the sender's own error, instead of being sent. */
    assert_non_null(big);
    m.u.pack.data = big;
    m.u.pack.len = LIMIT_CHUNK;
    assert_int_equal(message_encode(&frame, &len, &m, NULL), 0);
    assert_true(len <= LIMIT_PREFIX + LIMIT_DATA_FRAME);
    free(frame);
    m.u.pack.len = LIMIT_DATA_FRAME;
    assert_int_equal(message_encode(&frame, &len, &m, NULL), OER_EINVAL);

    /* The limit the peer advertised applies too. */
    peer.max_data_frame = LIMIT_FRAME_MIN;
    m.u.pack.len = LIMIT_FRAME_MIN;
    assert_int_equal(message_encode(&frame, &len, &m, &peer), OER_EINVAL);
    m.u.pack.len = LIMIT_FRAME_MIN - 100;
    assert_int_equal(message_encode(&frame, &len, &m, &peer), 0);
    free(frame);

    /* Other types stay under LIMIT_FRAME whatever the data. */
    m = sample(MESSAGE_FILES);
    files[0].data = big;
    files[0].len = files[0].size = LIMIT_FRAME;
    assert_int_equal(message_encode(&frame, &len, &m, NULL), 0);
    free(frame);
    m = sample(MESSAGE_ERROR);
    m.u.error.message = (const char *)big; /* empty string */
    assert_int_equal(message_encode(&frame, &len, &m, NULL), 0);
    free(frame);
    memset(big, 'a', LIMIT_STR + 1);
    assert_int_equal(message_encode(&frame, &len, &m, NULL), OER_EINVAL);
    files[0].data = (const unsigned char *)"hello\n";
    files[0].len = files[0].size = 6;
    free(big);
}

static void test_sender_refuses_bad_fields(void **state)
{
    struct message m = sample(MESSAGE_BYE);
    unsigned char *frame = NULL;
    size_t len;

    m.u.bye.reason = "caf\xe9";
    assert_int_equal(message_encode(&frame, &len, &m, NULL), OER_EINVAL);
    m = sample(MESSAGE_FETCH_END);
    m.u.fetch_end.result = (enum message_result)9;
    assert_int_equal(message_encode(&frame, &len, &m, NULL), OER_EINVAL);
    m = sample(MESSAGE_HEADS);
    m.u.heads.nheads = LIMIT_HEADS + 1;
    assert_int_equal(message_encode(&frame, &len, &m, NULL), OER_EINVAL);
    m = sample(MESSAGE_HELLO);
    m.u.hello.node = "";
    assert_int_equal(message_encode(&frame, &len, &m, NULL), OER_EINVAL);
    m.type = (enum message_type)99;
    assert_int_equal(message_encode(&frame, &len, &m, NULL), OER_EINVAL);
}

/* ---- memory of decoding ---- */

/* Peak bytes allocated while decoding body; 0 when not measurable. */
static size_t decode_peak(const void *body, size_t len)
{
    struct message *m = NULL;
    size_t peak_bytes;
    int counted = count_start();

    assert_int_equal(message_decode(&m, NULL, body, len), 0);
    message_free(m);
    peak_bytes = count_stop();
    return counted ? peak_bytes : 0;
}

static void assert_linear(const void *body, size_t len)
{
    size_t used = decode_peak(body, len);

    /* The copy of the data alone is len bytes: the counter counts. */
    assert_true(used >= len / 2);
    /* msgpack-c spends one 24-byte object on an object of at least one
     * byte; our copies add at most the frame again, rounded up by the
     * zone to a power of two. */
    assert_true(used <= 32 * len + (64u << 10));
}

static void test_decode_memory_is_linear(void **state)
{
    unsigned char *big = calloc(1, LIMIT_CHUNK);
    struct message m = sample(MESSAGE_PACK);
    unsigned char *frame;
    size_t len;

    if (!count_start()) {
        count_stop();
        skip();
    }
    count_stop();
    m.u.pack.data = big;
    for (size_t n = 1; n <= LIMIT_CHUNK; n *= 8) {
        m.u.pack.len = n;
        assert_int_equal(message_encode(&frame, &len, &m, NULL), 0);
        assert_linear(frame + LIMIT_PREFIX, len - LIMIT_PREFIX);
        free(frame);
    }
    free(big);

    /* Many small objects in a field nobody reads: the worst ratio. */
    body_begin(3, "PING");
    put("nonce");
    msgpack_pack_uint64(&pk, 1);
    put("nils");
    msgpack_pack_array(&pk, LIMIT_ELEMENTS - 16);
    for (int i = 0; i < LIMIT_ELEMENTS - 16; i++)
        msgpack_pack_nil(&pk);
    assert_linear(sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_exact),
        cmocka_unit_test(test_vectors_decode),
        cmocka_unit_test(test_vectors_python),
        cmocka_unit_test(test_search_without_optional_fields),
        cmocka_unit_test(test_unknown_type_and_fields_ignored),
        cmocka_unit_test(test_missing_and_mistyped_fields),
        cmocka_unit_test(test_field_ranges),
        cmocka_unit_test(test_names_enums_and_rules),
        cmocka_unit_test(test_hello_limits),
        cmocka_unit_test(test_sender_limits),
        cmocka_unit_test(test_sender_refuses_bad_fields),
        cmocka_unit_test(test_decode_memory_is_linear),
    };

    log_set_level(LOG_LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
