/*
 * Tests of protocol/scan: every malformed body is refused with OER_EPROTO
 * before msgpack-c sees it, and refusing allocates nothing at all; valid
 * bodies pass, up to the size limits and no further (case B22).
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
#include "protocol/limits.h"
#include "protocol/message.h"
#include "protocol/scan.h"
#include "testutil.h"

/* ---- allocation counting through the sanitizer's hooks ---- */

extern int __sanitizer_install_malloc_and_free_hooks(
    void (*on_malloc)(const volatile void *, size_t),
    void (*on_free)(const volatile void *)) __attribute__((weak));

static int counting;
static size_t allocated;

static void on_malloc(const volatile void *p, size_t size)
{
    if (counting)
        allocated += size;
}

static void on_free(const volatile void *p)
{
}

static void count_start(void)
{
    static int installed;

    if (!installed && __sanitizer_install_malloc_and_free_hooks != NULL)
        installed = __sanitizer_install_malloc_and_free_hooks(on_malloc,
                                                              on_free);
    allocated = 0;
    counting = 1;
}

/* ---- helpers ---- */

static char reason[LIMIT_REASON];

/* Assert that body is refused by the scan and by decoding, and that
 * neither allocated a byte on the way. */
static void refused(const void *body, size_t len)
{
    struct message *m = NULL;
    int rc_scan, rc_decode;

    count_start();
    rc_scan = scan_frame(NULL, reason, body, len);
    rc_decode = message_decode(&m, NULL, body, len);
    counting = 0;
    assert_int_equal(rc_scan, OER_EPROTO);
    assert_int_equal(rc_decode, OER_EPROTO);
    assert_null(m);
    assert_int_equal(allocated, 0);
    assert_true(strlen(reason) > 0);
}

#define REFUSED(lit) refused(lit, sizeof(lit) - 1)

static int scanned(const void *body, size_t len)
{
    return scan_frame(NULL, reason, body, len);
}

#define SCANNED(lit) scanned(lit, sizeof(lit) - 1)

/* A body {"type": type, "pad": bin of the size that makes len bytes}. */
static unsigned char *padded(const char *type, size_t len)
{
    unsigned char *b = calloc(1, len);
    size_t tl = strlen(type), at = 0;

    assert_non_null(b);
    b[at++] = 0x82;
    memcpy(b + at, "\xa4type", 5);
    at += 5;
    b[at++] = (unsigned char)(0xa0 | tl);
    memcpy(b + at, type, tl);
    at += tl;
    memcpy(b + at, "\xa3pad\xc6", 5);
    at += 5;
    len -= at + 4;
    b[at++] = (unsigned char)(len >> 24);
    b[at++] = (unsigned char)(len >> 16);
    b[at++] = (unsigned char)(len >> 8);
    b[at++] = (unsigned char)len;
    return b;
}

/* ---- the tests ---- */

static void test_counter_counts(void **state)
{
    void *p;

    if (__sanitizer_install_malloc_and_free_hooks == NULL)
        skip();
    count_start();
    p = malloc(100);
    counting = 0;
    free(p);
    assert_true(allocated >= 100);
}

static void test_valid_bodies_pass(void **state)
{
    struct scan_result res;

    assert_int_equal(SCANNED("\x81\xa4type\xa4PING"), 0);
    assert_int_equal(scan_frame(&res, reason, "\x82\xa1x\x90\xa4type\xa3"
                                "BYE", 13), 0);
    assert_int_equal(res.type_len, 3);
    assert_memory_equal(res.type, "BYE", 3);
    assert_int_equal(res.elements, 5);
    assert_int_equal(SCANNED("\x83\xa4type\xa2Zz\xa1n\xcb\x3f\xf0\0\0\0\0\0\0"
                             "\xa1m\xd3\x80\0\0\0\0\0\0\0"), 0);
}

static void test_huge_counts_in_few_bytes(void **state)
{
    REFUSED("\xdf\xff\xff\xff\xff");
    REFUSED("\xdd\xff\xff\xff\xff");
    REFUSED("\x82\xa4type\xa4PING\xa1x\xdd\xff\xff\xff\xff");
    REFUSED("\x82\xa4type\xa4PING\xa1x\xdf\xff\xff\xff\xff");
    REFUSED("\x82\xa4type\xa4PING\xa1x\xdc\xff\xff");
    REFUSED("\x81\xa4type\xdb\xff\xff\xff\xff");
    REFUSED("\x82\xa4type\xa4PING\xa1x\xc6\xff\xff\xff\xff");
    REFUSED("\x82\xa4type\xa4PING\xa1x\xc5\x00\x10" "ab");
    REFUSED("\x82\xa4type\xa4PING\xa1x\xd9\x05" "abcd");
}

static void test_deep_nesting(void **state)
{
    unsigned char body[64];
    size_t at = 0;

    memcpy(body, "\x82\xa4type\xa4PING\xa1x", 13);
    at = 13;
    for (int i = 0; i < 40; i++)
        body[at++] = 0x91;
    body[at++] = 0xc0;
    refused(body, at);
    assert_non_null(strstr(reason, "nesting"));

    /* The top map is depth 1: seven arrays inside it make 8, the most. */
    at = 13;
    for (int i = 0; i < LIMIT_DEPTH - 1; i++)
        body[at++] = 0x91;
    body[at++] = 0xc0;
    assert_int_equal(scanned(body, at), 0);
    at = 13;
    for (int i = 0; i < LIMIT_DEPTH; i++)
        body[at++] = 0x91;
    body[at++] = 0xc0;
    refused(body, at);
}

/* An array of n nils in a PING: n + 7 objects, in n + 21 bytes. */
static void nils(size_t n, int expect)
{
    size_t len = 21 + n;
    unsigned char *b = malloc(len);

    assert_non_null(b);
    memcpy(b, "\x83\xa4type\xa4PING\xa1n\x01\xa1x\xdd", 17);
    b[17] = (unsigned char)(n >> 24);
    b[18] = (unsigned char)(n >> 16);
    b[19] = (unsigned char)(n >> 8);
    b[20] = (unsigned char)n;
    memset(b + 21, 0xc0, n);
    if (expect == 0)
        assert_int_equal(scanned(b, len), 0);
    else
        refused(b, len);
    free(b);
}

static void test_element_budget(void **state)
{
    nils(LIMIT_ELEMENTS - 7, 0);
    nils(LIMIT_ELEMENTS - 6, OER_EPROTO);
    nils(1u << 20, OER_EPROTO);          /* a megabyte of nils */
    nils(16u << 20, OER_EPROTO);         /* 16 MiB of nils */
}

static void test_truncated_and_trailing(void **state)
{
    static const char ping[] = "\x82\xa4type\xa4PING\xa5nonce\xcf"
                               "\x01\x23\x45\x67\x89\xab\xcd\xef";
    size_t len = sizeof(ping) - 1;
    char more[64];

    assert_int_equal(scanned(ping, len), 0);
    for (size_t n = 0; n < len; n++)
        refused(ping, n);
    memcpy(more, ping, len);
    more[len] = (char)0xc0;
    refused(more, len + 1);
    assert_string_equal(reason, "1 bytes after the map");
    memcpy(more + len, "\x81\xa4type\xa4PING", 11);
    refused(more, len + 11);
}

static void test_invalid_utf8(void **state)
{
    REFUSED("\x82\xa4type\xa4PING\xa1x\xa2\xc0\xaf");        /* overlong */
    REFUSED("\x82\xa4type\xa4PING\xa1x\xa3\xed\xa0\x80");    /* surrogate */
    REFUSED("\x82\xa4type\xa4PING\xa1x\xa1\x80");            /* lone tail */
    REFUSED("\x82\xa4type\xa4PING\xa1x\xa2\xe2\x82");        /* cut short */
    REFUSED("\x82\xa4type\xa4PING\xa4\xf4\x90\x80\x80\xc0"); /* > U+10FFFF */
    REFUSED("\x81\xa4type\xa4P\xffNG");                      /* in the type */
    assert_int_equal(SCANNED("\x82\xa4type\xa4PING\xa1x\xa4\xf0\x9f\x98\x80"),
                     0);
}

static void test_forbidden_types(void **state)
{
    REFUSED("\x82\xa4type\xa4PING\xa1x\xd4\x01\x02");         /* fixext 1 */
    REFUSED("\x82\xa4type\xa4PING\xa1x\xc7\x01\x05\x00");     /* ext 8 */
    REFUSED("\x82\xa4type\xa4PING\xa1x\xc1");                 /* unused */
    REFUSED("\x82\x01\x02\xa4type\xa4PING");                  /* int key */
    REFUSED("\x82\xa4type\xa4PING\xa1m\x81\xc0\xc0");         /* nil key */
    REFUSED("\x92\xa4type\xa4PING");                          /* not a map */
    REFUSED("\xa4PING");
    REFUSED("\x80");                                          /* no type */
    REFUSED("\x81\xa4Type\xa4PING");
    REFUSED("\x81\xa4type\x01");                              /* not a str */
    REFUSED("\x81\xa4type\xc4\x04PING");
    REFUSED("");
}

static void test_duplicate_keys(void **state)
{
    REFUSED("\x82\xa4type\xa4PING\xa4type\xa4PONG");
    assert_non_null(strstr(reason, "duplicate key"));
    REFUSED("\x83\xa4type\xa4PING\xa1x\x01\xa1x\x02");
    REFUSED("\x82\xa4type\xa4PING\xa1m\x82\xa1" "a\x01\xa1" "a\x02");
    REFUSED("\x82\xa4type\xa4PING\xa1l\x92\x82\xa1" "a\x01\xa1" "a\x02\xc0");
    /* The same key in two maps is fine; type is only special on top. */
    assert_int_equal(SCANNED("\x83\xa4type\xa4PING\xa1m\x81\xa1x\x01\xa1x"
                             "\x81\xa4type\x02"), 0);
}

static void test_string_and_map_limits(void **state)
{
    size_t len = 12 + 3 + LIMIT_STR + 1;
    unsigned char *b = malloc(len);
    unsigned char keys[1024];
    size_t at;

    assert_non_null(b);
    memcpy(b, "\x82\xa4type\xa4PING\xa1x", 13 - 1);
    memcpy(b, "\x82\xa4type\xa3" "BYE\xa1x\xda", 13);
    b[13] = (unsigned char)((LIMIT_STR + 1) >> 8);
    b[14] = (unsigned char)(LIMIT_STR + 1);
    memset(b + 15, 'a', LIMIT_STR + 1);
    refused(b, 15 + LIMIT_STR + 1);
    b[13] = (unsigned char)(LIMIT_STR >> 8);
    b[14] = (unsigned char)LIMIT_STR;
    assert_int_equal(scanned(b, 15 + LIMIT_STR), 0);
    free(b);

    /* A map of LIMIT_MAP_KEYS + 1 distinct keys. */
    at = 0;
    keys[at++] = 0xde;
    keys[at++] = 0;
    keys[at++] = LIMIT_MAP_KEYS + 1;
    memcpy(keys + at, "\xa4type\xa4PING", 10);
    at += 10;
    for (int i = 0; i < LIMIT_MAP_KEYS; i++) {
        keys[at++] = 0xa2;
        keys[at++] = (unsigned char)('a' + i / 26);
        keys[at++] = (unsigned char)('a' + i % 26);
        keys[at++] = 0xc0;
    }
    refused(keys, at);
    keys[2] = LIMIT_MAP_KEYS;
    assert_int_equal(scanned(keys, at - 4), 0);
}

/* Case B22 (a), at this protocol's limits: at or under a limit passes,
 * one byte over is refused. */
static void test_size_limits(void **state)
{
    unsigned char *b;

    b = padded("PING", LIMIT_FRAME);
    assert_int_equal(scanned(b, LIMIT_FRAME), 0);
    free(b);
    b = padded("PING", LIMIT_FRAME + 1);
    refused(b, LIMIT_FRAME + 1);
    assert_non_null(strstr(reason, "not PACK or FILES"));
    free(b);
    b = padded("PACK", LIMIT_DATA_FRAME);
    assert_int_equal(scanned(b, LIMIT_DATA_FRAME), 0);
    free(b);
    b = padded("FILES", LIMIT_DATA_FRAME);
    assert_int_equal(scanned(b, LIMIT_DATA_FRAME), 0);
    free(b);
    b = padded("PACK", LIMIT_DATA_FRAME + 1);
    refused(b, LIMIT_DATA_FRAME + 1);
    free(b);
}

static void test_large_head(void **state)
{
    assert_int_equal(scan_large_head(reason, "\x82\xa4type\xa4PACK", 11), 0);
    assert_int_equal(scan_large_head(reason, "\xde\0\x02\xa4type\xa5" "FILES",
                                     14), 0);
    assert_int_equal(scan_large_head(reason, "\x82\xa4type\xa4PONG", 11),
                     OER_EPROTO);
    assert_int_equal(scan_large_head(reason, "\x82\xa3pad\xc0\xa4type", 11),
                     OER_EPROTO);
    assert_int_equal(scan_large_head(reason, "\x82\xd9\x04type\xa4PACK", 12),
                     OER_EPROTO);
    assert_int_equal(scan_large_head(reason, "\x80", 1), OER_EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_counts),
        cmocka_unit_test(test_valid_bodies_pass),
        cmocka_unit_test(test_huge_counts_in_few_bytes),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_element_budget),
        cmocka_unit_test(test_truncated_and_trailing),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_forbidden_types),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_string_and_map_limits),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_large_head),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
