/*
 * bulk: catalogues in bulk, `oernode import table` (CSV, TSV) and
 * `oernode import json` (JSON arrays, JSON lines), each read through a
 * MAP file (node/mapping.h) into metadata documents that go to the
 * import sink (node/import.h).  Rows of one source id merge in the sink.
 */
#ifndef OERNODE_BULK_H
#define OERNODE_BULK_H

#include <stddef.h>

#include "node/import.h"
#include "node/mapping.h"

/*
 * Import the tables (or JSON files) in paths under the mapping at
 * map_path, through one run of the sink with opt; folders are walked
 * for *.csv and *.tsv (or *.json, *.jsonl, *.ndjson).  A row or line
 * that cannot be read or mapped is skipped with its file and line; a
 * table whose header lacks a column the mapping names is a bad file,
 * and so is a JSON array that is not well-formed.
 *
 * Returns 0 when the run completed (see *out); OER_EINVAL or
 * OER_ENOTFOUND when the mapping cannot be read, with merr filled and
 * nothing imported (*out zeroed); else like import_finish.
 */
int bulk_import_table(struct import_summary *out,
                      const struct import_options *opt, const char *map_path,
                      char *const *paths, size_t count,
                      struct mapping_error *merr);
int bulk_import_json(struct import_summary *out,
                     const struct import_options *opt, const char *map_path,
                     char *const *paths, size_t count,
                     struct mapping_error *merr);

#endif
