/*
 * Tests of node/http: routes, JSON errors, query arguments, handlers on
 * worker threads, a slow handler that does not hold up the others, and
 * answers that wait on the loop without holding a worker.
 * The server runs on a loop in its own thread; requests come from curl.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <uv.h>

#include "node/http.h"
#include "testutil.h"

static uv_loop_t loop;
static uv_async_t stopper;
static struct http_server *server;
static pthread_t loop_thread;
static sem_t fast_done;

static void hello(struct http_response *res, const struct http_request *req,
                  void *ctx)
{
    const char *name = http_request_arg(req, "name");
    int on_loop = pthread_equal(pthread_self(), loop_thread);

    http_response_json(res, 200,
                       json_pack("{s:s,s:s,s:b}", "hello",
                                 name != NULL ? name : "", "rest", req->rest,
                                 "on_loop", on_loop));
}

/* Waits until the fast handler has run; answers whether it did. */
static void slow(struct http_response *res, const struct http_request *req,
                 void *ctx)
{
    struct timespec until;
    int got;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    while ((got = sem_timedwait(&fast_done, &until)) != 0 && errno == EINTR)
        ;
    http_response_json(res, 200, json_pack("{s:b}", "other_ran", got == 0));
}

static void fast(struct http_response *res, const struct http_request *req,
                 void *ctx)
{
    sem_post(&fast_done);
    http_response_json(res, 200, json_pack("{s:b}", "fast", 1));
}

/* Echoes what it got of the request's headers and body. */
static void echo(struct http_response *res, const struct http_request *req,
                 void *ctx)
{
    http_response_json(res, 200,
                       json_pack("{s:s,s:s,s:s%,s:I}", "host", req->host,
                                 "type", req->content_type, "body",
                                 req->body, req->body_len, "len",
                                 (json_int_t)req->body_len));
}

/* A large body: its length, its last byte, and whether a NUL follows. */
static void big(struct http_response *res, const struct http_request *req,
                void *ctx)
{
    http_response_json(res, 200,
                       json_pack("{s:I,s:i,s:b}", "len",
                                 (json_int_t)req->body_len, "last",
                                 req->body_len > 0
                                     ? req->body[req->body_len - 1]
                                     : -1,
                                 "nul", req->body[req->body_len] == '\0'));
}

/* A handler whose answer comes a second later, from a timer on the
 * loop: it says on which threads its halves ran. */
struct later_req {
    struct http_later *h;
    uv_timer_t timer;
    int later_on_loop;
};

static void on_finish(struct http_response *res, void *arg)
{
    struct later_req *lr = arg;
    int on_loop = pthread_equal(pthread_self(), loop_thread);

    http_response_json(res, 200,
                       json_pack("{s:b,s:b}", "later_on_loop",
                                 lr->later_on_loop, "finish_on_loop",
                                 on_loop));
    free(lr);
}

static void on_later_timer_closed(uv_handle_t *h)
{
    struct later_req *lr = h->data;

    http_later_finish(lr->h, on_finish, lr);
}

static void on_later_timer(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, on_later_timer_closed);
}

static void on_later(struct http_later *h, void *arg)
{
    struct later_req *lr = arg;

    lr->h = h;
    lr->later_on_loop = pthread_equal(pthread_self(), loop_thread);
    uv_timer_init(&loop, &lr->timer);
    lr->timer.data = lr;
    uv_timer_start(&lr->timer, on_later_timer, 1000, 0);
}

static void later(struct http_response *res, const struct http_request *req,
                  void *ctx)
{
    struct later_req *lr = calloc(1, sizeof(*lr));

    if (lr == NULL) {
        http_response_error(res, 503, "no_memory", "out of memory");
        return;
    }
    res->later = on_later;
    res->later_arg = lr;
}

static const struct http_route routes[] = {
    { "POST", "/echo", echo, 0, 0 },
    { "GET", "/echo", echo, 0, 0 },
    { "GET", "/hello", hello, 0, 0 },
    { "GET", "/items/", hello, 0, 0 },
    { "GET", "/slow", slow, 0, 0 },
    { "GET", "/fast", fast, 0, 0 },
    { "GET", "/loop", hello, 1, 0 },
    { "GET", "/later", later, 0, 0 },
    { "PUT", "/big", big, 0, 300000 },
    { NULL, NULL, NULL, 0, 0 },
};

static void on_stop(uv_async_t *async)
{
    http_stop(server);
    uv_close((uv_handle_t *)async, NULL);
}

static void *run_loop(void *arg)
{
    uv_run(&loop, UV_RUN_DEFAULT);
    return NULL;
}

static int setup(void **state)
{
    sem_init(&fast_done, 0, 0);
    uv_loop_init(&loop);
    uv_async_init(&loop, &stopper, on_stop);
    if (http_start(&server, &loop, "127.0.0.1:0", routes, NULL) != 0)
        return -1;
    return pthread_create(&loop_thread, NULL, run_loop, NULL);
}

static int teardown(void **state)
{
    uv_async_send(&stopper);
    pthread_join(loop_thread, NULL);
    sem_destroy(&fast_done);
    return uv_loop_close(&loop);
}

/* GET path with curl; returns the HTTP status and the body in *body. */
static int get(char **body, const char *method, const char *path)
{
    char *out = NULL;
    int status = 0;
    int rc;

    rc = testutil_run(&out, 0,
                      "curl -s -X %s -w '\\n%%{http_code}' "
                      "'http://127.0.0.1:%u%s'",
                      method, http_port(server), path);
    assert_int_equal(rc, 0);
    char *nl = strrchr(out, '\n');
    assert_non_null(nl);
    *nl = '\0';
    status = atoi(nl + 1);
    *body = out;
    return status;
}

static void test_route_and_args_on_worker(void **state)
{
    char *body;

    assert_int_equal(get(&body, "GET", "/hello?name=caf%C3%A9"), 200);
    assert_string_equal(body, "{\"hello\":\"caf\xc3\xa9\",\"rest\":\"\","
                              "\"on_loop\":false}");
    free(body);
}

static void test_loop_route_runs_on_loop(void **state)
{
    char *body;

    assert_int_equal(get(&body, "GET", "/loop"), 200);
    assert_non_null(strstr(body, "\"on_loop\":true"));
    free(body);
}

static void test_prefix_route_rest(void **state)
{
    char *body;

    assert_int_equal(get(&body, "GET", "/items/be-vl/abc"), 200);
    assert_non_null(strstr(body, "\"rest\":\"be-vl/abc\""));
    free(body);
}

static void test_errors_are_json(void **state)
{
    char *body;

    assert_int_equal(get(&body, "GET", "/nowhere"), 404);
    assert_string_equal(body, "{\"error\":{\"code\":\"not_found\","
                              "\"message\":\"no such path\"}}");
    free(body);
    assert_int_equal(get(&body, "DELETE", "/hello"), 405);
    assert_non_null(strstr(body, "\"code\":\"method_not_allowed\""));
    free(body);
    assert_int_equal(get(&body, "GET", "/items/"), 404);
    free(body);
}

static void test_slow_handler_does_not_block(void **state)
{
    char *slow_body = NULL, *fast_body;
    FILE *p;
    char cmd[256];
    size_t n;

    snprintf(cmd, sizeof(cmd), "curl -s http://127.0.0.1:%u/slow",
             http_port(server));
    p = popen(cmd, "r");
    assert_non_null(p);

    /* The slow request is parked on a worker; this one must still pass. */
    assert_int_equal(get(&fast_body, "GET", "/fast"), 200);
    free(fast_body);

    slow_body = calloc(1, 256);
    n = fread(slow_body, 1, 255, p);
    pclose(p);
    assert_true(n > 0);
    assert_string_equal(slow_body, "{\"other_ran\":true}");
    free(slow_body);
}

static double now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000.0 + t.tv_nsec / 1e6;
}

/* Eight answers that wait a second on the loop (twice libuv's four
 * workers) hold no worker meanwhile: another request is answered at
 * once, and each later one is sent, its halves on the loop and on a
 * worker. */
static void test_later_answers_hold_no_worker(void **state)
{
    const char *one = "{\"later_on_loop\":true,\"finish_on_loop\":false}";
    char cmd[512], all[1024], *fast_body;
    double t0, fast_ms;
    size_t len;
    int n = 0;
    FILE *p;

    snprintf(cmd, sizeof(cmd),
             "for i in 1 2 3 4 5 6 7 8; do "
             "curl -s -w '\n' http://127.0.0.1:%u/later & done; wait",
             http_port(server));
    p = popen(cmd, "r");
    assert_non_null(p);
    uv_sleep(300);

    t0 = now_ms();
    assert_int_equal(get(&fast_body, "GET", "/fast"), 200);
    fast_ms = now_ms() - t0;
    free(fast_body);
    assert_true(fast_ms < 600);

    /* the eight answers, in any order and interleaved with newlines */
    len = fread(all, 1, sizeof(all) - 1, p);
    all[len] = '\0';
    assert_int_equal(pclose(p), 0);
    for (char *at = all; (at = strstr(at, one)) != NULL; at += strlen(one))
        n++;
    assert_int_equal(n, 8);
    assert_int_equal(len, 8 * (strlen(one) + 1));
}

/* A form body reaches the handler; one larger than 64 KiB gets a 413. */
static void test_post_body(void **state)
{
    char *out = NULL, cmd[512];
    int rc;

    rc = testutil_run(&out, 0,
                      "curl -s -d 'verb=Identify&x=%%C3%%A9' "
                      "'http://127.0.0.1:%u/echo'",
                      http_port(server));
    assert_int_equal(rc, 0);
    snprintf(cmd, sizeof(cmd),
             "{\"host\":\"127.0.0.1:%u\",\"type\":"
             "\"application/x-www-form-urlencoded\",\"body\":"
             "\"verb=Identify&x=%%C3%%A9\",\"len\":22}",
             http_port(server));
    assert_string_equal(out, cmd);
    free(out);

    rc = testutil_run(&out, 0,
                      "head -c 70000 /dev/zero | tr '\\0' a | "
                      "curl -s -w '\\n%%{http_code}' --data-binary @- "
                      "'http://127.0.0.1:%u/echo'",
                      http_port(server));
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"code\":\"body_too_large\""));
    assert_non_null(strstr(out, "\n413"));
    free(out);

    rc = testutil_run(&out, 0,
                      "head -c 65536 /dev/zero | tr '\\0' a | "
                      "curl -s --data-binary @- "
                      "'http://127.0.0.1:%u/echo'",
                      http_port(server));
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"len\":65536"));
    free(out);

    assert_int_equal(get(&out, "GET", "/echo"), 200);
    assert_non_null(strstr(out, "\"type\":\"\",\"body\":\"\",\"len\":0"));
    free(out);
}

/* A route with a larger limit takes a body past 64 KiB (spooled to a
 * file and mapped), whole and NUL-terminated; past its own limit, 413.
 * Without a bearer token, or with a Content-Length past the limit, it
 * is refused before the body is stored. */
static void test_large_body_route(void **state)
{
    char *out = NULL;
    int rc;

    rc = testutil_run(&out, 0,
                      "{ head -c 199999 /dev/zero; printf z; } | "
                      "curl -s -X PUT -H 'Authorization: Bearer x' "
                      "--data-binary @- 'http://127.0.0.1:%u/big'",
                      http_port(server));
    assert_int_equal(rc, 0);
    assert_string_equal(out, "{\"len\":200000,\"last\":122,\"nul\":true}");
    free(out);

    /* chunked: no Content-Length, so the limit is found while reading */
    rc = testutil_run(&out, 0,
                      "head -c 300001 /dev/zero | "
                      "curl -s -w '\\n%%{http_code}' -X PUT "
                      "-H 'Authorization: Bearer x' "
                      "-H 'Transfer-Encoding: chunked' --data-binary @- "
                      "'http://127.0.0.1:%u/big'",
                      http_port(server));
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"code\":\"body_too_large\""));
    assert_non_null(strstr(out, "\n413"));
    free(out);

    /* a Content-Length past the limit: 413 before the body */
    rc = testutil_run(&out, 0,
                      "head -c 300001 /dev/zero | "
                      "curl -s -w '\\n%%{http_code}' -X PUT "
                      "-H 'Authorization: Bearer x' --data-binary @- "
                      "'http://127.0.0.1:%u/big'",
                      http_port(server));
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"code\":\"body_too_large\""));
    assert_non_null(strstr(out, "\n413"));
    free(out);

    /* no bearer token: 401, and the handler never runs */
    rc = testutil_run(&out, 0,
                      "{ head -c 199999 /dev/zero; printf z; } | "
                      "curl -s -w '\\n%%{http_code}' -X PUT --data-binary @- "
                      "'http://127.0.0.1:%u/big'",
                      http_port(server));
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"code\":\"missing_token\""));
    assert_non_null(strstr(out, "\n401"));
    assert_null(strstr(out, "\"len\""));
    free(out);

    rc = testutil_run(&out, 0,
                      "curl -s -X PUT -H 'Authorization: Bearer x' "
                      "--data-binary '' 'http://127.0.0.1:%u/big'",
                      http_port(server));
    assert_int_equal(rc, 0);
    assert_string_equal(out, "{\"len\":0,\"last\":-1,\"nul\":true}");
    free(out);
}

static void test_parse_addr(void **state)
{
    struct sockaddr_storage sa;

    assert_int_equal(http_parse_addr(&sa, "127.0.0.1:8080"), 0);
    assert_int_equal(http_parse_addr(&sa, "[::1]:8080"), 0);
    assert_int_equal(http_parse_addr(&sa, "localhost:1"), 0);
    assert_int_not_equal(http_parse_addr(&sa, "127.0.0.1"), 0);
    assert_int_not_equal(http_parse_addr(&sa, "127.0.0.1:99999"), 0);
    assert_int_not_equal(http_parse_addr(&sa, "nohost:80"), 0);
    assert_int_not_equal(http_parse_addr(&sa, ":80"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_and_args_on_worker),
        cmocka_unit_test(test_loop_route_runs_on_loop),
        cmocka_unit_test(test_prefix_route_rest),
        cmocka_unit_test(test_errors_are_json),
        cmocka_unit_test(test_slow_handler_does_not_block),
        cmocka_unit_test(test_later_answers_hold_no_worker),
        cmocka_unit_test(test_post_body),
        cmocka_unit_test(test_large_body_route),
        cmocka_unit_test(test_parse_addr),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
