/*
 * libFuzzer driver for the SSH signature and public key readers: the
 * input is a signature from a commit a peer sent, or a key line from a
 * config.  No input verifies as a signature of the fixed key over the
 * fixed data: a forgery would be a finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "federation/identity.h"
#include "node/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    log_set_stream(fopen("/dev/null", "w"));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct identity_pub pub = {{1, 2, 3, 4, 5, 6, 7, 8}};
    struct identity_pub signer, parsed;
    char *text = malloc(size + 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (identity_verify(&pub, text, "tree", 4, &signer) == 0)
        abort();
    identity_pub_parse(&parsed, text);
    free(text);
    return 0;
}
