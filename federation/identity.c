/*
 * identity: the node's Ed25519 key in a PEM PKCS#8 file, its OpenSSH
 * public form and fingerprint, and the SSH signature format (OpenSSH
 * PROTOCOL.sshsig) that git verifies with gpg.format=ssh.  The wire
 * encoding is ours; base64, SHA-2 and Ed25519 are OpenSSL's.
 */
#include "federation/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "node/error.h"
#include "node/invariant.h"
#include "node/log.h"
#include "node/wholefile.h"

#define KEY_TYPE "ssh-ed25519"
#define KEY_TYPE_LEN 11
#define SIG_MAGIC "SSHSIG"
#define SIG_MAGIC_LEN 6
#define SIG_VERSION 1
#define SIG_NAMESPACE "git"
#define SIG_LEN 64
#define ARMOR_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define ARMOR_END "-----END SSH SIGNATURE-----"
#define ARMOR_WIDTH 70
/* Far above any Ed25519 signature or key file; refuses absurd input. */
#define ARMOR_MAX 16384
#define KEY_FILE_MAX 16384
/* string "ssh-ed25519" + string key */
#define PUB_BLOB_LEN (4 + KEY_TYPE_LEN + 4 + 32)

struct identity {
    EVP_PKEY *pkey;
    struct identity_pub pub;
};

/* A bounded writer of SSH wire data; overflow is a bug of this file. */
struct wire {
    unsigned char *p;
    size_t len;
    size_t cap;
};

/* A reader over untrusted SSH wire data. */
struct reader {
    const unsigned char *p;
    size_t left;
};

static void openssl_log(const char *msg, const char *what)
{
    char reason[256];
    unsigned long e = ERR_get_error();

    ERR_error_string_n(e, reason, sizeof(reason));
    log_warn("identity", msg, "what", what, "openssl", e ? reason : "", NULL);
    ERR_clear_error();
}

/* ---- SSH wire encoding ---- */

static void wire_raw(struct wire *w, const void *data, size_t len)
{
    /* Every buffer here is sized for its content. */
    INVARIANT(len <= w->cap - w->len);
    memcpy(w->p + w->len, data, len);
    w->len += len;
}

static void wire_u32(struct wire *w, uint32_t v)
{
    unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};

    wire_raw(w, b, 4);
}

static void wire_string(struct wire *w, const void *data, size_t len)
{
    wire_u32(w, (uint32_t)len);
    wire_raw(w, data, len);
}

static void wire_cstring(struct wire *w, const char *s)
{
    wire_string(w, s, strlen(s));
}

static int read_u32(struct reader *r, uint32_t *out)
{
    if (r->left < 4)
        return OER_EINVAL;
    *out = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
           (uint32_t)r->p[2] << 8 | r->p[3];
    r->p += 4;
    r->left -= 4;
    return 0;
}

static int read_string(struct reader *r, const unsigned char **out, size_t *len)
{
    uint32_t n;

    if (read_u32(r, &n) < 0 || n > r->left)
        return OER_EINVAL;
    *out = r->p;
    *len = n;
    r->p += n;
    r->left -= n;
    return 0;
}

/* Read a string and require it to equal s. */
static int read_expect(struct reader *r, const char *s)
{
    const unsigned char *v;
    size_t len;

    if (read_string(r, &v, &len) < 0 || len != strlen(s) ||
        memcmp(v, s, len) != 0)
        return OER_EINVAL;
    return 0;
}

/* string "ssh-ed25519" + string of n bytes, and nothing after them. */
static int read_typed(const unsigned char *blob, size_t len, unsigned char *out,
                      size_t n)
{
    struct reader r = {blob, len};
    const unsigned char *v;
    size_t vlen;

    if (read_expect(&r, KEY_TYPE) < 0 || read_string(&r, &v, &vlen) < 0 ||
        vlen != n || r.left != 0)
        return OER_EINVAL;
    memcpy(out, v, n);
    return 0;
}

static void pub_blob(unsigned char blob[PUB_BLOB_LEN],
                     const struct identity_pub *pub)
{
    struct wire w = {blob, 0, PUB_BLOB_LEN};

    wire_cstring(&w, KEY_TYPE);
    wire_string(&w, pub->key, sizeof(pub->key));
}

/* ---- base64 ---- */

static int b64_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Padded base64 of len bytes; *out is malloc'd and NUL-terminated. */
static int b64_encode(char **out, const unsigned char *data, size_t len)
{
    char *s = malloc((len + 2) / 3 * 4 + 1);

    if (s == NULL)
        return OER_ENOMEM;
    EVP_EncodeBlock((unsigned char *)s, data, (int)len);
    *out = s;
    return 0;
}

/*
 * Decode canonical padded base64 (what EVP_EncodeBlock writes, nothing
 * else: no white space, no bits set past the data).  *out is malloc'd.
 */
static int b64_decode(unsigned char **out, size_t *outlen, const char *in,
                      size_t len)
{
    unsigned char *buf = NULL;
    char *again = NULL;
    size_t pad = 0, n;
    int err = OER_EINVAL;

    if (len == 0 || len % 4 != 0 || len > ARMOR_MAX)
        return OER_EINVAL;
    while (pad < 2 && in[len - 1 - pad] == '=')
        pad++;
    for (size_t i = 0; i < len - pad; i++)
        if (!b64_char((unsigned char)in[i]))
            return OER_EINVAL;

    buf = malloc(len / 4 * 3);
    if (buf == NULL)
        return OER_ENOMEM;
    if (EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len) < 0)
        goto out;
    /* EVP_DecodeBlock counts padding as zero bytes. */
    n = len / 4 * 3 - pad;

    /* Canonical form: encoding the bytes again gives the same text. */
    err = b64_encode(&again, buf, n);
    if (err < 0)
        goto out;
    err = memcmp(again, in, len) == 0 ? 0 : OER_EINVAL;
out:
    free(again);
    if (err < 0) {
        free(buf);
        return err;
    }
    *out = buf;
    *outlen = n;
    return 0;
}

/* ---- the key file ---- */

/* Make the new directory entry durable. */
static void sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int fd;

    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/*
 * Write the key to a fresh temporary file (O_CREAT|O_EXCL, mode 0600),
 * fsync it, then link it at path: link never replaces an existing file,
 * and nobody ever sees a half-written key at path.
 */
static int write_key_file(const char *path, const char *pem, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof(".tmp-XXXXXX"));
    int fd = -1, err = OER_EIO;

    if (tmp == NULL)
        return OER_ENOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp-XXXXXX", sizeof(".tmp-XXXXXX"));
    fd = mkstemp(tmp);
    if (fd < 0) {
        log_warn("identity", "cannot create key file", "path", path, "error",
                 strerror(errno), NULL);
        goto out;
    }
    if (fchmod(fd, 0600) != 0 || wholefile_write_fd(fd, pem, len) != 0 ||
        fsync(fd) != 0) {
        log_warn("identity", "cannot write key file", "path", tmp, "error",
                 strerror(errno), NULL);
        goto out;
    }
    if (link(tmp, path) != 0) {
        err = errno == EEXIST ? OER_EEXISTS : OER_EIO;
        log_warn("identity",
                 err == OER_EEXISTS ? "key file exists, not overwritten"
                                    : "cannot create key file",
                 "path", path, "error", strerror(errno), NULL);
        goto out;
    }
    sync_parent(path);
    err = 0;
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    free(tmp);
    return err;
}

/* Take pkey into a new identity; pkey is freed on failure. */
static int identity_wrap(struct identity **out, EVP_PKEY *pkey)
{
    struct identity *id = calloc(1, sizeof(*id));
    size_t n = sizeof(id->pub.key);

    if (id == NULL) {
        EVP_PKEY_free(pkey);
        return OER_ENOMEM;
    }
    id->pkey = pkey;
    if (EVP_PKEY_get_raw_public_key(pkey, id->pub.key, &n) != 1 || n != 32) {
        openssl_log("cannot read public key", "ed25519");
        identity_free(id);
        return OER_ECRYPTO;
    }
    *out = id;
    return 0;
}

int identity_generate(struct identity **out, const char *path)
{
    EVP_PKEY *pkey = NULL;
    BIO *mem = NULL;
    char *pem = NULL;
    long len;
    int err = OER_ECRYPTO;

    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (pkey == NULL) {
        openssl_log("key generation failed", "ed25519");
        goto out;
    }

    mem = BIO_new(BIO_s_mem());
    if (mem == NULL ||
        PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        openssl_log("cannot encode key", path);
        goto out;
    }
    len = BIO_get_mem_data(mem, &pem);
    err = write_key_file(path, pem, (size_t)len);
    OPENSSL_cleanse(pem, (size_t)len);
    if (err < 0)
        goto out;

    err = identity_wrap(out, pkey);
    pkey = NULL;
    if (err == 0)
        log_info("identity", "node key created", "path", path, NULL);
out:
    BIO_free(mem);
    EVP_PKEY_free(pkey);
    return err;
}

/* An encrypted key would make OpenSSL prompt on the terminal; refuse. */
static int on_passphrase(char *buf, int size, int rwflag, void *arg)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)arg;
    return -1;
}

/* Read the whole key file, refusing one that others may read. */
static int read_key_file(char **out, size_t *len, const char *path)
{
    struct stat st;
    char *buf = NULL;
    ssize_t n = 0;
    int fd, err = OER_EIO;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = errno == ENOENT ? OER_ENOTFOUND : OER_EIO;
        log_warn("identity", "cannot open key file", "path", path, "error",
                 strerror(errno), NULL);
        return err;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = OER_EINVAL;
        log_warn("identity", "key path is not a regular file", "path", path,
                 NULL);
        goto out;
    }
    if ((st.st_mode & 077) != 0) {
        err = OER_ECRYPTO;
        log_warn("identity",
                 "key file is accessible by group or others, "
                 "refused (chmod 600 it)",
                 "path", path, NULL);
        goto out;
    }
    if (st.st_size > KEY_FILE_MAX) {
        err = OER_EINVAL;
        log_warn("identity", "key file too large", "path", path, NULL);
        goto out;
    }

    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        err = OER_ENOMEM;
        goto out;
    }
    do
        n = read(fd, buf, (size_t)st.st_size + 1);
    while (n < 0 && errno == EINTR);
    if (n < 0 || n > st.st_size) {
        log_warn("identity", "cannot read key file", "path", path, NULL);
        OPENSSL_cleanse(buf, (size_t)st.st_size + 1);
        free(buf);
        goto out;
    }
    *out = buf;
    *len = (size_t)n;
    err = 0;
out:
    close(fd);
    return err;
}

int identity_load(struct identity **out, const char *path)
{
    EVP_PKEY *pkey = NULL;
    BIO *mem = NULL;
    char *buf = NULL;
    size_t len = 0;
    int err;

    err = read_key_file(&buf, &len, path);
    if (err < 0)
        return err;

    err = OER_EINVAL;
    mem = BIO_new_mem_buf(buf, (int)len);
    if (mem != NULL)
        pkey = PEM_read_bio_PrivateKey(mem, NULL, on_passphrase, NULL);
    ERR_clear_error();
    if (pkey == NULL || !EVP_PKEY_is_a(pkey, "ED25519")) {
        log_warn("identity", "key file holds no Ed25519 private key", "path",
                 path, NULL);
        goto out;
    }

    err = identity_wrap(out, pkey);
    pkey = NULL;
out:
    BIO_free(mem);
    EVP_PKEY_free(pkey);
    OPENSSL_cleanse(buf, len);
    free(buf);
    return err;
}

void identity_free(struct identity *id)
{
    if (id == NULL)
        return;
    /* OpenSSL clears the Ed25519 private key when it frees it. */
    EVP_PKEY_free(id->pkey);
    OPENSSL_cleanse(id, sizeof(*id));
    free(id);
}

EVP_PKEY *identity_pkey(const struct identity *id)
{
    return id->pkey;
}

void identity_public(struct identity_pub *out, const struct identity *id)
{
    *out = id->pub;
}

/* ---- public key forms ---- */

void identity_fingerprint(char *buf, size_t cap, const struct identity_pub *pub)
{
    unsigned char blob[PUB_BLOB_LEN], md[32];
    unsigned char b64[45];
    size_t n;

    pub_blob(blob, pub);
    EVP_Digest(blob, sizeof(blob), md, NULL, EVP_sha256(), NULL);
    n = (size_t)EVP_EncodeBlock(b64, md, sizeof(md));
    while (n > 0 && b64[n - 1] == '=')
        b64[--n] = '\0';
    snprintf(buf, cap, "SHA256:%s", (char *)b64);
}

void identity_ssh_public(char *buf, size_t cap, const struct identity_pub *pub)
{
    unsigned char blob[PUB_BLOB_LEN];
    unsigned char b64[(PUB_BLOB_LEN + 2) / 3 * 4 + 1];

    pub_blob(blob, pub);
    EVP_EncodeBlock(b64, blob, sizeof(blob));
    snprintf(buf, cap, KEY_TYPE " %s", (char *)b64);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int identity_pub_parse(struct identity_pub *out, const char *text)
{
    unsigned char *blob = NULL;
    size_t len = 0, tok;
    int err;

    while (is_space(*text))
        text++;
    if (strncmp(text, KEY_TYPE, KEY_TYPE_LEN) == 0 &&
        is_space(text[KEY_TYPE_LEN])) {
        text += KEY_TYPE_LEN;
        while (*text == ' ' || *text == '\t')
            text++;
    }
    for (tok = 0; text[tok] != '\0' && !is_space(text[tok]); tok++)
        ;

    err = b64_decode(&blob, &len, text, tok);
    if (err == 0)
        err = read_typed(blob, len, out->key, sizeof(out->key));
    free(blob);
    if (err == OER_EINVAL)
        log_debug("identity", "not an ssh-ed25519 public key", NULL);
    return err;
}

/* ---- SSH signatures ---- */

/* A parsed signature blob; pointers go into the decoded blob. */
struct sshsig {
    struct identity_pub signer;
    const unsigned char *reserved;
    size_t reserved_len;
    const EVP_MD *md;
    const char *hashalg;
    unsigned char sig[SIG_LEN];
};

/*
 * The bytes that are signed: magic, namespace, reserved, hash algorithm
 * and the hash of the message.  *out is malloc'd.
 */
static int signed_data(unsigned char **out, size_t *len, const struct sshsig *s,
                       const void *data, size_t dlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t cap = SIG_MAGIC_LEN + 4 + strlen(SIG_NAMESPACE) + 4 +
                 s->reserved_len + 4 + strlen(s->hashalg) + 4 + sizeof(md);
    struct wire w = {malloc(cap), 0, cap};

    if (w.p == NULL)
        return OER_ENOMEM;
    if (EVP_Digest(data, dlen, md, &mdlen, s->md, NULL) != 1) {
        openssl_log("digest failed", s->hashalg);
        free(w.p);
        return OER_ECRYPTO;
    }
    wire_raw(&w, SIG_MAGIC, SIG_MAGIC_LEN);
    wire_cstring(&w, SIG_NAMESPACE);
    wire_string(&w, s->reserved, s->reserved_len);
    wire_cstring(&w, s->hashalg);
    wire_string(&w, md, mdlen);
    *out = w.p;
    *len = w.len;
    return 0;
}

/* The signature blob: magic, version, key, namespace, ..., signature. */
static size_t sshsig_encode(unsigned char *buf, size_t cap,
                            const struct sshsig *s)
{
    unsigned char pub[PUB_BLOB_LEN], sig[4 + KEY_TYPE_LEN + 4 + SIG_LEN];
    struct wire w = {buf, 0, cap}, ws = {sig, 0, sizeof(sig)};

    pub_blob(pub, &s->signer);
    wire_cstring(&ws, KEY_TYPE);
    wire_string(&ws, s->sig, SIG_LEN);

    wire_raw(&w, SIG_MAGIC, SIG_MAGIC_LEN);
    wire_u32(&w, SIG_VERSION);
    wire_string(&w, pub, sizeof(pub));
    wire_cstring(&w, SIG_NAMESPACE);
    wire_string(&w, s->reserved, s->reserved_len);
    wire_cstring(&w, s->hashalg);
    wire_string(&w, sig, sizeof(sig));
    return w.len;
}

/* Parse a signature blob strictly; *why names what is wrong. */
static int sshsig_parse(struct sshsig *s, const unsigned char *blob, size_t len,
                        const char **why)
{
    struct reader r = {blob, len};
    const unsigned char *v;
    size_t vlen;
    uint32_t version;

    *why = "bad magic";
    if (len < SIG_MAGIC_LEN || memcmp(blob, SIG_MAGIC, SIG_MAGIC_LEN) != 0)
        return OER_EINVAL;
    r.p += SIG_MAGIC_LEN;
    r.left -= SIG_MAGIC_LEN;
    *why = "unsupported version";
    if (read_u32(&r, &version) < 0 || version != SIG_VERSION)
        return OER_EINVAL;
    *why = "not an ssh-ed25519 key";
    if (read_string(&r, &v, &vlen) < 0 ||
        read_typed(v, vlen, s->signer.key, sizeof(s->signer.key)) < 0)
        return OER_EINVAL;
    *why = "namespace is not git";
    if (read_expect(&r, SIG_NAMESPACE) < 0)
        return OER_EINVAL;
    *why = "truncated";
    if (read_string(&r, &s->reserved, &s->reserved_len) < 0)
        return OER_EINVAL;

    *why = "unsupported hash algorithm";
    if (read_string(&r, &v, &vlen) < 0)
        return OER_EINVAL;
    if (vlen == 6 && memcmp(v, "sha512", 6) == 0) {
        s->md = EVP_sha512();
        s->hashalg = "sha512";
    } else if (vlen == 6 && memcmp(v, "sha256", 6) == 0) {
        s->md = EVP_sha256();
        s->hashalg = "sha256";
    } else {
        return OER_EINVAL;
    }

    *why = "not an ssh-ed25519 signature";
    if (read_string(&r, &v, &vlen) < 0 ||
        read_typed(v, vlen, s->sig, sizeof(s->sig)) < 0)
        return OER_EINVAL;
    *why = "trailing bytes";
    return r.left == 0 ? 0 : OER_EINVAL;
}

static int ed25519_sign(unsigned char sig[SIG_LEN], EVP_PKEY *pkey,
                        const unsigned char *tbs, size_t len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t siglen = SIG_LEN;
    int err = OER_ECRYPTO;

    if (ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
        EVP_DigestSign(ctx, sig, &siglen, tbs, len) == 1 && siglen == SIG_LEN)
        err = 0;
    else
        openssl_log("signing failed", "ed25519");
    EVP_MD_CTX_free(ctx);
    return err;
}

static int ed25519_verify(const struct identity_pub *pub,
                          const unsigned char sig[SIG_LEN],
                          const unsigned char *tbs, size_t len)
{
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *ctx = NULL;
    int ok;

    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub->key,
                                       sizeof(pub->key));
    ctx = EVP_MD_CTX_new();
    ok = pkey != NULL && ctx != NULL &&
         EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
         EVP_DigestVerify(ctx, sig, SIG_LEN, tbs, len) == 1;
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return ok ? 0 : OER_ECRYPTO;
}

/* Armor a blob as ssh-keygen does: base64 lines of 70 characters. */
static int armor(char **out, const unsigned char *blob, size_t len)
{
    char *b64 = NULL, *s;
    size_t n, i, o = 0;
    int err;

    err = b64_encode(&b64, blob, len);
    if (err < 0)
        return err;
    n = strlen(b64);
    s = malloc(sizeof(ARMOR_BEGIN) + n + n / ARMOR_WIDTH + 1 +
               sizeof(ARMOR_END) + 1);
    if (s == NULL) {
        free(b64);
        return OER_ENOMEM;
    }

    o += (size_t)sprintf(s, "%s\n", ARMOR_BEGIN);
    for (i = 0; i < n; i += ARMOR_WIDTH) {
        size_t k = n - i < ARMOR_WIDTH ? n - i : ARMOR_WIDTH;

        memcpy(s + o, b64 + i, k);
        o += k;
        s[o++] = '\n';
    }
    sprintf(s + o, "%s\n", ARMOR_END);
    free(b64);
    *out = s;
    return 0;
}

/*
 * Take the blob out of its armor: the begin line first, base64 lines,
 * the end line, then nothing but white space.  *out is malloc'd.
 */
static int dearmor(unsigned char **out, size_t *len, const char *armored)
{
    size_t n = strnlen(armored, ARMOR_MAX + 1), k = 0;
    const char *p, *end;
    char *b64 = NULL;
    int err;

    if (n > ARMOR_MAX ||
        strncmp(armored, ARMOR_BEGIN "\n", sizeof(ARMOR_BEGIN)) != 0)
        return OER_EINVAL;
    p = armored + sizeof(ARMOR_BEGIN);
    end = strstr(p - 1, "\n" ARMOR_END);
    if (end == NULL || end <= p)
        return OER_EINVAL;
    for (const char *t = end + sizeof(ARMOR_END); *t != '\0'; t++)
        if (!is_space(*t))
            return OER_EINVAL;

    b64 = malloc((size_t)(end - p) + 1);
    if (b64 == NULL)
        return OER_ENOMEM;
    for (; p < end; p++) {
        if (*p == '\n')
            continue;
        b64[k++] = *p;
    }
    err = b64_decode(out, len, b64, k);
    free(b64);
    return err;
}

int identity_sign(char **out, const struct identity *id, const void *data,
                  size_t len)
{
    struct sshsig s = {.signer = id->pub,
                       .reserved = (const void *)"",
                       .md = EVP_sha512(),
                       .hashalg = "sha512"};
    unsigned char *tbs = NULL;
    unsigned char blob[512];
    size_t tbslen = 0, bloblen;
    int err;

    err = signed_data(&tbs, &tbslen, &s, data, len);
    if (err < 0)
        return err;
    err = ed25519_sign(s.sig, id->pkey, tbs, tbslen);
    free(tbs);
    if (err < 0)
        return err;

    bloblen = sshsig_encode(blob, sizeof(blob), &s);
    return armor(out, blob, bloblen);
}

/* Log a rejected signature with both fingerprints. */
static void log_rejected(const char *msg, const struct identity_pub *pub,
                         const struct identity_pub *signer)
{
    char want[64], got[64];

    identity_fingerprint(want, sizeof(want), pub);
    identity_fingerprint(got, sizeof(got), signer);
    log_warn("identity", msg, "key", want, "signer", got, NULL);
}

int identity_verify(const struct identity_pub *pub, const char *armored,
                    const void *data, size_t len, struct identity_pub *signer)
{
    struct sshsig s;
    unsigned char *blob = NULL, *tbs = NULL;
    size_t bloblen = 0, tbslen = 0;
    const char *why = "bad armor or base64";
    int err;

    if (signer != NULL)
        memset(signer, 0, sizeof(*signer));
    err = dearmor(&blob, &bloblen, armored);
    if (err == 0)
        err = sshsig_parse(&s, blob, bloblen, &why);
    if (err < 0) {
        if (err == OER_EINVAL)
            log_warn("identity", "malformed ssh signature", "reason", why,
                     NULL);
        goto out;
    }
    if (signer != NULL)
        *signer = s.signer;

    if (memcmp(s.signer.key, pub->key, sizeof(pub->key)) != 0) {
        log_rejected("signature by another key", pub, &s.signer);
        err = OER_ECRYPTO;
        goto out;
    }
    err = signed_data(&tbs, &tbslen, &s, data, len);
    if (err < 0)
        goto out;
    err = ed25519_verify(pub, s.sig, tbs, tbslen);
    if (err < 0)
        log_rejected("signature does not match the data", pub, &s.signer);
out:
    free(tbs);
    free(blob);
    return err;
}
