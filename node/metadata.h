/*
 * metadata: the resource document of docs/METADATA.md: validation with a
 * specific error for each kind of problem, NFC normalisation, and the
 * canonical bytes that the store hashes and signs.  Documents are jansson
 * values; this module never writes anything anywhere.
 */
#ifndef OERNODE_METADATA_H
#define OERNODE_METADATA_H

#include <stddef.h>

#include <jansson.h>

#define METADATA_SCHEMA 1
#define METADATA_DOC_MAX (256 * 1024)

/* What is wrong with a document. */
enum metadata_problem {
    METADATA_OK = 0,
    METADATA_MISSING,       /* a required field is absent or empty */
    METADATA_TYPE,          /* a field has the wrong JSON type (a real
                             * number anywhere, too) */
    METADATA_TOO_LONG,      /* a string, list or the document is too large,
                             * or unknown fields nest too deep */
    METADATA_BAD_UTF8,      /* a string or key is not valid UTF-8 */
    METADATA_XML_CHAR,      /* a string holds a character XML 1.0 forbids */
    METADATA_BAD_FILENAME,  /* separator, "..", control char, empty name */
    METADATA_UNKNOWN_FIELD, /* a field this version does not know, a record
                             * field in a tombstone, or "reason" in a record */
    METADATA_BAD_VALUE      /* a malformed tag, id, timestamp, hash, ... */
};

struct metadata_error {
    enum metadata_problem problem;
    char field[128];  /* JSON path of the field: "title.nl", "files[2].name";
                       * "" for the document as a whole; for a bad key,
                       * the path of the object that holds it */
    char detail[192]; /* human-readable reason, lower case, no full stop */
};

/* Options of metadata_validate. */
enum {
    /* Refuse fields this version does not know (what a user submits).
     * Without it (records signed by other nodes), unknown fields are kept
     * and ignored. */
    METADATA_STRICT = 1 << 0,
    /* The document is a submission: "id" and "updated" may be absent
     * (the store sets them). */
    METADATA_SUBMISSION = 1 << 1
};

/*
 * Check doc against docs/METADATA.md and normalise it in place: strings
 * and keys to NFC, language tags to lower case (x-none to und), hex
 * hashes to lower case.  Stops at the first problem, checking fields in
 * the order of the table of docs/METADATA.md.  Returns 0, OER_EINVAL with
 * *err filled (err may be NULL; on success err->problem is METADATA_OK),
 * or OER_ENOMEM.  On error doc may be partly normalised but holds no new
 * invalid data.
 */
int metadata_validate(json_t *doc, unsigned flags, struct metadata_error *err);

/* Short name of a problem ("missing", "too-long", ...). */
const char *metadata_problem_name(enum metadata_problem problem);

/*
 * Canonical bytes of doc (see docs/METADATA.md).  *out is malloc'd and
 * belongs to the caller, NOT NUL-terminated beyond *len (a NUL follows for
 * convenience).  Returns 0, OER_ENOMEM, or OER_EINVAL when doc holds
 * something with no canonical form (not an object, a real number, invalid
 * UTF-8, nesting deeper than 64 levels); then *out is NULL.  It does not
 * normalise: run metadata_validate first.
 */
int metadata_canonical(char **out, size_t *len, const json_t *doc);

/* Parse canonical (or any) JSON bytes (len of them; no NUL needed) into a
 * document; *out is the caller's (json_decref).  OER_EINVAL with the
 * parse error in *err when they are not a JSON object (duplicate keys and
 * \u0000 are refused), OER_ENOMEM. */
int metadata_parse(json_t **out, const char *buf, size_t len,
                   struct metadata_error *err);

/* Whether doc is a tombstone ("deleted": true). */
int metadata_is_tombstone(const json_t *doc);

/* Whether s is a URL that "source_url" takes: http, https or ftp, with
 * a host, and no white space or control character.  1 or 0. */
int metadata_valid_url(const char *s);

/* Whether s is a date "YYYY-MM-DD" or a timestamp "YYYY-MM-DDThh:mm:ssZ"
 * of a real day and time, as "created" and "updated" take: 1 or 0. */
int metadata_valid_timestamp(const char *s);

/* Whether s is a language tag as "languages" and text keys take (2 or 3
 * letters, then subtags of 1 to 8 letters or digits; any case): 1 or 0. */
int metadata_valid_language(const char *s);

/* Validate an origin (node id) or a local id as docs/METADATA.md says:
 * 1 when valid, 0 when not (NULL is not). */
int metadata_valid_origin(const char *origin);
int metadata_valid_local_id(const char *local_id);

/*
 * A local id for a new resource: 12 characters of [a-z2-7].  With a
 * source_id (an imported record's identifier in its source system) it is
 * derived from SHA-256 of that string (the first 12 characters of its
 * RFC 4648 base32, in lower case), so that a second import of the
 * same record names the same resource; with NULL it is random.  out must
 * hold at least 13 bytes.  Returns 0 or OER_EIO (no randomness).
 */
int metadata_local_id(char *out, const char *source_id);

/* The current time as a timestamp "YYYY-MM-DDThh:mm:ssZ"; out of at least
 * 21 bytes. */
void metadata_now(char *out);

#endif
