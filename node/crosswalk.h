/*
 * crosswalk: a metadata document (docs/METADATA.md) as the XML the
 * OAI-PMH provider serves, oai_dc (Dublin Core) and IEEE LOM, built with
 * libxml2's tree API so that every string is escaped by libxml2; and the
 * OAI-PMH sets a document belongs to.  No state; safe on any thread.
 */
#ifndef OERNODE_CROSSWALK_H
#define OERNODE_CROSSWALK_H

#include <stddef.h>

#include <jansson.h>
#include <libxml/tree.h>

struct vocab;

#define CROSSWALK_NS_DC "http://purl.org/dc/elements/1.1/"
#define CROSSWALK_NS_OAI_DC "http://www.openarchives.org/OAI/2.0/oai_dc/"
#define CROSSWALK_NS_LOM "http://ltsc.ieee.org/xsd/LOM"
#define CROSSWALK_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"

/* Longest setSpec crosswalk_set_specs makes or crosswalk_spec_valid
 * accepts, in bytes. */
#define CROSSWALK_SPEC_MAX 512

/* The parents of the sets of mapped terms (crosswalk_sets). */
#define CROSSWALK_SET_ISCED "level:isced"
#define CROSSWALK_SET_PIVOT "subject:pivot"

/*
 * Append to parent the oai_dc:dc element of doc (a record, not a
 * tombstone).  identifier is the record's OAI identifier, written as a
 * dc:identifier beside its source URL.  Strings that are not valid UTF-8
 * or hold characters XML forbids are left out (the store never holds
 * them).  Returns 0 or OER_ENOMEM.
 */
int crosswalk_dc(xmlNodePtr parent, const json_t *doc, const char *identifier);

/* The same for the lom element of the IEEE LOM XML binding. */
int crosswalk_lom(xmlNodePtr parent, const json_t *doc, const char *identifier);

/* Called for each set of a document: spec is a setSpec, name a display
 * name for ListSets; both borrowed for the call.  A non-zero return
 * stops and is returned. */
typedef int (*crosswalk_set_cb)(const char *spec, const char *name, void *arg);

/*
 * The sets doc belongs to: "origin:<origin>" (origin from its id), then
 * its level and subject sets.  With a vocabulary v (may be NULL), a
 * term that maps to a pivot (vocab_index_keys; the origin's system when
 * the origin is a system id, as the index does) gives
 * "level:isced:<N>" for each ISCED 2011 level it maps to, and
 * "subject:pivot:<id>" for each pivot subject and those broader.  A term
 * that maps to none, and every term without v, gives "level:<v>" or
 * "subject:<v>", v the term's value made a setSpec
 * (crosswalk_spec_from_label; in subjects a ':' makes a level of
 * hierarchy).  A tombstone has only its origin's set.  Duplicates are
 * reported once.
 */
int crosswalk_sets(const json_t *doc, const struct vocab *v,
                   crosswalk_set_cb cb, void *arg);

/*
 * A setSpec part from a label: case folded, accents dropped, every run
 * of other characters one '-', none at either end ("Maths & Science /
 * Grade 5" gives "maths-science-grade-5"); with hierarchy set, each
 * ':'-separated part is made so and they are joined by ':'.  A label
 * with nothing left gives "x" and 8 hex digits of its SHA-256.  out of
 * cap bytes (at least 16); longer results are cut at a part boundary
 * where possible.  Returns 0, OER_EINVAL (not UTF-8) or OER_ENOMEM.
 */
int crosswalk_spec_from_label(char *out, size_t cap, const char *label,
                              int hierarchy);

/* Whether spec is a whole, valid setSpec: one or more parts of
 * [A-Za-z0-9-_.!~*'()] separated by single ':', at most
 * CROSSWALK_SPEC_MAX bytes. */
int crosswalk_spec_valid(const char *spec);

/* Whether text may go into XML: valid UTF-8 with no character XML 1.0
 * forbids. */
int crosswalk_text_ok(const char *text);

#endif
