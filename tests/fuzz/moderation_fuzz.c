/*
 * libFuzzer driver for the parsers of the moderation API
 * (node/api_moderation.h): the Authorization header and the body of a
 * reject.  The first byte chooses the parser, the rest is the input.
 * Whatever it gets, a parser refuses it or returns what its contract
 * says: a bearer token of printable ASCII that fits, a reason string of
 * 1 to 2,000 bytes without a NUL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/api_moderation.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_bearer(const char *text)
{
    char token[80];

    if (api_moderation_bearer(token, sizeof(token), text) != 0)
        return;
    if (token[0] == '\0' || strlen(token) >= sizeof(token))
        abort();
    for (const char *t = token; *t != '\0'; t++) {
        if (*t <= ' ' || *t >= 0x7f)
            abort();
    }
}

static void check_reason(const char *body, size_t len)
{
    const char *code = NULL, *msg = NULL;
    char *reason = NULL;
    size_t n;

    if (api_moderation_reason(&reason, body, len, &code, &msg) != 0) {
        if (reason != NULL || code == NULL || msg == NULL)
            abort();
        return;
    }
    n = strlen(reason);
    if (n == 0 || n > 2000)
        abort();
    free(reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size == 0)
        return 0;
    text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] & 1)
        check_bearer(text);
    else
        check_reason(text, size - 1);
    free(text);
    return 0;
}
