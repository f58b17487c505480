/*
 * licence: reads the licence statements found in catalogues (Creative
 * Commons URLs and names, NL-LOM copyright codes, SPDX ids, Dutch and
 * Flemish names) into one canonical id, and decides which declared use of
 * a peer an id allows file content to go to.  Reading is exact and
 * table-driven: what is not recognised exactly is LicenseRef-unknown.
 * No state but constant tables; safe to call from any thread.
 */
#ifndef OERNODE_LICENCE_H
#define OERNODE_LICENCE_H

#include <stddef.h>

#define LICENCE_UNKNOWN "LicenseRef-unknown"
#define LICENCE_ALL_RIGHTS_RESERVED "LicenseRef-all-rights-reserved"
#define LICENCE_PDM "LicenseRef-PDM-1.0"

/* How a statement was read: the document's licence_flags. */
enum {
    LICENCE_NONCANONICAL = 1 << 0, /* a URL path CC does not publish */
    LICENCE_NO_VERSION = 1 << 1,   /* a CC tool named without a version */
    LICENCE_MIXED = 1 << 2,        /* several licences; strictest governs */
    LICENCE_ALIAS = 1 << 3,        /* read through the Dutch/Flemish table */
    LICENCE_PROSE = 1 << 4         /* found inside free text */
};

/* What the terms of an id are (licence_terms). */
enum {
    LICENCE_TERM_BY = 1 << 0,      /* attribution */
    LICENCE_TERM_NC = 1 << 1,      /* no commercial use */
    LICENCE_TERM_ND = 1 << 2,      /* no adaptations */
    LICENCE_TERM_SA = 1 << 3,      /* adaptations under the same licence */
    LICENCE_TERM_RESERVED = 1 << 4 /* no permission known: never shared */
};

struct licence {
    char id[64];     /* canonical id; LICENCE_UNKNOWN when nothing matched */
    char family[32]; /* "CC BY-NC-SA", "CC0", "Public Domain Mark", or ""
                      * when no CC tool was read; set also when the
                      * version is unknown, so a user sees what was meant */
    unsigned flags;  /* LICENCE_NONCANONICAL, ... */
};

/*
 * Read the licence statement text (a URL, a name, a code, or free text
 * holding them) into *out.  out is always filled: LICENCE_UNKNOWN when
 * nothing was recognised exactly.  Several different licences in one text
 * give the most restrictive of them with LICENCE_MIXED (LICENCE_UNKNOWN
 * when none of them is at least as restrictive as all the others).
 * Returns 0, OER_EINVAL when out or text is NULL (out, when not NULL, is
 * then unknown), or OER_ENOMEM (out is unknown).
 */
int licence_normalise(struct licence *out, const char *text);

/*
 * The names of the bits of flags, in a fixed order ("noncanonical-path",
 * "no-version", "mixed", "alias", "prose"): at most cap of them go to
 * names (static strings).  Returns how many bits are set, which may be
 * more than cap.
 */
size_t licence_flag_names(const char **names, size_t cap, unsigned flags);

/* Whether id is exactly an id licence_normalise produces. */
int licence_is_canonical(const char *id);

/*
 * The one canonical URL of id (https, no www, trailing slash for Creative
 * Commons; the spdx.org page for GNU FDL ids), a static string, or NULL
 * for ids with no URL (LICENCE_UNKNOWN, LICENCE_ALL_RIGHTS_RESERVED) and
 * for anything that is not a canonical id.
 */
const char *licence_url(const char *id);

/* The index-th canonical id (static), or NULL past the last one: every id
 * licence_normalise can produce, for listings and tests. */
const char *licence_id(size_t index);

/* The LICENCE_TERM_* bits of id; LICENCE_TERM_RESERVED for unknown, all
 * rights reserved, and anything that is not a canonical id. */
unsigned licence_terms(const char *id);

/*
 * The licence gate of file sharing: 1 when content under id may go to a
 * node declaring that use (commercial_use: it uses content commercially;
 * adapts: it makes adaptations), else 0.  NC never goes to a commercial
 * user, ND never to one that adapts, reserved and unknown ids never;
 * CC0 and the Public Domain Mark always.
 */
int licence_allows(const char *id, int commercial_use, int adapts);

#endif
