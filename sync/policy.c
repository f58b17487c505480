/*
 * policy: the node-wide [policy] with each peer's overrides, and the
 * level and subject filters matched through the vocabularies' pivots.
 */
#include "sync/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "federation/vocab.h"
#include "node/error.h"
#include "node/log.h"

#define MOD "policy"

struct policy {
    const struct config *c;
    struct vocab *vocab; /* NULL without filters or vocabularies */
};

static int filtered(const struct config *c)
{
    if (c->policy.levels.count > 0 || c->policy.subjects.count > 0)
        return 1;
    for (size_t i = 0; i < c->peer_count; i++) {
        if (c->peers[i].levels.count > 0 || c->peers[i].subjects.count > 0)
            return 1;
    }
    return 0;
}

int policy_new(struct policy **out, const struct config *c,
               const char *vocab_dir)
{
    struct policy *p = calloc(1, sizeof(*p));
    int err;

    *out = NULL;
    if (p == NULL)
        return OER_ENOMEM;
    p->c = c;
    if (filtered(c) && vocab_dir != NULL) {
        err = vocab_load(&p->vocab, vocab_dir);
        if (err == OER_ENOMEM) {
            free(p);
            return err;
        }
        if (err != 0)
            log_warn(MOD, "vocabularies unusable: filters match plain values",
                     "path", vocab_dir, "err", error_name(err), NULL);
    }
    *out = p;
    return 0;
}

void policy_free(struct policy *p)
{
    if (p == NULL)
        return;
    vocab_free(p->vocab);
    free(p);
}

/* "*" lists every origin, "none" none. */
static int listed(const struct config_origins *list, const char *origin)
{
    for (size_t i = 0; i < list->count; i++) {
        if (strcmp(list->names[i], "*") == 0 ||
            strcmp(list->names[i], origin) == 0)
            return 1;
    }
    return 0;
}

/* The peer's list when it sets one, else the node's. */
static const struct config_origins *
either(const struct config_origins *peer, const struct config_origins *node)
{
    return peer != NULL && peer->count > 0 ? peer : node;
}

int policy_config_offers(const struct config *c, const char *peer,
                         const char *origin)
{
    const struct config_peer *cp = config_peer_find(c, peer);
    int relay = c->policy.relay;

    if (!listed(either(cp ? &cp->offer : NULL, &c->policy.offer), origin))
        return 0;
    if (cp != NULL && cp->relay >= 0)
        relay = cp->relay;
    /* The peer's own catalogue goes back to it: a node restored from an
     * older backup takes its newer history from its peers. */
    return strcmp(origin, c->node_id) == 0 || strcmp(origin, peer) == 0 ||
           relay;
}

int policy_offers(const struct policy *p, const char *peer, const char *origin)
{
    return policy_config_offers(p->c, peer, origin);
}

int policy_accepts(const struct policy *p, const char *peer,
                   const char *origin)
{
    const struct config *c = p->c;
    const struct config_peer *cp = config_peer_find(c, peer);

    /* This node's own history, newer than its store (restored from a
     * backup): the sender packs only descendants of the local head. */
    if (strcmp(origin, c->node_id) == 0)
        return 1;
    return listed(either(cp ? &cp->accept : NULL, &c->policy.accept), origin);
}

int policy_introduces(const struct policy *p, const char *peer)
{
    const struct config_peer *cp = config_peer_find(p->c, peer);

    return cp != NULL && cp->introduce_keys;
}

/* One term against one filter, through the vocabularies when loaded. */
struct match {
    const struct config_origins *values;
    enum vocab_kind kind;
    int found;
};

static int on_key(const char *key, void *arg)
{
    struct match *m = arg;
    const char *id = strchr(key, ':');

    if (id == NULL)
        return 0;
    id++;
    for (size_t i = 0; i < m->values->count && !m->found; i++) {
        const char *want = m->values->names[i];

        if (m->kind == VOCAB_LEVEL && strncmp(key, "isced:", 6) == 0)
            m->found = vocab_pivot_level(want) == vocab_pivot_level(id);
        else if (m->kind == VOCAB_SUBJECT && strncmp(key, "subject:", 8) == 0)
            m->found = strcmp(want, id) == 0;
    }
    return m->found;
}

static int term_matches(const struct policy *p, struct match *m,
                        const char *origin, const json_t *term)
{
    const char *value = json_string_value(json_object_get(term, "value"));
    const char *source = json_string_value(json_object_get(term, "source"));
    const char *system;

    if (value == NULL)
        return 0;
    for (size_t i = 0; i < m->values->count; i++) {
        if (strcmp(m->values->names[i], value) == 0)
            return 1;
    }
    if (p->vocab == NULL)
        return 0;
    system = vocab_system_label(p->vocab, origin, NULL) ? origin : NULL;
    m->found = 0;
    vocab_index_keys(p->vocab, m->kind, source ? source : "", value, system,
                     on_key, m);
    return m->found;
}

/* Whether one term of doc's field passes values; an empty list passes. */
static int passes(const struct policy *p, const struct config_origins *values,
                  enum vocab_kind kind, const char *origin, const json_t *doc)
{
    struct match m = {.values = values, .kind = kind};
    const json_t *terms, *term;
    size_t i;

    if (values->count == 0)
        return 1;
    terms = json_object_get(doc, kind == VOCAB_LEVEL ? "levels" : "subjects");
    json_array_foreach(terms, i, term)
    {
        if (term_matches(p, &m, origin, term))
            return 1;
    }
    return 0;
}

int policy_record_passes(const struct policy *p, const char *peer,
                         const char *origin, const json_t *doc)
{
    const struct config *c = p->c;
    const struct config_peer *cp = config_peer_find(c, peer);

    if (strcmp(origin, c->node_id) == 0)
        return 1;
    return passes(p, either(cp ? &cp->levels : NULL, &c->policy.levels),
                  VOCAB_LEVEL, origin, doc) &&
           passes(p, either(cp ? &cp->subjects : NULL, &c->policy.subjects),
                  VOCAB_SUBJECT, origin, doc);
}
