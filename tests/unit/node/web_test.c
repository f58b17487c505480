/*
 * Tests of node/web: which names the page may ask for (no way out of its
 * folder), media types, finding the folder, and the answers for files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/error.h"
#include "node/web.h"
#include "testutil.h"

static void test_names(void **state)
{
    static const char *const good[] = {
        "index.html", "app.js", "style.css", "img/logo.svg", "a-b_c.d.js",
    };
    static const char *const bad[] = {
        "", "..", "../config", "a/../../x.js", "/etc/passwd.txt", ".env.js",
        "a/.hidden.css", "a//b.css", "dir/", "app.js/", "x.exe", "config",
        "a\\b.js", "a%2e.js", "é.js", "a b.css", "app.js\n",
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!web_name_ok(good[i]))
            fail_msg("refused %s", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (web_name_ok(bad[i]))
            fail_msg("accepted \"%s\"", bad[i]);
}

static void test_media_types(void **state)
{
    assert_string_equal(web_media_type("index.html"),
                        "text/html; charset=utf-8");
    assert_string_equal(web_media_type("a/app.js"),
                        "text/javascript; charset=utf-8");
    assert_string_equal(web_media_type("style.css"),
                        "text/css; charset=utf-8");
    assert_string_equal(web_media_type("logo.svg"), "image/svg+xml");
    assert_null(web_media_type("config"));
    assert_null(web_media_type(".js.gz"));
}

/* The source tree's own web folder is found and serves the page. */
static void test_source_folder(void **state)
{
    struct http_response res = {0};
    char *root = NULL;

    assert_int_equal(web_root_find(&root, NULL, NULL), 0);
    web_serve(&res, root, "index.html");
    assert_int_equal(res.status, 200);
    assert_string_equal(res.content_type, "text/html; charset=utf-8");
    assert_string_equal(res.cache_control, "no-cache");
    assert_non_null(strstr(res.csp, "script-src 'self'"));
    assert_non_null(strstr(res.body, "/web/app.js"));
    free(res.body);
    free(root);
}

static void serve(struct http_response *res, const char *root,
                  const char *name)
{
    memset(res, 0, sizeof(*res));
    web_serve(res, root, name);
}

/* A configured folder, relative to the data folder; what stays outside
 * it and what is not a plain file is not served. */
static void test_configured_folder(void **state)
{
    char *dir = testutil_tmpdir("web");
    char path[1024], *root = NULL;
    struct http_response res;

    snprintf(path, sizeof(path), "%s/page", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/secret.css", dir);
    testutil_write(path, "secret", 6);
    snprintf(path, sizeof(path), "%s/page/index.html", dir);
    testutil_write(path, "<p>hi</p>", 9);
    snprintf(path, sizeof(path), "%s/page/app.css", dir);
    testutil_write(path, "p{}", 3);
    snprintf(path, sizeof(path), "%s/page/link.css", dir);
    assert_int_equal(symlink("../secret.css", path), 0);

    assert_int_equal(web_root_find(&root, "nothing", dir), OER_ENOTFOUND);
    assert_null(root);
    assert_int_equal(web_root_find(&root, "page", dir), 0);

    serve(&res, root, "app.css");
    assert_int_equal(res.status, 200);
    assert_int_equal(res.len, 3);
    assert_memory_equal(res.body, "p{}", 3);
    assert_string_equal(res.content_type, "text/css; charset=utf-8");
    assert_string_equal(res.cache_control, "public, max-age=300");
    free(res.body);
    static const char *const refused[] = {
        "../secret.css", "link.css", "missing.css", "page/app.css",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        serve(&res, root, refused[i]);
        if (res.status != 404)
            fail_msg("%s: status %u", refused[i], res.status);
        assert_null(strstr(res.body, "secret"));
        free(res.body);
    }
    serve(&res, NULL, "index.html");
    assert_int_equal(res.status, 404);
    free(res.body);
    free(root);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_media_types),
        cmocka_unit_test(test_source_folder),
        cmocka_unit_test(test_configured_folder),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
