/*
 * scan: our own check of a frame body before msgpack-c reads it.  msgpack-c
 * reserves memory for whatever a header declares, so nothing reaches it
 * until this walk has proved that every declared length and count fits in
 * the bytes that are there and that the body keeps to protocol/limits.h.
 * No allocation, no I/O, no logging: the caller logs the reason with the
 * peer it concerns.
 */
#ifndef OERNODE_PROTOCOL_SCAN_H
#define OERNODE_PROTOCOL_SCAN_H

#include <stddef.h>

/* What a successful scan learnt about the body. */
struct scan_result {
    const unsigned char *type; /* value of "type", points into the body */
    size_t type_len;           /* its length in bytes (not NUL-terminated) */
    size_t elements;           /* msgpack objects in the body, keys too */
};

/*
 * Check body, the len bytes after a frame's length prefix.  It must be
 * exactly one map, with nothing after it, holding a string "type" at the
 * top level; every length and count must fit in the bytes that remain;
 * nesting at most LIMIT_DEPTH, at most LIMIT_ELEMENTS objects, at most
 * LIMIT_MAP_KEYS keys a map; map keys are strings, none twice in one map;
 * strings are valid UTF-8 of at most LIMIT_STR bytes, binaries at most
 * LIMIT_BIN; no ext types and no 0xc1.  A body over LIMIT_FRAME bytes
 * (at most LIMIT_DATA_FRAME) must also pass scan_large_head().
 *
 * Returns 0 and fills *out (may be NULL), or OER_EPROTO and writes a
 * short reason into reason (LIMIT_REASON bytes; may be NULL).
 */
int scan_frame(struct scan_result *out, char *reason, const void *body,
               size_t len);

/*
 * Check the first avail bytes of a body whose declared length exceeds
 * LIMIT_FRAME, before the rest is read: it must start with a map whose
 * first key is "type" with the value "PACK" or "FILES", each in its
 * shortest msgpack form.  avail must be at least LIMIT_LARGE_HEAD (the
 * whole body when shorter).  Returns 0, or OER_EPROTO with a reason.
 */
int scan_large_head(char *reason, const void *head, size_t avail);

#endif
