/*
 * account: the API accounts of a node, in DATA/accounts.sqlite.  An
 * account is a name, a role and the SHA-256 of its bearer token; the
 * token itself (32 random bytes, shown once) is never stored.  An
 * account idle longer than the configured period is deleted; what it
 * published stays in the catalogue.
 */
#ifndef OERNODE_ACCOUNT_H
#define OERNODE_ACCOUNT_H

#include <stddef.h>

/* Roles, each allowed what the ones below it are. */
enum account_role {
    ACCOUNT_CONTRIBUTOR = 1, /* submits resources, reads its submissions */
    ACCOUNT_MODERATOR = 2,   /* and edits, publishes, rejects them */
    ACCOUNT_ADMIN = 3        /* and everything else */
};

#define ACCOUNT_TOKEN_PREFIX "oer_"
#define ACCOUNT_TOKEN_LEN 68 /* "oer_" and 64 hex digits */
#define ACCOUNT_HASH_HEX 65  /* 64 hex digits and a NUL */
#define ACCOUNT_NAME_MAX 64

struct account_db;

/* One account as listed; no secret in it. */
struct account {
    char name[ACCOUNT_NAME_MAX + 1];
    enum account_role role;
    long long created;     /* seconds since the epoch */
    long long last_active; /* last authenticated request, or created */
};

/* Parse "contributor", "moderator" or "admin"; 0 or OER_EINVAL. */
int account_role_parse(enum account_role *out, const char *name);

/* The role's name; a static string, never NULL. */
const char *account_role_name(enum account_role role);

/* Whether name is 1 to 64 characters of [A-Za-z0-9._@-]: 1 or 0. */
int account_valid_name(const char *name);

/* The hex SHA-256 of token, as stored.  0 or OER_ECRYPTO. */
int account_token_hash(char out[ACCOUNT_HASH_HEX], const char *token);

/*
 * Open (creating it and its table when new) the account database at
 * path.  *out is the caller's (account_close).  OER_EIO (logged).
 */
int account_open(struct account_db **out, const char *path);

/* Accepts NULL. */
void account_close(struct account_db *db);

/*
 * Create the account name with role at time now and write its new token
 * (ACCOUNT_TOKEN_LEN characters and a NUL) to token, which the caller
 * shows once and wipes.  OER_EINVAL for a bad name, OER_EEXISTS when the
 * name is taken, OER_EIO.
 */
int account_create(char token[ACCOUNT_TOKEN_LEN + 1], struct account_db *db,
                   const char *name, enum account_role role, long long now);

/*
 * The account whose token is token, into *out, and note now as its last
 * activity.  OER_ENOTFOUND when no account has that token (never was, or
 * revoked), OER_ETIMEOUT when the account has been idle more than
 * max_idle seconds (it is deleted then), OER_EIO.
 */
int account_authenticate(struct account *out, struct account_db *db,
                         const char *token, long long now, long long max_idle);

/* Delete the account name (revoking its token); OER_ENOTFOUND, OER_EIO. */
int account_revoke(struct account_db *db, const char *name);

/* Called for each account, in name order; a non-zero return stops the
 * walk and is returned.  a is borrowed for the call. */
typedef int (*account_cb)(const struct account *a, void *arg);

int account_foreach(struct account_db *db, account_cb cb, void *arg);

/* Delete every account idle more than max_idle seconds at now; *removed
 * (may be NULL) says how many.  0 or OER_EIO. */
int account_expire(size_t *removed, struct account_db *db, long long now,
                   long long max_idle);

#endif
