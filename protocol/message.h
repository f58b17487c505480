/*
 * message: the typed messages of the peer protocol, encoded to and decoded
 * from whole frames with msgpack-c.  docs/PROTOCOL.md lists every field.
 * A body reaches msgpack-c only after scan_frame() has passed it.
 */
#ifndef OERNODE_PROTOCOL_MESSAGE_H
#define OERNODE_PROTOCOL_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/limits.h"

struct msgpack_zone;

enum message_type {
    MESSAGE_UNKNOWN = 0, /* a type this node does not know: ignore it */
    MESSAGE_HELLO,
    MESSAGE_HEADS,
    MESSAGE_FETCH,
    MESSAGE_PACK,
    MESSAGE_FETCH_END,
    MESSAGE_WANT_FILES,
    MESSAGE_FILES,
    MESSAGE_SEARCH,
    MESSAGE_RESULTS,
    MESSAGE_PING,
    MESSAGE_PONG,
    MESSAGE_ERROR,
    MESSAGE_BYE
};

/* A git object id: sent as a msgpack bin of exactly LIMIT_OID bytes. */
struct message_oid {
    unsigned char id[LIMIT_OID];
};

/* Strings are NUL-terminated UTF-8 without NUL inside.  Binary data has
 * its length beside it. */

struct message_hello {
    uint64_t version;      /* LIMIT_VERSION */
    const char *node;      /* the sender's node id (its origin) */
    const char *software;  /* "oernode/0.1.0" */
    const char **features; /* feature names */
    size_t nfeatures;
    bool commercial;         /* declared use: commercial */
    bool adapts;             /* declared use: adapts content */
    uint64_t max_frame;      /* largest body the sender accepts */
    uint64_t max_data_frame; /* largest PACK or FILES body it accepts */
};

struct message_head {
    const char *origin;
    struct message_oid head; /* head commit of refs/catalog/<origin> */
    uint64_t count;          /* records in that catalogue */
    /* optional: the origin's key as the sender knows it, "ssh-ed25519
     * AAAA..."; NULL or "" is not sent, and an absent key decodes as "" */
    const char *key;
};

struct message_heads {
    struct message_head *heads;
    size_t nheads;
};

struct message_fetch {
    const char *origin;
    struct message_oid want;
    struct message_oid *haves; /* commits of that origin the sender has */
    size_t nhaves;
};

struct message_pack {
    const char *origin;
    uint64_t seq;              /* chunk number, from 0 */
    const unsigned char *data; /* a piece of one packfile */
    size_t len;
    bool last; /* the packfile ends with this chunk */
};

enum message_result {
    MESSAGE_RESULT_OK,         /* the pack for this fetch was sent whole */
    MESSAGE_RESULT_UP_TO_DATE, /* nothing to send */
    MESSAGE_RESULT_REFUSED,    /* policy does not share this origin */
    MESSAGE_RESULT_NOT_FOUND,  /* the wanted commit is not here */
    MESSAGE_RESULT_FAILED      /* the sender failed; try later */
};

struct message_fetch_end {
    const char *origin;
    enum message_result result;
    const char *reason; /* "" when there is nothing to add */
};

struct message_want_files {
    struct message_oid *blobs;
    size_t nblobs;
};

enum message_file_status {
    MESSAGE_FILE_SENT,
    MESSAGE_FILE_DENIED_LICENCE,
    MESSAGE_FILE_DENIED_POLICY,
    MESSAGE_FILE_MISSING
};

/* One entry of FILES.  A sent file may come in pieces over several
 * FILES frames: data is its bytes from offset on, size its full size. */
struct message_file {
    struct message_oid blob;
    enum message_file_status status;
    const unsigned char *data; /* only when sent */
    size_t len;
    uint64_t offset; /* only when sent */
    uint64_t size;   /* only when sent */
};

struct message_files {
    struct message_file *files;
    size_t nfiles;
};

/* One search filter: a facet and the values any of which may match. */
struct message_filter {
    const char *key;
    const char **values;
    size_t nvalues;
};

struct message_search {
    uint64_t id; /* chosen by the asker, echoed in RESULTS */
    const char *query;
    struct message_filter *filters;
    size_t nfilters;
    uint64_t deadline_ms; /* how long the asker waits for RESULTS */
    /* Optional (a node that predates them sends none; decoded as none,
     * and not written when empty): the origins whose catalogues the
     * asker holds, whose hits it would drop; the asker's education
     * system and language, for level and subject terms of its system
     * and titles in its language. */
    const char **held;
    size_t nheld;
    const char *system; /* "" or NULL: none */
    const char *lang;   /* "" or NULL: none */
};

struct message_hit {
    const char *id; /* resource id, <origin>/<local-id> */
    const char *title;
    uint64_t score; /* higher is better, 0 to 1000000 */
};

struct message_results {
    uint64_t id;
    struct message_hit *hits;
    size_t nhits;
    const char *error; /* why the query was refused; "" (or NULL) if not */
};

struct message_ping {
    uint64_t nonce; /* PONG echoes the nonce of its PING */
};

struct message_error {
    const char *code; /* short stable word: "proto", "limit" */
    const char *message;
};

struct message_bye {
    const char *reason;
};

struct message {
    enum message_type type;
    union {
        struct message_hello hello;
        struct message_heads heads;
        struct message_fetch fetch;
        struct message_pack pack;
        struct message_fetch_end fetch_end;
        struct message_want_files want_files;
        struct message_files files;
        struct message_search search;
        struct message_results results;
        struct message_ping ping; /* PING and PONG */
        struct message_error error;
        struct message_bye bye;
    } u;
    struct msgpack_zone *zone; /* what decode allocated; NULL otherwise */
};

/*
 * Decode one frame body (without its prefix).  The body goes through
 * scan_frame() first, then msgpack-c.  Returns 0 with *out a new message
 * that owns copies of all it points to (free it with message_free()); a
 * type this node does not know gives MESSAGE_UNKNOWN and no fields, and
 * unknown fields are skipped.  Returns OER_EPROTO, with a reason for the
 * ERROR frame and the log in reason (LIMIT_REASON bytes; may be NULL),
 * for a body the scan refuses or a required field missing, of the wrong
 * type or out of its range; OER_ENOMEM.  Logs nothing about the peer's
 * bytes: the caller knows which peer sent them.
 */
int message_decode(struct message **out, char *reason, const void *body,
                   size_t len);

/*
 * Encode msg as one whole frame, prefix included.  *out is malloc'd and
 * belongs to the caller; *len is its size.  The frame must fit the
 * limits of the protocol and, when peer is not NULL, those the peer
 * advertised in its HELLO; lists must fit their LIMIT_* and strings must
 * be valid UTF-8.  Returns 0, OER_EINVAL (logged: the sender's own data
 * broke a limit, so that item is to fail, not to be queued again), or
 * OER_ENOMEM.
 */
int message_encode(unsigned char **out, size_t *len, const struct message *msg,
                   const struct message_hello *peer);

/* Free a decoded message; msg may be NULL. */
void message_free(struct message *msg);

/* The wire name of a type ("HELLO"), or "UNKNOWN". */
const char *message_type_name(enum message_type type);

/* Wire names of the enums ("up-to-date", "denied-licence"). */
const char *message_result_name(enum message_result result);
const char *message_file_status_name(enum message_file_status status);

#endif
