/*
 * Tests of protocol/frame: the reader yields the same frames whatever the
 * chunking, refuses a bad prefix before it keeps any body byte (case
 * B22), grows only with the bytes that came, and the encoder writes and
 * checks prefixes.
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
#include "protocol/frame.h"
#include "protocol/limits.h"
#include "protocol/message.h"
#include "testutil.h"

static const char *const names[] = {
    "hello", "heads", "fetch", "pack", "fetch_end", "want_files", "files",
    "search", "results", "ping", "pong", "error", "bye",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

/* All golden vectors, one after the other, as one stream. */
struct stream {
    char *bytes;
    size_t len;
    size_t starts[NNAMES + 1]; /* where each frame begins; then the end */
};

static void stream_load(struct stream *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < NNAMES; i++) {
        char *path = NULL, *data;
        size_t len;

        if (asprintf(&path, "%s/tests/unit/protocol/vectors/%s.bin",
                     testutil_srcdir(), names[i]) < 0)
            abort();
        data = testutil_read(path, &len);
        assert_non_null(data);
        s->bytes = realloc(s->bytes, s->len + len);
        assert_non_null(s->bytes);
        memcpy(s->bytes + s->len, data, len);
        s->starts[i] = s->len;
        s->len += len;
        free(data);
        free(path);
    }
    s->starts[NNAMES] = s->len;
}

/* Feed the stream in chunks of sizes from next(); check every frame. */
static void feed_all(const struct stream *s, size_t (*next)(void))
{
    struct frame_reader r;
    size_t pos = 0, got = 0;

    frame_reader_init(&r);
    while (pos < s->len) {
        size_t chunk = next(), used;
        struct frame f;
        int rc;

        if (chunk > s->len - pos)
            chunk = s->len - pos;
        while (chunk > 0) {
            rc = frame_reader_feed(&f, &used, &r, s->bytes + pos, chunk);
            assert_true(rc >= 0);
            pos += used;
            chunk -= used;
            if (rc == 0)
                continue;
            assert_true(got < NNAMES);
            assert_int_equal(pos, s->starts[got + 1]);
            assert_int_equal(f.len, s->starts[got + 1] - s->starts[got] -
                                        LIMIT_PREFIX);
            assert_memory_equal(f.body,
                                s->bytes + s->starts[got] + LIMIT_PREFIX,
                                f.len);
            free(f.body);
            got++;
        }
    }
    assert_int_equal(got, NNAMES);
    assert_int_equal(r.prefix_len, 0);
    frame_reader_release(&r);
}

static size_t one(void)
{
    return 1;
}

static size_t random_chunk(void)
{
    return 1 + (size_t)(rand() % 97);
}

static size_t everything(void)
{
    return SIZE_MAX;
}

static void test_any_chunking_yields_the_same_frames(void **state)
{
    struct stream s;

    stream_load(&s);
    feed_all(&s, one);
    feed_all(&s, everything);
    srand(22);
    for (int round = 0; round < 50; round++)
        feed_all(&s, random_chunk);
    free(s.bytes);
}

/* Feed a prefix alone; returns the reader's answer. */
static int feed_prefix(struct frame_reader *r, const char *prefix)
{
    struct frame f;
    size_t used;

    frame_reader_init(r);
    return frame_reader_feed(&f, &used, r, prefix, LIMIT_PREFIX);
}

static void test_prefix_limits(void **state)
{
    struct frame_reader r;
    struct frame f;
    size_t used;

    /* At or under the limit: accepted, and nothing reserved yet. */
    assert_int_equal(feed_prefix(&r, "\x00\x7f\xff\xff"), 0);
    assert_null(r.body);
    assert_int_equal(r.cap, 0);
    frame_reader_release(&r);
    assert_int_equal(feed_prefix(&r, "\x00\x80\x00\x00"), 0);
    frame_reader_release(&r);

    /* Over it, or empty: refused at once, before any body byte. */
    assert_int_equal(feed_prefix(&r, "\x00\x80\x00\x01"), OER_EPROTO);
    assert_null(r.body);
    assert_non_null(strstr(r.reason, "over the limit"));
    assert_int_equal(frame_reader_feed(&f, &used, &r, "\x81", 1),
                     OER_EPROTO);
    assert_int_equal(used, 0);
    frame_reader_release(&r);
    assert_int_equal(feed_prefix(&r, "\xff\xff\xff\xff"), OER_EPROTO);
    frame_reader_release(&r);
    assert_int_equal(feed_prefix(&r, "\x01\x00\x00\x00"), OER_EPROTO);
    frame_reader_release(&r);
    assert_int_equal(feed_prefix(&r, "\x00\x00\x00\x00"), OER_EPROTO);
    assert_string_equal(r.reason, "empty frame");
    frame_reader_release(&r);
}

static void test_large_frames_show_their_type_first(void **state)
{
    struct frame_reader r;
    struct frame f;
    size_t used;

    /* A body over LIMIT_FRAME that is not PACK or FILES is refused after
     * its first bytes, long before the rest arrives. */
    assert_int_equal(feed_prefix(&r, "\x00\x10\x00\x01"), 0);
    assert_int_equal(frame_reader_feed(&f, &used, &r,
                                       "\x82\xa4type\xa4PING\xa1x\xc6\x00",
                                       LIMIT_LARGE_HEAD),
                     OER_EPROTO);
    assert_null(r.body);
    frame_reader_release(&r);

    /* An 8 MiB PACK that sent only its head holds a few KiB, not 8 MiB. */
    assert_int_equal(feed_prefix(&r, "\x00\x80\x00\x00"), 0);
    assert_int_equal(frame_reader_feed(&f, &used, &r,
                                       "\x82\xa4type\xa4PACK\xa1x\xc6\x00",
                                       LIMIT_LARGE_HEAD),
                     0);
    assert_true(r.cap <= 4096);
    assert_int_equal(r.head_checked, 1);
    frame_reader_release(&r);
}

static void test_large_pack_through_the_reader(void **state)
{
    struct message m = {.type = MESSAGE_PACK};
    unsigned char *data = calloc(1, LIMIT_CHUNK), *frame;
    struct message *got = NULL;
    struct frame_reader r;
    struct frame f;
    size_t len, pos = 0, used;
    int rc = 0;

    assert_non_null(data);
    m.u.pack = (struct message_pack){"be-vl", 0, data, LIMIT_CHUNK, true};
    assert_int_equal(message_encode(&frame, &len, &m, NULL), 0);
    frame_reader_init(&r);
    while (rc == 0 && pos < len) {
        size_t chunk = len - pos < 65536 ? len - pos : 65536;

        rc = frame_reader_feed(&f, &used, &r, frame + pos, chunk);
        pos += used;
    }
    assert_int_equal(rc, 1);
    assert_int_equal(pos, len);
    assert_int_equal(message_decode(&got, NULL, f.body, f.len), 0);
    assert_int_equal(got->u.pack.len, LIMIT_CHUNK);
    message_free(got);
    free(f.body);
    free(frame);
    free(data);
    frame_reader_release(&r);
}

static void test_encoder(void **state)
{
    unsigned char *out = NULL, *body = calloc(1, LIMIT_FRAME + 1);
    char reason[LIMIT_REASON];
    size_t len;

    assert_non_null(body);
    assert_int_equal(frame_encode(&out, &len, "\x81\xa4type\xa3" "BYE", 10),
                     0);
    assert_int_equal(len, 14);
    assert_memory_equal(out, "\x00\x00\x00\x0a\x81\xa4type\xa3" "BYE", 14);
    free(out);

    /* The sender checks its own limit (case B22 b). */
    memcpy(body, "\x82\xa4type\xa4PING", 11);
    assert_int_equal(frame_check(reason, body, LIMIT_FRAME), 0);
    assert_int_equal(frame_check(reason, body, LIMIT_FRAME + 1), OER_EINVAL);
    assert_int_equal(frame_encode(&out, &len, body, LIMIT_FRAME + 1),
                     OER_EINVAL);
    memcpy(body, "\x82\xa4type\xa4PACK", 11);
    assert_int_equal(frame_check(reason, body, LIMIT_FRAME + 1), 0);
    assert_int_equal(frame_check(reason, body, 0), OER_EINVAL);
    assert_int_equal(frame_check(reason, body, LIMIT_DATA_FRAME + 1),
                     OER_EINVAL);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_any_chunking_yields_the_same_frames),
        cmocka_unit_test(test_prefix_limits),
        cmocka_unit_test(test_large_frames_show_their_type_first),
        cmocka_unit_test(test_large_pack_through_the_reader),
        cmocka_unit_test(test_encoder),
    };

    log_set_level(LOG_LEVEL_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
