/*
 * frame: the framing of the peer protocol.  A frame is a 4-byte
 * big-endian length and then a body of that many bytes, one msgpack map.
 * The reader takes bytes as they arrive and hands back whole bodies; the
 * encoder writes the prefix.  No I/O: the connection feeds and sends.
 */
#ifndef OERNODE_PROTOCOL_FRAME_H
#define OERNODE_PROTOCOL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/limits.h"

/* One whole frame body, without its prefix. */
struct frame {
    unsigned char *body; /* malloc'd; belongs to the caller (free()) */
    size_t len;
};

/* An incremental reader, one per connection.  Its memory grows with the
 * bytes that really arrived, never with what a prefix declares. */
struct frame_reader {
    unsigned char prefix[LIMIT_PREFIX];
    size_t prefix_len;         /* prefix bytes read so far */
    size_t want;               /* body length the prefix declared */
    unsigned char *body;       /* the body so far */
    size_t have;               /* body bytes read */
    size_t cap;                /* bytes reserved at body */
    int head_checked;          /* a large body's head passed scan_large_head */
    int error;                 /* 0, or the code that stopped the reader */
    char reason[LIMIT_REASON]; /* why, when error is OER_EPROTO */
};

/* Make r an empty reader. */
void frame_reader_init(struct frame_reader *r);

/* Free what r holds; r may be NULL.  r can be initialised again. */
void frame_reader_release(struct frame_reader *r);

/*
 * Give the reader the len bytes at data.  It reads up to the end of the
 * first frame that completes and sets *used to the bytes it took; call it
 * again with the rest.  Returns 1 and fills *out with the body (the
 * caller frees out->body) when a frame completed, 0 when every byte was
 * taken and more are needed, or a negative code: OER_EPROTO (r->reason
 * says why) for a prefix of 0 or over LIMIT_DATA_FRAME, refused before
 * any body byte is kept, or for a body over LIMIT_FRAME that fails
 * scan_large_head(), refused after its first LIMIT_LARGE_HEAD bytes;
 * OER_ENOMEM.  After an error the reader stays stopped and returns it
 * again.  The body is not scanned: message_decode() does that.
 */
int frame_reader_feed(struct frame *out, size_t *used, struct frame_reader *r,
                      const void *data, size_t len);

/*
 * Check that a body of len bytes may be sent: at most LIMIT_FRAME bytes,
 * or at most LIMIT_DATA_FRAME when it starts as scan_large_head() wants.
 * Returns 0, or OER_EINVAL with a reason (LIMIT_REASON bytes; may be NULL).
 */
int frame_check(char *reason, const void *body, size_t len);

/*
 * Seal a frame built in place: buf holds LIMIT_PREFIX bytes of room and
 * then the body of body_len bytes.  Checks the body with frame_check()
 * and writes the prefix.  Returns 0 or OER_EINVAL (the frame is then not
 * to be sent; logged here, as the sender's own failure).
 */
int frame_seal(unsigned char *buf, size_t body_len);

/*
 * A new frame of the len bytes at body: the prefix and a copy of the
 * body.  *out is malloc'd and belongs to the caller; *out_len is its
 * size.  Returns 0, OER_EINVAL as frame_seal(), or OER_ENOMEM.
 */
int frame_encode(unsigned char **out, size_t *out_len, const void *body,
                 size_t len);

#endif
