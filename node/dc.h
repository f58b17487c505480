/*
 * dc: the reader of Dublin Core records (oai_dc, qualified DC with
 * dcterms, NSDL-DC), alone, inside OAI-PMH ListRecords and GetRecord
 * responses, or inside Learning Registry envelopes (JSON, one or many).
 * Each record becomes a metadata document of docs/METADATA.md with its
 * "source_id" set (without "id" and "updated", which the import sink
 * sets); deletions and records that cannot be converted are reported
 * too.  XML goes through libxml2 with no network, no DTD and no entity
 * loading; a DOCTYPE is refused.  Reading writes nothing anywhere;
 * dc_import feeds the import sink (node/import.h).
 *
 * Mapping (docs/CLI.md, "import dc"): title, description (and
 * dcterms:abstract) -> langmaps; a dc:subject without xsi:type ->
 * keywords, with xsi:type -> subjects (source: the xsi:type);
 * dcterms:conformsTo -> subjects (source "dcterms:conformsTo"); language
 * codes and English names -> languages; type -> resource_types;
 * educationLevel -> levels; audience -> audience; license, rights ->
 * licence (licence_normalise of them all), prose and accessRights ->
 * rights; the first http(s) or ftp identifier -> source_url; creator,
 * contributor, publisher -> contributors (author, contributor,
 * publisher); date, created, issued -> created when it is a full date.
 */
#ifndef OERNODE_DC_H
#define OERNODE_DC_H

#include <stddef.h>

#include <jansson.h>

#include "node/import.h"
#include "node/lom.h"

/* Largest input read, in bytes. */
#define DC_INPUT_MAX (64u * 1024 * 1024)

#define DC_NS_OAI_DC "http://www.openarchives.org/OAI/2.0/oai_dc/"
#define DC_NS_ELEMENTS "http://purl.org/dc/elements/1.1/"
#define DC_NS_TERMS "http://purl.org/dc/terms/"
#define DC_NS_NSDL "http://ns.nsdl.org/nsdl_dc_v1.02/"

/* One record of the input, as handed to the callback. */
struct dc_record {
    /* Identifier in the source: the OAI header identifier, else the
     * envelope's doc_ID, else its resource_locator, else the record's
     * first dc:identifier.  NULL only for a skipped record that had
     * none. */
    const char *source_id;
    /* The converted document, borrowed for the callback (json_incref to
     * keep it); it holds "source_id".  NULL when deleted or skipped. */
    json_t *doc;
    /* 1: the source deleted the record (an OAI deleted header, or a
     * Learning Registry envelope replacing it without a payload). */
    int deleted;
    /* NULL, or why the record is skipped: a short fixed phrase ("no
     * title", "not Dublin Core: paradata", ...) */
    const char *reason;
    /* NULL, or more about reason (a namespace, the payload schemas) */
    const char *detail;
    /* Position of the record in the input, from 1. */
    size_t index;
    /* The OAI header datestamp as given (trimmed), or NULL (none, or not
     * an OAI-PMH record). */
    const char *datestamp;
};

/* Called once for each record, in input order; a non-zero return stops
 * the reading and is returned by dc_read_memory. */
typedef int (*dc_record_cb)(const struct dc_record *rec, void *arg);

/*
 * Read buf (len bytes): JSON (first non-blank byte '{' or '[') is read
 * as Learning Registry envelopes found anywhere in it; anything else as
 * XML in any encoding its declaration or BOM names.  name is only used
 * in logs.
 *
 * Returns 0 when the input was read, even when records were skipped.
 * For the input as a whole: OER_EINVAL (why, of cap bytes, says what:
 * not well-formed, a DOCTYPE, neither Dublin Core nor OAI-PMH, JSON with
 * no envelope, too large), OER_EPROTO (an OAI-PMH error response other
 * than noRecordsMatch), OER_EUNSUPPORTED (an OAI-PMH response of another
 * verb), OER_ENOMEM; or cb's non-zero return.
 */
int dc_read_memory(const char *buf, size_t len, const char *name,
                   dc_record_cb cb, void *arg, char *why, size_t cap);

/*
 * dc_read_memory that also fills page (when not NULL) with what an
 * OAI-PMH response held besides its records (node/lom.h: responseDate,
 * resumptionToken, error code); release it with lom_page_release even
 * on error.  For the OAI-PMH harvester.
 */
int dc_read_page(struct lom_page *page, const char *buf, size_t len,
                 const char *name, dc_record_cb cb, void *arg, char *why,
                 size_t cap);

/*
 * Import every Dublin Core input in paths (folders: *.xml and *.json)
 * through one run of the import sink with opt.  Returns like
 * import_finish.
 */
int dc_import(struct import_summary *out, const struct import_options *opt,
              char *const *paths, size_t count);

#endif
