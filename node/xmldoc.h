/*
 * xmldoc: parsing XML that comes from files, harvests and peers.  Strict
 * and safe (no network, no DTD, no entity loading; a DOCTYPE stops the
 * parse), with the repairs that real exports need (case B07): a BOM and
 * white space before the declaration are skipped, XML declarations
 * pasted inside the document are stripped, and in UTF-8 input an invalid
 * byte becomes U+FFFD.  Raw bytes always go to libxml2, which honours the
 * declaration and the BOM: text is never decoded here.
 */
#ifndef OERNODE_XMLDOC_H
#define OERNODE_XMLDOC_H

#include <stddef.h>

#include <libxml/tree.h>

/* The character an invalid UTF-8 byte becomes, as UTF-8. */
#define XMLDOC_REPLACEMENT "\xef\xbf\xbd"

/*
 * Parse buf strictly (options are added to the safe ones, such as
 * XML_PARSE_RECOVER; encoding may be NULL, else it overrides the
 * declaration).  name is for messages.  Returns 0 and *out (the caller's:
 * xmlFreeDoc), OER_EINVAL with the line and reason in why (of cap bytes;
 * "a DOCTYPE is not allowed" for a DOCTYPE), or OER_ENOMEM.
 */
int xmldoc_parse(xmlDoc **out, const char *buf, size_t len, const char *name,
                 const char *encoding, int options, char *why, size_t cap);

/*
 * Parse buf as xmldoc_parse does; when that fails for anything but a
 * DOCTYPE, repair what can be repaired (each repair logged at warn with
 * name) and parse the result strictly once more.  encoding is as for
 * xmldoc_parse (a "UTF-8" override makes invalid bytes repairable even
 * when the declaration names another encoding).  *repaired is set when
 * invalid UTF-8 was replaced, so that the records holding U+FFFD can be
 * flagged.  Returns as xmldoc_parse, why saying what was wrong.
 */
int xmldoc_load(xmlDoc **out, int *repaired, const char *buf, size_t len,
                const char *name, const char *encoding, char *why, size_t cap);

#endif
