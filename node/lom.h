/*
 * lom: the reader of IEEE LOM and IMS LOM 1.2 records, alone or inside
 * OAI-PMH ListRecords and GetRecord responses.  Each record becomes a
 * metadata document of docs/METADATA.md (without "id", which the importer
 * sets); deleted OAI records and records that cannot be converted are
 * reported too.  Parsing goes through libxml2 with no network, no DTD and
 * no entity loading; this module writes nothing anywhere.
 */
#ifndef OERNODE_LOM_H
#define OERNODE_LOM_H

#include <stddef.h>

#include <jansson.h>

/* Largest input read, in bytes. */
#define LOM_INPUT_MAX (64u * 1024 * 1024)

/*
 * Version of the built-in tables that map national profile values (such
 * as LOM-ES v1.0 learning resource types or the Dutch education contexts)
 * to LOMv1.0 values ("lom" of a term).  It changes whenever a mapping
 * changes, so that an importer can tell which records to read again.
 */
#define LOM_VOCAB_MAP_VERSION 1

/* Namespaces of the LOM bindings this reader accepts. */
#define LOM_NS_IEEE "http://ltsc.ieee.org/xsd/LOM"
#define LOM_NS_IMS "http://www.imsglobal.org/xsd/imsmd_v1p2"
#define LOM_NS_OAI "http://www.openarchives.org/OAI/2.0/"

/* One record of the input, as handed to the callback. */
struct lom_record {
    /* Identifier in the source: the OAI header identifier in a page,
     * else the LOM general identifier or catalog entry.  NULL only for a
     * record in error that had none. */
    const char *source_id;
    /* The converted document, borrowed: valid during the callback only
     * (json_incref it to keep it).  NULL when deleted or in error. */
    json_t *doc;
    /* 1 when an OAI header said status="deleted". */
    int deleted;
    /* OAI header datestamp as a timestamp, or NULL (standalone record,
     * or a datestamp that is not a date). */
    const char *datestamp;
    /* NULL, or why the record could not be converted ("no title",
     * "unsupported metadata namespace ..."). */
    const char *error;
    /* Position of the record in the input, from 1. */
    size_t index;
};

/*
 * Called once for each record, in input order.  A non-zero return stops
 * the reading, and lom_read_file or lom_read_memory return that value.
 */
typedef int (*lom_record_cb)(const struct lom_record *rec, void *arg);

/* What an input held besides its records; strings are malloc'd. */
struct lom_page {
    int oai;                      /* 1 for an OAI-PMH response */
    char *verb;                   /* request verb, or NULL */
    char *response_date;          /* responseDate as given, or NULL */
    char *resumption_token;       /* NULL: none; "": the list is complete */
    long long complete_list_size; /* -1 when not given */
    long long cursor;             /* -1 when not given */
    char *error_code;             /* OAI error code, or NULL */
    char *error_message;          /* its text, or NULL */
    size_t records;               /* documents reported */
    size_t deleted;               /* deleted records reported */
    size_t errors;                /* records in error reported */
};

/*
 * Read the LOM record or OAI-PMH response in buf (raw bytes, any
 * encoding that the XML declaration or a BOM names).  name (a file name
 * or URL) is only used in logs.  page may be NULL; when not, it is filled
 * (release it with lom_page_release even on error).
 *
 * Returns 0 when the input was read, even when some records were in
 * error (each is reported to cb and logged).  Errors about the whole
 * input: OER_EINVAL when it is not well-formed XML even after repair, is
 * neither a LOM record nor an OAI-PMH response ("not LOM or OAI-PMH"),
 * holds a DOCTYPE, or is larger than LOM_INPUT_MAX; OER_EPROTO for an
 * OAI-PMH error response (but noRecordsMatch, which reads as an empty
 * list and returns 0); OER_EUNSUPPORTED for an OAI-PMH response of
 * another verb (Identify, ListSets, ...); OER_ENOMEM.  Nothing is
 * reported to cb in those cases, except records already reported before
 * an OER_ENOMEM.
 */
int lom_read_memory(struct lom_page *page, const char *buf, size_t len,
                    const char *name, lom_record_cb cb, void *arg);

/* Same as lom_read_memory for the file at path; OER_EIO when it cannot
 * be read, OER_EINVAL when it is not a regular file or too large. */
int lom_read_file(struct lom_page *page, const char *path, lom_record_cb cb,
                  void *arg);

/*
 * The LOMv1.0 vocabulary value of element (a lower-case local name:
 * "learningresourcetype", "intendedenduserrole", "context", "role",
 * "purpose") equal to folded (trimmed, lower case), or NULL when it is
 * not one.  The string is static.
 */
const char *lom_vocab_value(const char *element, const char *folded);

/* Free the strings of page and zero it; accepts NULL. */
void lom_page_release(struct lom_page *page);

#endif
