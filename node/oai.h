/*
 * oai: the node's OAI-PMH 2.0 provider at /oai (docs/OAI.md).  The six
 * verbs over the catalogues of the store, formats oai_dc and lom, sets
 * by origin, level and subject, deleted records kept for ever, and
 * resumption tokens that hold a position in the catalogues' history
 * instead of server state.  Responses are built with libxml2's tree API.
 * No state of its own: safe on any thread with a store of its own.
 */
#ifndef OERNODE_OAI_H
#define OERNODE_OAI_H

#include <stddef.h>

#include "node/http.h"
#include "node/store.h"

#define OAI_PAGE_DEFAULT 100 /* records a list page holds */
#define OAI_PAGE_MAX 1000
#define OAI_MAX_ARGS 32           /* arguments of one request */
#define OAI_TOKEN_ORIGINS 256     /* catalogues a token can hold */
#define OAI_TOKEN_MAX (32 * 1024) /* longest token accepted, in bytes */

struct vocab;

/* What the provider needs to know; strings and the vocabularies are
 * borrowed. */
struct oai_options {
    const char *node_id; /* repositoryName and identifiers */
    /* baseURL and the request element: "https://oer.example.org/oai"
     * (oai.base-url); for oai_serve, NULL derives it from the request */
    const char *base_url;
    const char *admin_email; /* adminEmail */
    size_t page_size;        /* records a list page holds, >= 1 */
    /* what level and subject sets go through (crosswalk_sets); NULL: every
     * term is a set by its own value */
    const struct vocab *vocab;
    /* for oai_serve when vocab is NULL: the folder it loads them from
     * (vocab.root), NULL for the default, INDEX_VOCAB_DIR */
    const char *vocab_dir;
};

/* The error conditions of OAI-PMH 2.0 (noSetHierarchy is never used:
 * this provider has sets). */
enum oai_error {
    OAI_OK = 0,
    OAI_BAD_ARGUMENT,
    OAI_BAD_RESUMPTION_TOKEN,
    OAI_BAD_VERB,
    OAI_CANNOT_DISSEMINATE_FORMAT,
    OAI_ID_DOES_NOT_EXIST,
    OAI_NO_RECORDS_MATCH,
    OAI_NO_METADATA_FORMATS
};

enum oai_verb {
    OAI_IDENTIFY,
    OAI_LIST_METADATA_FORMATS,
    OAI_LIST_SETS,
    OAI_LIST_IDENTIFIERS,
    OAI_LIST_RECORDS,
    OAI_GET_RECORD
};

enum oai_format { OAI_FORMAT_NONE, OAI_FORMAT_DC, OAI_FORMAT_LOM };

/* Date granularity of from and until. */
enum oai_granularity { OAI_NO_DATE, OAI_DAY, OAI_SECOND };

/* The arguments of a request: keys and values, copied. */
struct oai_args {
    size_t n;
    char *keys[OAI_MAX_ARGS];
    char *values[OAI_MAX_ARGS];
    int overflow; /* more than OAI_MAX_ARGS, or a malformed form */
};

/* A request whose arguments passed every rule of its verb.  Strings are
 * borrowed from the struct oai_args it was parsed from. */
struct oai_request {
    enum oai_verb verb;
    enum oai_format format;
    const char *prefix; /* metadataPrefix as given */
    const char *identifier;
    const char *set;
    const char *from;
    const char *until;
    const char *token;
    long long from_time;  /* inclusive bounds, seconds since the epoch */
    long long until_time; /* (a day's bounds are 00:00:00 and 23:59:59) */
};

/* A resumption token, decoded: the list it continues and where. */
struct oai_token {
    enum oai_format format;
    char set[513]; /* "" for none */
    char from[21]; /* as the first request gave it, "" for none */
    char until[21];
    long long cursor;          /* records listed before this page */
    size_t position;           /* index of the catalogue the page starts in */
    char after[STORE_OID_HEX]; /* last commit fully listed before it,
                                * "" for the catalogue's start */
    char path[80];             /* in the commit after that one, the last path
                                * listed; "" for none */
    size_t count;              /* catalogues of the list, frozen at its start */
    char origins[OAI_TOKEN_ORIGINS][65];          /* in name order */
    char heads[OAI_TOKEN_ORIGINS][STORE_OID_HEX]; /* their heads then */
};

/* Free the strings of args; accepts NULL. */
void oai_args_release(struct oai_args *args);

/* Append a copy of key and value; OER_ENOMEM.  Past OAI_MAX_ARGS only
 * overflow is set. */
int oai_args_add(struct oai_args *args, const char *key, const char *value);

/*
 * Add the arguments of an application/x-www-form-urlencoded body (len
 * bytes): '&'-separated, '+' a space, %XX escapes.  OER_EINVAL for a bad
 * escape or an escaped NUL (the arguments before it are kept),
 * OER_ENOMEM.
 */
int oai_args_form(struct oai_args *args, const char *body, size_t len);

/*
 * Check args against the rules of OAI-PMH 2.0 for their verb: the verb
 * (once, known), no argument twice, none the verb does not take, the
 * required ones, resumptionToken alone, dates of one legal granularity
 * with from <= until, a whole setSpec, a known metadataPrefix.  Fills
 * *out (borrowing from args) and returns OAI_OK, or returns the error
 * with a static message in *msg.  The token itself is not decoded here.
 */
enum oai_error oai_parse(struct oai_request *out, const char **msg,
                         const struct oai_args *args);

/*
 * Parse a datestamp argument "YYYY-MM-DD" or "YYYY-MM-DDThh:mm:ssZ" into
 * seconds since the epoch (the start of the day; end set: its last
 * second).  Returns its granularity, or OAI_NO_DATE when it is neither.
 */
enum oai_granularity oai_parse_date(long long *out, const char *text, int end);

/* Encode t as an opaque token (URL-safe base64 of its fields and a
 * SHA-256 check).  *out is malloc'd, the caller's.  OER_ENOMEM. */
int oai_token_encode(char **out, const struct oai_token *t);

/*
 * Decode and check a token: its check value, every field's syntax, the
 * catalogues in name order.  Returns 0 or OER_EINVAL; whether the
 * commits it names still exist is the caller's question.
 */
int oai_token_decode(struct oai_token *out, const char *text);

/*
 * Answer one request: the whole OAI-PMH response, UTF-8 XML, into *out
 * (malloc'd, the caller's; *len bytes).  An OAI-PMH error is a response
 * like any other (returns 0).  Returns OER_ENOMEM, or OER_EIO when the
 * store failed (logged).
 */
int oai_respond(char **out, size_t *len, struct store *s,
                const struct oai_options *opt, const struct oai_args *args);

/*
 * The /oai route: the arguments of the query or, for a POST, of its
 * application/x-www-form-urlencoded body; opt->base_url, or when it is
 * NULL "http://" and the Host header; opt->vocab, or the vocabularies of
 * opt->vocab_dir loaded for the request (without them, sets by the
 * terms' own values, logged).  Answers text/xml, or a JSON error when
 * the store fails.
 */
void oai_serve(struct http_response *res, const struct http_request *req,
               struct store *s, const struct oai_options *opt);

#endif
