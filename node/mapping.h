/*
 * mapping: the MAP file of `oernode import table` and `import json`,
 * in git-config syntax read with libgit2: for each oernode field, the
 * source column (table) or JSON path (json) that holds it, a separator
 * for lists, a default, and value tables that translate the source's
 * strings (licences, languages, levels, tags) into the node's; and the
 * column or path of the record's source identifier.  docs/MAPPING.md
 * describes the format.  Applying a mapping to one record (a JSON
 * object; a table row is the object of its columns) builds a metadata
 * document of docs/METADATA.md.  This module writes nothing anywhere.
 */
#ifndef OERNODE_MAPPING_H
#define OERNODE_MAPPING_H

#include <stddef.h>

#include <jansson.h>

/* What the mapping reads: named columns, or JSON paths. */
enum mapping_kind { MAPPING_TABLE, MAPPING_JSON };

/* What is wrong with a mapping: the file, line, key and why. */
struct mapping_error {
    char file[512];
    unsigned line;    /* from 1; 0 when it is not known */
    char key[160];    /* "field.title.column"; "" for the file */
    char detail[256]; /* lower case, no full stop */
};

struct mapping;

/*
 * Read and check the MAP file at path for sources of kind.  *out is the
 * caller's (mapping_free).  Returns 0; OER_ENOTFOUND when there is no
 * such file; OER_EINVAL with err filled (err may be NULL) for a syntax
 * error (line from libgit2), an unknown key or oernode field, a path of
 * the wrong kind, a value table with a key twice, a table that does not
 * exist, or no source identifier; OER_ENOMEM.  Nothing is logged.
 */
int mapping_load(struct mapping **out, const char *path, enum mapping_kind kind,
                 struct mapping_error *err);

/* Accepts NULL. */
void mapping_free(struct mapping *map);

/* The field separator source.separator names ('\t', ',', ';', or any
 * one character), or 0 when the mapping names none. */
char mapping_separator(const struct mapping *map);

/*
 * Check that every column the mapping names is one of the count names
 * of a table's header.  Returns 0, or OER_EINVAL with err naming the
 * first unknown column, its key and (when found) its line.
 */
int mapping_check_columns(const struct mapping *map, char *const *names,
                          size_t count, struct mapping_error *err);

/*
 * The document of record (a JSON object, borrowed) under map: *out (the
 * caller's, json_decref) holds the mapped fields and "source_id", and
 * "schema"; "id" and "updated" are for the importer to set.  It is not
 * validated.  *source_id (malloc'd, the caller's) is the record's
 * prefixed identifier, also set when the record is refused, when it has
 * one.  Returns 0; OER_EINVAL when the record has no source identifier
 * (reason, of cap bytes, says so); OER_ENOMEM.
 */
int mapping_apply(json_t **out, char **source_id, const struct mapping *map,
                  const json_t *record, char *reason, size_t cap);

/*
 * Read a date or time as sources write it ("2017-08-14T12:02:49.107+0000",
 * "2024-06-07", "2020-01-02 10:00:00Z", milliseconds since 1970 as
 * digits) into a timestamp of docs/METADATA.md: "YYYY-MM-DD", or
 * "YYYY-MM-DDThh:mm:ssZ" in UTC (fractions dropped).  out holds at least
 * 21 bytes.  Returns 0 or OER_EINVAL.
 */
int mapping_timestamp(char *out, const char *text);

#endif
