/*
 * error: the project's error codes.  Every fallible function returns 0 or
 * one of these negative codes; codes of libuv, libgit2, OpenSSL, SQLite
 * and msgpack are translated once, in the module that wraps the library.
 */
#ifndef OERNODE_ERROR_H
#define OERNODE_ERROR_H

enum {
    OER_OK = 0,
    OER_ENOMEM = -1,        /* an allocation failed */
    OER_EINVAL = -2,        /* bad input: argument, file, form, config */
    OER_ENOTFOUND = -3,     /* the thing asked for does not exist */
    OER_EEXISTS = -4,       /* the thing to create exists already */
    OER_EIO = -5,           /* file system or library I/O failed */
    OER_EPROTO = -6,        /* a peer broke the protocol */
    OER_ETIMEOUT = -7,      /* a deadline passed */
    OER_ECRYPTO = -8,       /* a key, signature or TLS check failed */
    OER_ECONFLICT = -9,     /* a ref moved under a compare-and-swap */
    OER_ECORRUPT = -10,     /* stored data fails verification */
    OER_EUNSUPPORTED = -11, /* valid but not something we handle */
    OER_EFORK = -12         /* an origin's key signed two histories */
};

/* Short stable name of a code ("notfound"), for logs and exit reports.
 * Returns a static string; never NULL. */
const char *error_name(int code);

#endif
