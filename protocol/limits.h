/*
 * limits: every hard limit of the peer protocol, in one place.  The frame
 * reader, the scan, the decoder and the encoder all read them from here;
 * docs/PROTOCOL.md explains each.
 */
#ifndef OERNODE_PROTOCOL_LIMITS_H
#define OERNODE_PROTOCOL_LIMITS_H

/* Version this node speaks, sent in HELLO. */
#define LIMIT_VERSION 1

/* Bytes of the big-endian length prefix in front of every frame body. */
#define LIMIT_PREFIX 4

/* Largest body of any frame: the value of the length prefix. */
#define LIMIT_FRAME (1u << 20)

/* Largest body of a PACK or FILES frame.  A prefix above LIMIT_FRAME is
 * only accepted when the body starts with the "type" key and PACK or
 * FILES as its value, within its first LIMIT_LARGE_HEAD bytes. */
#define LIMIT_DATA_FRAME (8u << 20)
#define LIMIT_LARGE_HEAD 16

/* Smallest frame limit a peer may advertise in HELLO. */
#define LIMIT_FRAME_MIN (64u << 10)

/* Structure of a body: nesting of maps and arrays (the top map is depth
 * 1), objects in all (keys count), keys of one map. */
#define LIMIT_DEPTH 8
#define LIMIT_ELEMENTS 65536
#define LIMIT_MAP_KEYS 64

/* Bytes of one string, and of one binary. */
#define LIMIT_STR 65535
#define LIMIT_BIN LIMIT_DATA_FRAME

/* Bytes of a name: node id, origin, resource id, feature, filter key. */
#define LIMIT_NAME 255

/* Bytes of a git object id (SHA-1), carried as a 20-byte binary. */
#define LIMIT_OID 20

/* Entries of the lists in one message. */
#define LIMIT_FEATURES 64
#define LIMIT_HEADS 4096
#define LIMIT_HAVES 256
#define LIMIT_BLOBS 1024
#define LIMIT_FILES 1024
#define LIMIT_FILTERS 32
#define LIMIT_FILTER_VALUES 64
#define LIMIT_HITS 1000
#define LIMIT_HELD 1024 /* SEARCH: origins the asker holds */

/* Largest data a sender puts in one PACK frame, or in all the entries of
 * one FILES frame together: what is left of LIMIT_DATA_FRAME after the
 * other fields, with room to spare. */
#define LIMIT_CHUNK (LIMIT_DATA_FRAME - (64u << 10))

/* Size of a buffer for the reason of a refused frame, NUL included. */
#define LIMIT_REASON 128

#endif
