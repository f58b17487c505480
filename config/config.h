/*
 * config: the node's configuration, a file in git-config syntax read with
 * libgit2, checked key by key, with a default for everything but node.id.
 * docs/CLI.md lists the keys.
 *
 *   [node]
 *       id = be-vl
 *   [peer "nl-edurep"]
 *       address = edurep.example.org:7440
 *       fingerprint = SHA256:...
 */
#ifndef OERNODE_CONFIG_H
#define OERNODE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "node/log.h"

#define CONFIG_PEER_PORT "127.0.0.1:7440"
#define CONFIG_HTTP_PORT "127.0.0.1:8080"
/* node.admin-email until one is set: says so, and delivers nowhere */
#define CONFIG_ADMIN_EMAIL "admin-email-not-configured@example.invalid"
#define CONFIG_OAI_PAGE 100 /* oai.page-size: records an OAI-PMH page */
#define CONFIG_OAI_PAGE_MAX 1000
/* accounts.expire-days: an API account idle this long is deleted */
#define CONFIG_EXPIRE_DAYS 365
#define CONFIG_EXPIRE_DAYS_MAX 36500
/* search.peer-rate: federated searches a second asked of one peer, and
 * answered for one */
#define CONFIG_PEER_RATE 50
#define CONFIG_PEER_RATE_MAX 10000

/* A list of names: node ids, "*" for any origin or "none" (alone) for
 * no origin; also the values of the level and subject filters. */
struct config_origins {
    char **names;
    size_t count;
};

/*
 * A peer: [peer "NAME"] with its address and key fingerprint, and what
 * overrides the node's policy for that peer (docs/CLI.md).  An empty list
 * or a relay of -1 means the node's own setting.
 */
struct config_peer {
    char *name;        /* the peer's node id */
    char *address;     /* host:port or [v6]:port */
    char *fingerprint; /* "SHA256:" + 43 base64 characters */
    struct config_origins accept;   /* peer.NAME.accept */
    struct config_origins offer;    /* peer.NAME.offer */
    struct config_origins levels;   /* peer.NAME.level */
    struct config_origins subjects; /* peer.NAME.subject */
    int relay;          /* peer.NAME.relay: 1, 0, or -1 for policy.relay */
    int introduce_keys; /* peer.NAME.introduce-keys: 1 or 0 (default) */
};

/* An origin's public key from [origin "ID"] key = ssh-ed25519 AAAA... */
struct config_origin_key {
    char *origin;
    char *key; /* the line as written, checked to be an Ed25519 key */
};

/* What this node shares and accepts, and the use it declares. */
struct config_policy {
    struct config_origins accept; /* taken from peers; default "*" */
    struct config_origins offer;  /* offered to peers; default "*" */
    /* policy.level: ISCED 2011 codes ("2", "344"); policy.subject: ids of
     * the shared subject list; empty: no filter */
    struct config_origins levels;
    struct config_origins subjects;
    int relay;      /* offer catalogues of other origins: 1 or 0 */
    int commercial; /* declared use: commercial */
    int adapts;     /* declared use: adapts content */
};

struct config {
    char *path; /* the file read */
    char *node_id;
    char *data_dir;    /* node.data, by default the folder of the file */
    char *listen_peer; /* listen.peer, default CONFIG_PEER_PORT */
    char *listen_http; /* listen.http, default CONFIG_HTTP_PORT */
    char *admin_email; /* node.admin-email, default CONFIG_ADMIN_EMAIL */
    char *web_root;    /* web.root, the search page's folder, or NULL */
    char *vocab_root;  /* vocab.root, the vocabularies' folder, or NULL */
    /* oai.page-size, 1 to CONFIG_OAI_PAGE_MAX, default CONFIG_OAI_PAGE */
    unsigned oai_page_size;
    /* oai.base-url, an absolute http or https URL, or NULL: from each
     * request's Host header */
    char *oai_base_url;
    /* accounts.expire-days, 1 to CONFIG_EXPIRE_DAYS_MAX */
    unsigned accounts_expire_days;
    /* search.peer-rate, 1 to CONFIG_PEER_RATE_MAX */
    unsigned search_peer_rate;
    enum log_level log_level;
    struct config_peer *peers;
    size_t peer_count;
    struct config_origin_key *origin_keys; /* [origin "ID"] key */
    size_t origin_key_count;
    struct config_policy policy;
};

/* What is wrong with a configuration: the file, the key and why. */
struct config_error {
    char file[512];
    char key[160];    /* "peer.nl-edurep.fingerprint"; "" for the file */
    char detail[256]; /* lower case, no full stop */
};

/*
 * Read and check the file at path.  *out is the caller's (config_free).
 * Returns 0; OER_ENOTFOUND when there is no such file; OER_EINVAL for a
 * syntax error, an unknown key, a bad value or a missing node.id, with
 * err filled (err may be NULL).  Nothing is logged: the caller reports.
 */
int config_load(struct config **out, const char *path,
                struct config_error *err);

/* Accepts NULL. */
void config_free(struct config *c);

/* The effective configuration, defaults included, in git-config syntax. */
void config_print(FILE *f, const struct config *c);

/*
 * Split an address "host:port" or "[v6]:port"; host is an IPv4 or IPv6
 * address or a DNS name, port 0 to 65535 (0: any free port, for listen
 * addresses only).  host of cap bytes (the
 * brackets are dropped).  Returns 0 or OER_EINVAL.
 */
int config_address_parse(char *host, size_t cap, unsigned *port,
                         const char *address);

/* Whether text is a key fingerprint as ssh-keygen -l prints it. */
int config_fingerprint_valid(const char *text);

/*
 * Write a new configuration for node_id at path, refusing to replace one
 * (OER_EEXISTS).  The file is written whole or not at all.
 */
int config_write_new(const char *path, const char *node_id);

/*
 * Set peer.<name>.address and peer.<name>.fingerprint in the file at
 * path with libgit2.  Each key is written on its own (under git's lock
 * file), so the file is not changed in one step: to change a live
 * configuration, edit a copy, config_load it, then move it in.  Values
 * are not checked here; config_load checks them.  Returns 0 or OER_EIO
 * (logged).
 */
int config_peer_set(const char *path, const struct config_peer *peer);

/* The key line of [origin "origin"] key, or NULL when none is set. */
const char *config_origin_key(const struct config *c, const char *origin);

/* The peer named id, or NULL. */
const struct config_peer *config_peer_find(const struct config *c,
                                           const char *id);

/*
 * Remove every peer.<name>.* key of the file at path with libgit2, like
 * config_peer_set one key at a time; the empty [peer "NAME"] header
 * stays, as with git config --unset.  Returns 0, OER_ENOTFOUND when the
 * file has no such key, or OER_EIO (logged).
 */
int config_peer_unset(const char *path, const char *name);

#endif
