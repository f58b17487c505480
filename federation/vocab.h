/*
 * vocab: the vocabularies of education levels and subjects of each
 * education system, and their mapping to a shared pivot (ISCED 2011 for
 * levels, a shared subject list for subjects), read from the JSON files
 * of a vocabulary folder (docs/VOCABULARIES.md).  Search filters and
 * result displays translate through the pivot, so that a teacher browses
 * the whole network in the terms of their own system.
 *
 * A loaded struct vocab is read-only: it may be shared by any number of
 * threads.  Every pointer the lookups return is owned by the vocab and
 * lives until vocab_free.
 */
#ifndef OERNODE_VOCAB_H
#define OERNODE_VOCAB_H

#include <stddef.h>
#include <jansson.h>

/* ISCED levels 0 to 8 as bits of an unsigned: level n is 1u << n. */
#define VOCAB_LEVEL_BIT(n) (1u << (n))
#define VOCAB_LEVELS_ALL 0x1ffu

enum vocab_kind {
    VOCAB_LEVEL = 0,  /* education levels, pivot ISCED 2011 */
    VOCAB_SUBJECT = 1 /* subjects, pivot the shared subject list */
};

/* How a term relates to a pivot concept, as SKOS mapping properties. */
enum vocab_match {
    VOCAB_EXACT = 0,    /* the same concept (skos:exactMatch) */
    VOCAB_BROADER = 1,  /* the pivot is broader than the term */
    VOCAB_NARROWER = 2, /* the pivot is narrower than the term */
    VOCAB_CLOSE = 3     /* they overlap (skos:closeMatch) */
};

/* One mapping of a term; pivot is the pivot term's id ("344", "physics"). */
struct vocab_mapping {
    const char *pivot;
    enum vocab_match match;
};

struct vocab;
struct vocab_term;

/* ---- loading ---- */

/* An empty vocabulary; add files with vocab_add, then vocab_check.
 * Returns 0 or OER_ENOMEM. */
int vocab_new(struct vocab **out);

/*
 * Read one vocabulary file held in buf (len bytes, JSON); name is the
 * file's name, used in error messages.  A file with a mistake adds
 * nothing and logs one warning naming the file and, where there is one,
 * the term.  Returns 0, OER_EINVAL (a bad file), OER_EEXISTS (its system
 * is loaded already) or OER_ENOMEM.
 */
int vocab_add(struct vocab *v, const char *name, const char *buf, size_t len);

/* The same for the file at path.  Also OER_EIO when it cannot be read. */
int vocab_add_file(struct vocab *v, const char *path);

/*
 * Check what spans files: a pivot system for each kind that has terms,
 * and every mapping naming a pivot term that exists.  Lookups need it
 * to have passed.  Logs the first problem with its file and term;
 * returns 0 or OER_EINVAL.
 */
int vocab_check(struct vocab *v);

/* Every *.json file of the folder dir, in name order, then vocab_check.
 * *out is the caller's (vocab_free).  Returns 0, OER_EIO, OER_EINVAL,
 * OER_EEXISTS or OER_ENOMEM; nothing is returned on failure. */
int vocab_load(struct vocab **out, const char *dir);

/* Free v; accepts NULL. */
void vocab_free(struct vocab *v);

/* ---- systems ---- */

/* Id of the i-th system loaded ("be-vl", "isced-2011"), NULL past the
 * end. */
const char *vocab_system_at(const struct vocab *v, size_t i);

/* The id of the system of a record term's source (a URI listed in a
 * file's "sources", or a system id itself), or NULL. */
const char *vocab_system_for_source(const struct vocab *v, const char *source);

/* The id of the pivot system of kind, or NULL when none is loaded. */
const char *vocab_pivot_system(const struct vocab *v, enum vocab_kind kind);

/* The name of a system in lang (see vocab_term_label); NULL when the
 * system is unknown. */
const char *vocab_system_label(const struct vocab *v, const char *system,
                               const char *lang);

/* ---- terms ---- */

/* The term of system whose id is id, or NULL. */
const struct vocab_term *vocab_find(const struct vocab *v, const char *system,
                                    enum vocab_kind kind, const char *id);

/*
 * The term of system that has label (a preferred or alternative label)
 * in lang, or in any language when lang is NULL.  Labels compare case
 * folded and NFC, with white space trimmed and runs of it made one space;
 * a language matches its own tag or a tag it starts ("nl-be" finds "nl"
 * labels).  NULL when none has it.
 */
const struct vocab_term *vocab_find_label(const struct vocab *v,
                                          const char *system,
                                          enum vocab_kind kind,
                                          const char *lang, const char *label);

/*
 * The term a record's term {source, value} stands for: in the system of
 * source (vocab_system_for_source), or in default_system (the origin's,
 * or NULL) when source is unknown or "", value read as a term id and
 * then as a label in any language.  NULL for an unmapped term: it is
 * shown as is and filters only exactly.
 */
const struct vocab_term *vocab_resolve(const struct vocab *v,
                                       enum vocab_kind kind, const char *source,
                                       const char *value,
                                       const char *default_system);

/* The i-th term of kind in system, in file order; NULL past the end or
 * for an unknown system.  For listing a system's terms (facets, forms). */
const struct vocab_term *vocab_term_at(const struct vocab *v,
                                       const char *system, enum vocab_kind kind,
                                       size_t i);

const char *vocab_term_id(const struct vocab_term *t);
const char *vocab_term_system(const struct vocab_term *t);
enum vocab_kind vocab_term_kind(const struct vocab_term *t);

/*
 * The label of t in lang: the exact tag, then its language subtag
 * ("nl-be" gives "nl"), then English, then the first the file gives.
 * Never NULL.
 */
const char *vocab_term_label(const struct vocab_term *t, const char *lang);

/* The mappings of t through *out (owned by the vocab); returns their
 * count, at least 1.  A pivot term maps to itself, exactly. */
size_t vocab_term_mappings(const struct vocab_term *t,
                           const struct vocab_mapping **out);

/* The ISCED levels a level term maps to, as VOCAB_LEVEL_BIT bits; 0 for
 * a subject. */
unsigned vocab_term_levels(const struct vocab_term *t);

/* The ISCED level (0 to 8) of a pivot level code ("344" gives 3), or -1
 * when code is not one. */
int vocab_pivot_level(const char *code);

/* ---- translation and display ---- */

/* Called for each term found; a non-zero return stops the walk and is
 * returned. */
typedef int (*vocab_term_cb)(const struct vocab_term *t,
                             const struct vocab_mapping *m, void *arg);

/*
 * The terms of system that map to pivot or to a pivot on its branch
 * (levels: one code starts with the other, so "3" finds terms mapped to
 * "344" and "344" finds terms mapped to "3"; subjects: the same id, or
 * one is broader than the other), in file order, each once, with the
 * mapping that matched.  Returns 0, OER_ENOTFOUND (pivot or system
 * unknown) or what cb returned.
 */
int vocab_translate(const struct vocab *v, enum vocab_kind kind,
                    const char *pivot, const char *system, vocab_term_cb cb,
                    void *arg);

/*
 * The best equivalent of t in system, for display beside the origin's
 * own term: the term sharing the most specific pivot, then a label in
 * common, then the closest typical age, then the earliest in its file.
 * *match (may be NULL) gets how t's mapping relates to the pivot they
 * share.  NULL when no term of system shares a pivot level.
 */
const struct vocab_term *vocab_equivalent(enum vocab_match *match,
                                          const struct vocab *v,
                                          const struct vocab_term *t,
                                          const char *system);

/* ---- keys for the search index ---- */

/* Called for each key; a non-zero return stops and is returned. */
typedef int (*vocab_key_cb)(const char *key, void *arg);

/*
 * The facet keys a record term {source, value} is indexed under, each
 * once: "isced:N" for each ISCED level of a level term, "subject:ID" for
 * each pivot subject of a subject term and those broader than it; for an
 * unmapped term, one key "raw:" source "\x1f" value (U+001F cannot occur
 * in a valid record).  default_system as for vocab_resolve.  Returns 0,
 * OER_ENOMEM or what cb returned.
 */
int vocab_index_keys(const struct vocab *v, enum vocab_kind kind,
                     const char *source, const char *value,
                     const char *default_system, vocab_key_cb cb, void *arg);

/*
 * The keys a search filtered by the term {source, value} (a term of the
 * searcher's system) looks for: a record matches when one of its index
 * keys is one of these.  The same as vocab_index_keys, but subjects
 * without their broader pivots, so that a filter by physics does not
 * find every science.
 */
int vocab_filter_keys(const struct vocab *v, enum vocab_kind kind,
                      const char *source, const char *value,
                      const char *default_system, vocab_key_cb cb, void *arg);

/*
 * A display label for a key in lang: the pivot term's label for
 * "isced:" and "subject:" keys, the value for a "raw:" key (a pointer
 * into key).  NULL for a key none of these functions makes.
 */
const char *vocab_key_label(const struct vocab *v, const char *key,
                            const char *lang);

/* ---- imported LOM ---- */

/*
 * Candidate ISCED levels, as VOCAB_LEVEL_BIT bits, for an imported
 * LOMv1.0 educational context ("school", "higher education",
 * "training", "other"; NULL when absent) and typical age range ("10-12",
 * "16-", "7"; NULL when absent), by the age bands of
 * docs/VOCABULARIES.md.  When both say something, the levels both allow.
 * Returns 0, or OER_ENOTFOUND when neither yields a level or they
 * allow none in common.
 */
int vocab_age_levels(unsigned *out, const char *context, const char *age_range);

/*
 * The candidate ISCED levels of the record doc (vocab_age_levels of the
 * context of its level terms, a term of source LOMv1.0 or one with a
 * "lom" meaning, and of its "age_range") as keys "isced:N", the keys
 * vocab_index_keys gives, each passed to cb.  The index and the OAI sets
 * file a record none of whose level terms maps to an ISCED level under
 * these.  Returns 0 (also when there are none) or cb's non-zero return.
 */
int vocab_record_age_keys(const json_t *doc, vocab_key_cb cb, void *arg);

/* Parse a typical age range: "a-b", "a-" (open, *hi gets -1) or "a",
 * ages 0 to 150, white space around the parts allowed.  Returns 0 or
 * OER_EINVAL. */
int vocab_age_parse(int *lo, int *hi, const char *range);

/* "exact", "broader", "narrower", "close". */
const char *vocab_match_name(enum vocab_match m);

#endif
