/*
 * Tests of node/api_moderation: its parsers (the Authorization header and
 * the body of a reject, with the stable error codes the API answers), and
 * file uploads answered by api_moderation_serve against a real store and
 * account database: published into the record and the store, deleted on
 * reject, and every refused upload leaving the queue as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/account.h"
#include "node/api_moderation.h"
#include "node/error.h"
#include "node/store.h"
#include "testutil.h"

static void test_bearer(void **state)
{
    char t[16];

    (void)state;
    assert_int_equal(api_moderation_bearer(t, sizeof(t), "Bearer oer_ab"), 0);
    assert_string_equal(t, "oer_ab");
    assert_int_equal(api_moderation_bearer(t, sizeof(t), "bearer   x1  "), 0);
    assert_string_equal(t, "x1");
    assert_int_equal(api_moderation_bearer(t, sizeof(t), "Basic dXNlcg=="),
                     OER_EINVAL);
    assert_int_equal(api_moderation_bearer(t, sizeof(t), "Bearer "),
                     OER_EINVAL);
    assert_int_equal(api_moderation_bearer(t, sizeof(t), "Bearer a b"),
                     OER_EINVAL);
    assert_int_equal(api_moderation_bearer(t, sizeof(t), "Bearer a\tb"),
                     OER_EINVAL);
    assert_int_equal(api_moderation_bearer(t, sizeof(t),
                                           "Bearer "
                                           "0123456789abcdef"),
                     OER_EINVAL);
    assert_int_equal(api_moderation_bearer(t, sizeof(t), ""), OER_EINVAL);
}

static void reason_refused(const char *body, const char *want)
{
    const char *code = NULL, *msg = NULL;
    char *out = (char *)"x";

    assert_int_equal(
        api_moderation_reason(&out, body, strlen(body), &code, &msg),
        OER_EINVAL);
    assert_null(out);
    assert_string_equal(code, want);
    assert_non_null(msg);
}

static void test_reason(void **state)
{
    const char *code, *msg, *ok = "{\"reason\":\"dubbel\"}";
    char *out = NULL, big[2100];

    (void)state;
    assert_int_equal(api_moderation_reason(&out, ok, strlen(ok), &code, &msg),
                     0);
    assert_string_equal(out, "dubbel");
    free(out);
    reason_refused("{\"reason\":", "malformed_json");
    reason_refused("[\"reason\"]", "malformed_json");
    reason_refused("{\"reason\":\"a\",\"reason\":\"b\"}", "malformed_json");
    reason_refused("{\"reason\":\"a\",\"ban\":1}", "unknown_parameter");
    reason_refused("{\"why\":\"a\"}", "unknown_parameter");
    reason_refused("{}", "bad_parameter");
    reason_refused("{\"reason\":\"\"}", "bad_parameter");
    reason_refused("{\"reason\":7}", "bad_parameter");
    strcpy(big, "{\"reason\":\"");
    memset(big + 11, 'a', 2001);
    strcpy(big + 2012, "\"}");
    reason_refused(big, "bad_parameter");
}

static void test_db_path(void **state)
{
    char *p = api_moderation_db_path("/srv/node/repo.git");

    (void)state;
    assert_string_equal(p, "/srv/node/accounts.sqlite");
    free(p);
}

/* A node's data folder with a store, a key and three accounts. */
struct node {
    char *data, *repo;
    struct identity *key;
    struct api_moderation m;
    char ann[ACCOUNT_TOKEN_LEN + 1], bob[ACCOUNT_TOKEN_LEN + 1],
        mo[ACCOUNT_TOKEN_LEN + 1];
};

static struct node *node_new(void)
{
    struct node *n = calloc(1, sizeof(*n));
    struct account_db *db = NULL;
    char path[512];

    n->data = testutil_tmpdir("api_moderation");
    snprintf(path, sizeof(path), "%s/repo.git", n->data);
    n->repo = strdup(path);
    assert_int_equal(store_init(n->repo), 0);
    snprintf(path, sizeof(path), "%s/node.key", n->data);
    assert_int_equal(identity_generate(&n->key, path), 0);
    snprintf(path, sizeof(path), "%s/accounts.sqlite", n->data);
    assert_int_equal(account_open(&db, path), 0);
    assert_int_equal(account_create(n->ann, db, "ann", ACCOUNT_CONTRIBUTOR,
                                    (long long)time(NULL)),
                     0);
    assert_int_equal(account_create(n->bob, db, "bob", ACCOUNT_CONTRIBUTOR,
                                    (long long)time(NULL)),
                     0);
    assert_int_equal(account_create(n->mo, db, "mo", ACCOUNT_MODERATOR,
                                    (long long)time(NULL)),
                     0);
    account_close(db);
    n->m = (struct api_moderation){.repo_path = n->repo,
                                   .node_id = "nl-test",
                                   .key = n->key};
    return n;
}

static void node_free(struct node *n)
{
    identity_free(n->key);
    free(n->repo);
    free(n->data);
    free(n);
}

/* Answer one request; the parsed answer (the caller's) and its status. */
static unsigned call(json_t **out, struct node *n, const char *token,
                     const char *method, const char *path, const char *body,
                     size_t len)
{
    char auth[100] = "";
    struct http_request req = {.method = method, .path = path,
                               .authorization = auth, .body = body,
                               .body_len = len, .host = "", .client = "",
                               .content_type = "", .rest = ""};
    struct http_response res = {0};

    if (token != NULL)
        snprintf(auth, sizeof(auth), "Bearer %s", token);
    api_moderation_serve(&res, &req, &n->m);
    *out = json_loadb(res.body, res.len, 0, NULL);
    assert_non_null(*out);
    free(res.body);
    return res.status;
}

static const char doc[] = "{\"schema\":1,\"title\":{\"nl\":\"Breuken\"},"
                          "\"languages\":[\"nl\"],\"licence\":\"CC-BY-4.0\"}";

static const char hello_sha[] =
    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

static const char *error_code(const json_t *answer)
{
    return json_string_value(
        json_object_get(json_object_get(answer, "error"), "code"));
}

/* An uploaded file is listed with its hash, kept in the queue folder,
 * and on publishing is in the record and the store, the folder gone. */
static void test_upload_publish(void **state)
{
    struct node *n = node_new();
    char queued[600], *dir = api_moderation_queue_path(n->repo, 1);
    json_t *a = NULL, *f, *rec = NULL;
    struct store *s = NULL;
    const char *id;
    struct stat st;

    (void)state;
    assert_int_equal(call(&a, n, n->ann, "POST", "/api/submissions", doc,
                          strlen(doc)),
                     201);
    json_decref(a);
    assert_int_equal(call(&a, n, n->ann, "PUT",
                          "/api/submissions/1/files/hello.txt", "hello", 5),
                     201);
    f = json_array_get(json_object_get(a, "files"), 0);
    assert_string_equal(json_string_value(json_object_get(f, "name")),
                        "hello.txt");
    assert_string_equal(json_string_value(json_object_get(f, "sha256")),
                        hello_sha);
    assert_string_equal(json_string_value(json_object_get(f, "media_type")),
                        "text/plain");
    json_decref(a);
    snprintf(queued, sizeof(queued), "%s/%s", dir, hello_sha);
    assert_int_equal(stat(queued, &st), 0);
    assert_int_equal(st.st_size, 5);

    assert_int_equal(call(&a, n, n->mo, "POST",
                          "/api/moderation/submissions/1/publish", "", 0),
                     200);
    id = json_string_value(json_object_get(a, "resource"));
    assert_non_null(id);
    assert_int_equal(store_open(&s, n->repo), 0);
    assert_int_equal(store_get(&rec, s, "nl-test", strchr(id, '/') + 1), 0);
    f = json_array_get(json_object_get(rec, "files"), 0);
    assert_string_equal(json_string_value(json_object_get(f, "name")),
                        "hello.txt");
    assert_string_equal(json_string_value(json_object_get(f, "sha256")),
                        hello_sha);
    assert_int_equal(json_integer_value(json_object_get(f, "size")), 5);
    assert_int_equal(
        store_has_blob(s, json_string_value(json_object_get(f, "blob"))), 1);
    assert_int_not_equal(stat(dir, &st), 0);
    json_decref(rec);
    json_decref(a);
    store_free(s);
    free(dir);
    node_free(n);
}

/* Refused uploads answer their status and code and change nothing; a
 * rejected submission's files are deleted and no more are taken. */
static void test_upload_refused(void **state)
{
    static const struct {
        int who; /* 0 none, 1 ann, 2 bob */
        const char *path;
        unsigned status;
        const char *code;
    } cases[] = {
        {0, "/api/submissions/1/files/x.txt", 401, "missing_token"},
        {2, "/api/submissions/1/files/x.txt", 403, "forbidden"},
        {1, "/api/submissions/9/files/x.txt", 404, "not_found"},
        {1, "/api/submissions/1/files/../x.txt", 400, "bad_name"},
        {1, "/api/submissions/1/files/..", 400, "bad_name"},
        {1, "/api/submissions/1/files/", 400, "bad_name"},
        {1, "/api/submissions/1/files/a\\b", 400, "bad_name"},
        {1, "/api/submissions/1/files/a\x01", 400, "bad_name"},
        {1, "/api/submissions/1/files/\xff.txt", 400, "bad_name"},
        {1, "/api/submissions/1/file/x.txt", 404, "not_found"},
    };
    struct node *n = node_new();
    char *dir = api_moderation_queue_path(n->repo, 1);
    json_t *a = NULL;
    struct stat st;

    (void)state;
    assert_int_equal(call(&a, n, n->ann, "POST", "/api/submissions", doc,
                          strlen(doc)),
                     201);
    json_decref(a);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *tok = cases[i].who == 1   ? n->ann
                          : cases[i].who == 2 ? n->bob
                                              : NULL;

        assert_int_equal(call(&a, n, tok, "PUT", cases[i].path, "x", 1),
                         cases[i].status);
        assert_string_equal(error_code(a), cases[i].code);
        json_decref(a);
        assert_int_not_equal(stat(dir, &st), 0);
    }

    assert_int_equal(call(&a, n, n->ann, "PUT",
                          "/api/submissions/1/files/x.txt", "hello", 5),
                     201);
    json_decref(a);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(call(&a, n, n->mo, "POST",
                          "/api/moderation/submissions/1/reject",
                          "{\"reason\":\"no\"}", 15),
                     200);
    assert_int_equal(json_array_size(json_object_get(a, "files")), 0);
    json_decref(a);
    assert_int_not_equal(stat(dir, &st), 0);
    assert_int_equal(call(&a, n, n->ann, "PUT",
                          "/api/submissions/1/files/x.txt", "hello", 5),
                     409);
    assert_string_equal(error_code(a), "not_pending");
    json_decref(a);
    assert_int_not_equal(stat(dir, &st), 0);
    free(dir);
    node_free(n);
}

static void test_queue_path(void **state)
{
    char *p = api_moderation_queue_path("/srv/node/repo.git", 12);

    (void)state;
    assert_string_equal(p, "/srv/node/queue/12");
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_reason),
        cmocka_unit_test(test_db_path),
        cmocka_unit_test(test_queue_path),
        cmocka_unit_test(test_upload_publish),
        cmocka_unit_test(test_upload_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
