/*
 * libFuzzer driver for what the OAI-PMH provider reads from a harvester:
 * a form body (or query string) checked by the argument rules, and a
 * resumption token.  A token that decodes encodes back to one that
 * decodes to the same fields; a request that passes the rules has a
 * verb, and a metadataPrefix wherever the verb requires one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/oai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_args(const char *text, size_t len)
{
    struct oai_args args = {0};
    struct oai_request req;
    const char *msg = NULL;

    if (oai_args_form(&args, text, len) != 0)
        args.overflow = 1;
    if (oai_parse(&req, &msg, &args) == OAI_OK &&
        (req.verb == OAI_LIST_RECORDS || req.verb == OAI_GET_RECORD) &&
        req.token == NULL && req.format == OAI_FORMAT_NONE)
        abort();
    if (msg == NULL)
        abort();
    oai_args_release(&args);
}

static void fuzz_token(const char *text)
{
    struct oai_token *t = calloc(1, sizeof(*t));
    struct oai_token *u = calloc(1, sizeof(*u));
    char *again = NULL;

    if (t != NULL && u != NULL && oai_token_decode(t, text) == 0) {
        if (oai_token_encode(&again, t) != 0 ||
            oai_token_decode(u, again) != 0 || memcmp(t, u, sizeof(*t)) != 0)
            abort();
    }
    free(again);
    free(u);
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    /* the first byte chooses: 't' a token, anything else a form */
    if (size == 0)
        return 0;
    text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] == 't')
        fuzz_token(text);
    else
        fuzz_args(text, size - 1);
    free(text);
    return 0;
}
