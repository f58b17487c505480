/*
 * account: API accounts in SQLite, tokens hashed with OpenSSL's SHA-256.
 */
#include "node/account.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "node/error.h"
#include "node/log.h"

struct account_db {
    sqlite3 *db;
};

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS accounts("
    " name TEXT PRIMARY KEY, role INTEGER NOT NULL,"
    " hash TEXT NOT NULL UNIQUE, created INTEGER NOT NULL,"
    " last_active INTEGER NOT NULL);";

static const char *const role_names[] = {"", "contributor", "moderator",
                                         "admin"};

int account_role_parse(enum account_role *out, const char *name)
{
    for (int r = ACCOUNT_CONTRIBUTOR; r <= ACCOUNT_ADMIN; r++) {
        if (strcmp(name, role_names[r]) == 0) {
            *out = (enum account_role)r;
            return 0;
        }
    }
    return OER_EINVAL;
}

const char *account_role_name(enum account_role role)
{
    if (role < ACCOUNT_CONTRIBUTOR || role > ACCOUNT_ADMIN)
        return "none";
    return role_names[role];
}

int account_valid_name(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;

    if (n == 0 || n > ACCOUNT_NAME_MAX)
        return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789._@-") == n;
}

static void hex(char *out, const unsigned char *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

int account_token_hash(char out[ACCOUNT_HASH_HEX], const char *token)
{
    unsigned char md[32];
    unsigned int len = 0;

    if (EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL) != 1 ||
        len != sizeof(md)) {
        log_error("account", "sha-256 failed", NULL);
        return OER_ECRYPTO;
    }
    hex(out, md, sizeof(md));
    return 0;
}

static int db_fail(sqlite3 *db, const char *what)
{
    log_error("account", what, "err", sqlite3_errmsg(db), NULL);
    return OER_EIO;
}

int account_open(struct account_db **out, const char *path)
{
    struct account_db *a = calloc(1, sizeof(*a));
    int err = 0;

    *out = NULL;
    if (a == NULL)
        return OER_ENOMEM;
    if (sqlite3_open_v2(path, &a->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        log_error("account", "cannot open the account database", "path", path,
                  "err", a->db ? sqlite3_errmsg(a->db) : NULL, NULL);
        err = OER_EIO;
        goto out;
    }
    sqlite3_busy_timeout(a->db, 5000);
    if (sqlite3_exec(a->db, schema, NULL, NULL, NULL) != SQLITE_OK)
        err = db_fail(a->db, "cannot create the account table");
out:
    if (err != 0) {
        account_close(a);
        return err;
    }
    *out = a;
    return 0;
}

void account_close(struct account_db *db)
{
    if (db == NULL)
        return;
    sqlite3_close(db->db);
    free(db);
}

static int run(sqlite3_stmt *st, sqlite3 *db)
{
    int rc = sqlite3_step(st);

    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return OER_EEXISTS;
    if (rc != SQLITE_DONE)
        return db_fail(db, "account statement failed");
    return sqlite3_changes(db);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_fail(db, "cannot prepare an account statement");
        return NULL;
    }
    return st;
}

static int new_token(char token[ACCOUNT_TOKEN_LEN + 1])
{
    unsigned char raw[32];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        log_error("account", "no randomness for a token", NULL);
        return OER_ECRYPTO;
    }
    memcpy(token, ACCOUNT_TOKEN_PREFIX, 4);
    hex(token + 4, raw, sizeof(raw));
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

int account_create(char token[ACCOUNT_TOKEN_LEN + 1], struct account_db *db,
                   const char *name, enum account_role role, long long now)
{
    char hash[ACCOUNT_HASH_HEX];
    sqlite3_stmt *st;
    int err;

    if (!account_valid_name(name) || role < ACCOUNT_CONTRIBUTOR ||
        role > ACCOUNT_ADMIN)
        return OER_EINVAL;
    err = new_token(token);
    if (err == 0)
        err = account_token_hash(hash, token);
    if (err != 0)
        goto out;
    st = prepare(db->db, "INSERT INTO accounts(name, role, hash, created,"
                         " last_active) VALUES (?1, ?2, ?3, ?4, ?4)");
    if (st == NULL) {
        err = OER_EIO;
        goto out;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, (int)role);
    sqlite3_bind_text(st, 3, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now);
    err = run(st, db->db);
    err = err < 0 ? err : 0;
out:
    if (err != 0)
        OPENSSL_cleanse(token, ACCOUNT_TOKEN_LEN + 1);
    return err;
}

static void read_row(struct account *out, sqlite3_stmt *st)
{
    const unsigned char *name = sqlite3_column_text(st, 0);

    snprintf(out->name, sizeof(out->name), "%s",
             name != NULL ? (const char *)name : "");
    out->role = (enum account_role)sqlite3_column_int(st, 1);
    out->created = sqlite3_column_int64(st, 2);
    out->last_active = sqlite3_column_int64(st, 3);
}

/* The account of hash into *out: 0, OER_ENOTFOUND or OER_EIO. */
static int find(struct account *out, struct account_db *db, const char *hash)
{
    sqlite3_stmt *st = prepare(db->db, "SELECT name, role, created,"
                                       " last_active FROM accounts"
                                       " WHERE hash = ?1");
    int rc, err = 0;

    if (st == NULL)
        return OER_EIO;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_row(out, st);
    else if (rc == SQLITE_DONE)
        err = OER_ENOTFOUND;
    else
        err = db_fail(db->db, "cannot read an account");
    sqlite3_finalize(st);
    return err;
}

int account_authenticate(struct account *out, struct account_db *db,
                         const char *token, long long now, long long max_idle)
{
    char hash[ACCOUNT_HASH_HEX];
    sqlite3_stmt *st;
    int err;

    if (strlen(token) != ACCOUNT_TOKEN_LEN)
        return OER_ENOTFOUND;
    err = account_token_hash(hash, token);
    if (err == 0)
        err = find(out, db, hash);
    if (err != 0)
        return err;
    if (now - out->last_active > max_idle) {
        account_revoke(db, out->name);
        return OER_ETIMEOUT;
    }
    st = prepare(db->db, "UPDATE accounts SET last_active = ?1"
                         " WHERE hash = ?2");
    if (st == NULL)
        return OER_EIO;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT);
    err = run(st, db->db);
    if (err < 0)
        return err;
    out->last_active = now;
    return 0;
}

int account_revoke(struct account_db *db, const char *name)
{
    sqlite3_stmt *st = prepare(db->db, "DELETE FROM accounts WHERE name = ?1");
    int n;

    if (st == NULL)
        return OER_EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    n = run(st, db->db);
    if (n < 0)
        return n;
    return n == 0 ? OER_ENOTFOUND : 0;
}

int account_foreach(struct account_db *db, account_cb cb, void *arg)
{
    sqlite3_stmt *st = prepare(db->db, "SELECT name, role, created,"
                                       " last_active FROM accounts"
                                       " ORDER BY name");
    struct account a;
    int rc, err = 0;

    if (st == NULL)
        return OER_EIO;
    while (err == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_row(&a, st);
        err = cb(&a, arg);
    }
    if (err == 0 && rc != SQLITE_DONE)
        err = db_fail(db->db, "cannot list the accounts");
    sqlite3_finalize(st);
    return err;
}

int account_expire(size_t *removed, struct account_db *db, long long now,
                   long long max_idle)
{
    sqlite3_stmt *st = prepare(db->db, "DELETE FROM accounts"
                                       " WHERE ?1 - last_active > ?2");
    char count[24];
    int n;

    if (removed != NULL)
        *removed = 0;
    if (st == NULL)
        return OER_EIO;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, max_idle);
    n = run(st, db->db);
    if (n < 0)
        return n;
    if (n > 0)
        log_info("account", "idle accounts deleted", "count", log_num(count, n),
                 NULL);
    if (removed != NULL)
        *removed = (size_t)n;
    return 0;
}
