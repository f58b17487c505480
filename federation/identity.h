/*
 * identity: the node's Ed25519 key: creation, loading, its fingerprint,
 * and signatures in the SSH signature format ("SSHSIG", namespace "git")
 * that stock git verifies with gpg.format=ssh and an allowed-signers file.
 */
#ifndef OERNODE_IDENTITY_H
#define OERNODE_IDENTITY_H

#include <stddef.h>

#include <openssl/types.h>

struct identity;

/* A public key alone: what a node knows of another origin. */
struct identity_pub {
    unsigned char key[32];
};

/* Create a new key and write it to path (PEM PKCS#8, mode 0600, refusing
 * to overwrite: OER_EEXISTS).  The file is written and fsynced beside
 * path, then linked in place, so path never holds half a key.  OER_EIO
 * when it cannot be written.  *out belongs to the caller. */
int identity_generate(struct identity **out, const char *path);

/* Load the key at path; OER_ENOTFOUND, OER_EINVAL (not an unencrypted
 * PEM Ed25519 private key; an OpenSSH-format key is refused too), OER_EIO,
 * or OER_ECRYPTO (any permission for group or others, as OpenSSH refuses
 * it: refused, with a log line naming the path).  *out is the caller's. */
int identity_load(struct identity **out, const char *path);

/* Wipe and free; accepts NULL.  An identity is never changed after it
 * is made, so threads may sign with one at the same time. */
void identity_free(struct identity *id);

/* The key as OpenSSL's object, for TLS (a certificate and handshake
 * signatures).  Borrowed: it lives as long as id; never free it. */
EVP_PKEY *identity_pkey(const struct identity *id);

/* The public half. */
void identity_public(struct identity_pub *out, const struct identity *id);

/* "SHA256:" + unpadded base64 of SHA-256 over the SSH wire form of the
 * public key, as ssh-keygen -l prints it; buf of at least 64 bytes. */
void identity_fingerprint(char *buf, size_t cap,
                          const struct identity_pub *pub);

/* "ssh-ed25519 AAAA..." (OpenSSH public key line, no comment); buf of
 * at least 128 bytes. */
void identity_ssh_public(char *buf, size_t cap, const struct identity_pub *pub);

/* Parse an "ssh-ed25519 AAAA... [comment]" line (a .pub file) or the
 * bare base64 key blob; leading white space and the comment are skipped.
 * OER_EINVAL when it is not an Ed25519 key or not canonical base64. */
int identity_pub_parse(struct identity_pub *out, const char *text);

/*
 * Sign data with namespace "git" and return the armored signature
 * ("-----BEGIN SSH SIGNATURE-----" ... "-----END SSH SIGNATURE-----\n").
 * *out is malloc'd, NUL-terminated, the caller's.
 */
int identity_sign(char **out, const struct identity *id, const void *data,
                  size_t len);

/*
 * Verify an armored SSH signature over data, namespace "git", made by
 * pub.  Returns 0, OER_ECRYPTO (bad signature or another key), or
 * OER_EINVAL (not a well-formed SSH signature: armor, base64, magic,
 * version, key or signature type other than ssh-ed25519, namespace,
 * hash algorithm other than sha512 or sha256, trailing bytes).  The
 * armor may have base64 lines of any length, and only white space after
 * its end line.  If signer is not NULL it receives the key that made a
 * well-formed signature, even a wrong one, and is zeroed otherwise.
 * Every refusal is logged once, with the fingerprints involved.
 */
int identity_verify(const struct identity_pub *pub, const char *armored,
                    const void *data, size_t len, struct identity_pub *signer);

#endif
