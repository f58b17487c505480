/*
 * identity: the node's Ed25519 key: creation, loading, its fingerprint,
 * and signatures in the SSH signature format ("SSHSIG", namespace "git")
 * that stock git verifies with gpg.format=ssh and an allowed-signers file.
 */
#ifndef OERNODE_IDENTITY_H
#define OERNODE_IDENTITY_H

#include <stddef.h>

struct identity;

/* A public key alone: what a node knows of another origin. */
struct identity_pub {
    unsigned char key[32];
};

/* Create a new key and write it to path (PEM, mode 0600, refusing to
 * overwrite: OER_EEXISTS).  *out belongs to the caller. */
int identity_generate(struct identity **out, const char *path);

/* Load the key at path; OER_ENOTFOUND, OER_EINVAL (not an Ed25519 key),
 * or OER_ECRYPTO (group- or world-readable: refused, with a log line). */
int identity_load(struct identity **out, const char *path);

/* Wipe and free; accepts NULL. */
void identity_free(struct identity *id);

/* The public half. */
void identity_public(struct identity_pub *out, const struct identity *id);

/* "SHA256:" + unpadded base64 of SHA-256 over the SSH wire form of the
 * public key, as ssh-keygen -l prints it; buf of at least 64 bytes. */
void identity_fingerprint(char *buf, size_t cap, const struct identity_pub *pub);

/* "ssh-ed25519 AAAA..." (OpenSSH public key line, no comment); buf of
 * at least 128 bytes. */
void identity_ssh_public(char *buf, size_t cap, const struct identity_pub *pub);

/* Parse an "ssh-ed25519 AAAA... [comment]" line or a fingerprint-free
 * base64 key blob; OER_EINVAL when it is not an Ed25519 key. */
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
 * OER_EINVAL (not a well-formed SSH signature).  If signer is not NULL it
 * receives the key that made a well-formed signature, even a wrong one.
 */
int identity_verify(const struct identity_pub *pub, const char *armored,
                    const void *data, size_t len,
                    struct identity_pub *signer);

#endif
