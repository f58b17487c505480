/*
 * frame: length-prefixed framing.  The reader refuses a bad prefix before
 * it keeps any byte of the body, and grows its buffer only as bytes come,
 * so a peer that declares 8 MiB and sends 10 bytes costs 10 bytes.
 */
#include "protocol/frame.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/error.h"
#include "node/log.h"
#include "protocol/scan.h"

/* First reservation for a body; it doubles from there. */
#define FRAME_FIRST_CAP 4096

void frame_reader_init(struct frame_reader *r)
{
    memset(r, 0, sizeof(*r));
}

void frame_reader_release(struct frame_reader *r)
{
    if (r == NULL)
        return;
    free(r->body);
    frame_reader_init(r);
}

__attribute__((format(printf, 3, 4))) static int
stop(struct frame_reader *r, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
    va_end(ap);
    r->error = code;
    free(r->body);
    r->body = NULL;
    r->have = r->cap = 0;
    return code;
}

/* Take prefix bytes; once all four are there, judge the length. */
static size_t take_prefix(struct frame_reader *r, const unsigned char *p,
                          size_t len)
{
    size_t n = LIMIT_PREFIX - r->prefix_len;

    if (n > len)
        n = len;
    memcpy(r->prefix + r->prefix_len, p, n);
    r->prefix_len += n;
    if (r->prefix_len < LIMIT_PREFIX)
        return n;
    r->want = (size_t)r->prefix[0] << 24 | (size_t)r->prefix[1] << 16 |
              (size_t)r->prefix[2] << 8 | r->prefix[3];
    if (r->want == 0)
        stop(r, OER_EPROTO, "empty frame");
    else if (r->want > LIMIT_DATA_FRAME)
        stop(r, OER_EPROTO, "frame of %zu bytes is over the limit of %u",
             r->want, LIMIT_DATA_FRAME);
    return n;
}

static int reserve(struct frame_reader *r, size_t need)
{
    size_t cap = r->cap ? r->cap : FRAME_FIRST_CAP;
    unsigned char *body;

    if (need <= r->cap)
        return 0;
    while (cap < need)
        cap *= 2;
    if (cap > r->want)
        cap = r->want;
    body = realloc(r->body, cap);
    if (body == NULL) {
        log_error("frame", "cannot reserve a frame body", NULL);
        return stop(r, OER_ENOMEM, "out of memory");
    }
    r->body = body;
    r->cap = cap;
    return 0;
}

/* Take body bytes; a large body has its head checked as soon as the
 * bytes are there, before the rest is kept. */
static int take_body(struct frame_reader *r, size_t *used,
                     const unsigned char *p, size_t len)
{
    size_t n = r->want - r->have;
    int rc;

    if (n > len)
        n = len;
    if (n == 0)
        return 0;
    rc = reserve(r, r->have + n);
    if (rc < 0)
        return rc;
    memcpy(r->body + r->have, p, n);
    r->have += n;
    *used += n;
    if (r->want > LIMIT_FRAME && !r->head_checked &&
        r->have >= LIMIT_LARGE_HEAD) {
        if (scan_large_head(r->reason, r->body, r->have) < 0)
            return stop(r, OER_EPROTO, "%s", r->reason);
        r->head_checked = 1;
    }
    return r->have == r->want;
}

int frame_reader_feed(struct frame *out, size_t *used, struct frame_reader *r,
                      const void *data, size_t len)
{
    const unsigned char *p = data;
    int rc;

    *used = 0;
    if (r->error != 0)
        return r->error;
    if (r->prefix_len < LIMIT_PREFIX) {
        *used = take_prefix(r, p, len);
        if (r->error != 0)
            return r->error;
        if (r->prefix_len < LIMIT_PREFIX)
            return 0;
    }
    rc = take_body(r, used, p + *used, len - *used);
    if (rc <= 0)
        return rc;

    /* A whole frame: hand the body over and start on the next prefix. */
    out->body = r->body;
    out->len = r->have;
    r->body = NULL;
    r->have = r->cap = r->want = r->prefix_len = 0;
    r->head_checked = 0;
    return 1;
}

int frame_check(char *reason, const void *body, size_t len)
{
    if (len == 0) {
        if (reason != NULL)
            snprintf(reason, LIMIT_REASON, "empty frame");
        return OER_EINVAL;
    }
    if (len <= LIMIT_FRAME)
        return 0;
    if (len > LIMIT_DATA_FRAME) {
        if (reason != NULL)
            snprintf(reason, LIMIT_REASON,
                     "frame of %zu bytes is over the "
                     "limit of %u",
                     len, LIMIT_DATA_FRAME);
        return OER_EINVAL;
    }
    return scan_large_head(reason, body, len) < 0 ? OER_EINVAL : 0;
}

int frame_seal(unsigned char *buf, size_t body_len)
{
    char reason[LIMIT_REASON];

    if (frame_check(reason, buf + LIMIT_PREFIX, body_len) < 0) {
        log_warn("frame", "frame not sent", "reason", reason, NULL);
        return OER_EINVAL;
    }
    buf[0] = (unsigned char)(body_len >> 24);
    buf[1] = (unsigned char)(body_len >> 16);
    buf[2] = (unsigned char)(body_len >> 8);
    buf[3] = (unsigned char)body_len;
    return 0;
}

int frame_encode(unsigned char **out, size_t *out_len, const void *body,
                 size_t len)
{
    unsigned char *buf;
    int rc;

    buf = malloc(LIMIT_PREFIX + (len ? len : 1));
    if (buf == NULL) {
        log_error("frame", "cannot allocate a frame", NULL);
        return OER_ENOMEM;
    }
    if (len > 0)
        memcpy(buf + LIMIT_PREFIX, body, len);
    rc = frame_seal(buf, len);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = LIMIT_PREFIX + len;
    return 0;
}
