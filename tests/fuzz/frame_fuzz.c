/*
 * libFuzzer driver for the peer protocol's parsers: the input is a byte
 * stream from a peer.  It goes through the frame reader in two chunkings,
 * and each body through scan_frame() then message_decode(); a decoded
 * message is encoded again and must decode to the same frame.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/error.h"
#include "node/log.h"
#include "protocol/frame.h"
#include "protocol/message.h"
#include "protocol/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_body(const unsigned char *body, size_t len)
{
    char reason[LIMIT_REASON];
    struct message *m = NULL, *again = NULL;
    unsigned char *frame = NULL, *frame2 = NULL;
    size_t flen, flen2;
    int scanned = scan_frame(NULL, reason, body, len);
    int rc = message_decode(&m, reason, body, len);

    /* The decoder never accepts what the scan refused. */
    if (scanned < 0 && rc == 0)
        abort();
    if (rc < 0 && rc != OER_EPROTO)
        abort();
    if (rc < 0 || m->type == MESSAGE_UNKNOWN)
        goto out;

    /* What we decoded, we can send, and it reads back the same. */
    if (message_encode(&frame, &flen, m, NULL) < 0)
        goto out;
    if (message_decode(&again, reason, frame + LIMIT_PREFIX,
                       flen - LIMIT_PREFIX) < 0)
        abort();
    if (message_encode(&frame2, &flen2, again, NULL) < 0 || flen2 != flen ||
        memcmp(frame, frame2, flen) != 0)
        abort();
out:
    free(frame);
    free(frame2);
    message_free(again);
    message_free(m);
}

/* Feed data in chunks of step bytes; check each whole body. */
static void read_stream(const uint8_t *data, size_t size, size_t step)
{
    struct frame_reader r;
    size_t pos = 0;

    frame_reader_init(&r);
    while (pos < size) {
        size_t chunk = size - pos < step ? size - pos : step, used;
        struct frame f;
        int rc = frame_reader_feed(&f, &used, &r, data + pos, chunk);

        if (rc < 0)
            break;
        pos += used;
        if (rc == 1) {
            check_body(f.body, f.len);
            free(f.body);
        }
    }
    frame_reader_release(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;

    if (!quiet) {
        log_set_level(LOG_LEVEL_ERROR);
        quiet = 1;
    }

    /* The input as a body, and as a stream of frames. */
    check_body(data, size);
    read_stream(data, size, size ? size : 1);
    read_stream(data, size, 7);
    return 0;
}
