/*
 * policy: what this node offers each peer and takes from it, by the
 * configuration's [policy] section and each [peer "ID"] override, and
 * the level and subject filters on the records of other origins.
 * docs/SYNC.md ("Policy") says what each setting changes.
 *
 * A struct policy is read-only once made: worker threads may share it.
 */
#ifndef OERNODE_POLICY_H
#define OERNODE_POLICY_H

#include <jansson.h>

#include "config/config.h"

struct policy;

/*
 * The policy of c (borrowed; it must outlive the policy).  When a level
 * or subject filter is set anywhere, the vocabularies of vocab_dir are
 * loaded to match record terms through their pivots; without them
 * (vocab_dir NULL or unreadable: logged) a filter matches only terms
 * whose value is the filter's value.  Returns 0 with *out the caller's,
 * or OER_ENOMEM.
 */
int policy_new(struct policy **out, const struct config *c,
               const char *vocab_dir);

/* Accepts NULL. */
void policy_free(struct policy *p);

/*
 * 1 when origin's catalogue is offered to peer: origin must be in the
 * peer's offer list (peer.ID.offer, else policy.offer; "none" lists
 * nothing), and be this node's own origin, the peer's own (given back,
 * for a peer restored from a backup), or relay be on (peer.ID.relay,
 * else policy.relay).  Else 0.
 */
int policy_offers(const struct policy *p, const char *peer,
                  const char *origin);

/* policy_offers from a configuration alone (any thread may call it). */
int policy_config_offers(const struct config *c, const char *peer,
                         const char *origin);

/* 1 when origin's catalogue is taken from peer: always this node's own
 * (only a history that descends from the local head can arrive: a
 * restore from a backup); else origin is in peer.ID.accept, else
 * policy.accept.  Else 0. */
int policy_accepts(const struct policy *p, const char *peer,
                   const char *origin);

/* 1 when peer.ID.introduce-keys is on: the keys of origins this peer
 * offers with their catalogues are taken when none is known here. */
int policy_introduces(const struct policy *p, const char *peer);

/*
 * 1 when the record doc (borrowed) of origin passes the level and subject
 * filters that apply to peer (peer.ID.level / subject, else
 * policy.level / subject): a filter that is set needs one term of the
 * record of that kind to match one of its values (a level by its ISCED
 * level, 0 to 8; a subject by its pivot subject or a broader one, or by
 * its value).  This node's own records always pass.  Else 0.
 */
int policy_record_passes(const struct policy *p, const char *peer,
                         const char *origin, const json_t *doc);

#endif
