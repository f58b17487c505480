/*
 * tls_bench: bulk transfer through federation/tls on loopback.  A server
 * and a client, with Ed25519 identities made in a temporary folder, move
 * N MiB from client to server in frame-sized writes; the clock runs from
 * the first write until the client reads the server's one-byte receipt.
 * By default both ends run on one libuv loop (one thread encrypts and
 * decrypts); --fork puts the server in a child process with its own loop,
 * as openssl s_server and s_client run.  bench/tls.sh compares the two.
 *
 *   tls_bench [-n MIB] [-w BYTES] [--fork]
 *
 * Prints one line: MiB/s first, then what was measured.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "federation/identity.h"
#include "federation/tls.h"
#include "node/error.h"
#include "node/log.h"

#define MIB (1024 * 1024)

/* Everything one process of the benchmark holds. */
struct bench {
    uv_loop_t *loop;
    uv_tcp_t listener;
    struct identity *server_id, *client_id; /* outlive the contexts */
    struct tls_context *server_ctx, *client_ctx;
    char server_fp[64], client_fp[64];
    struct tls_conn *client;
    unsigned char *data; /* one write's worth of bytes */
    size_t chunk, total, sent, received;
    uint64_t start, end;
    int failed;
};

static struct bench bench;

/* ---- the server: count what arrives, answer with one byte ---- */

static int on_verify_client(struct tls_conn *conn, const char *fingerprint)
{
    return strcmp(fingerprint, bench.client_fp) == 0 ? 0 : OER_ECRYPTO;
}

static void on_server_read(struct tls_conn *conn, const void *data, size_t len)
{
    bench.received += len;
    if (bench.received == bench.total)
        tls_conn_write(conn, "k", 1);
}

static void on_server_close(struct tls_conn *conn, enum tls_end end)
{
    if (end != TLS_END_CLEAN || bench.received != bench.total) {
        fprintf(stderr, "tls_bench: server ended %s after %zu bytes\n",
                tls_end_name(end), bench.received);
        bench.failed = 1;
    }
    uv_close((uv_handle_t *)&bench.listener, NULL);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct tls_conn_opts opts = {.on_verify = on_verify_client,
                                 .on_read = on_server_read,
                                 .on_close = on_server_close};
    struct tls_conn *conn;

    if (status < 0 ||
        tls_conn_accept(&conn, bench.server_ctx, listener, &opts) < 0) {
        bench.failed = 1;
        uv_close((uv_handle_t *)listener, NULL);
    }
}

/* Listen on 127.0.0.1, any free port; returns the port or -1. */
static int listen_any(void)
{
    struct sockaddr_storage ss;
    struct sockaddr_in addr;
    int len = sizeof(ss);

    uv_ip4_addr("127.0.0.1", 0, &addr);
    if (uv_tcp_init(bench.loop, &bench.listener) != 0 ||
        uv_tcp_bind(&bench.listener, (struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&bench.listener, 8, on_connection) != 0 ||
        uv_tcp_getsockname(&bench.listener, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* ---- the client: write until the queue is full, go on at on_drain ---- */

static int on_verify_server(struct tls_conn *conn, const char *fingerprint)
{
    return strcmp(fingerprint, bench.server_fp) == 0 ? 0 : OER_ECRYPTO;
}

static void pump(struct tls_conn *conn)
{
    while (bench.sent < bench.total) {
        size_t n = bench.total - bench.sent;
        int r;

        if (n > bench.chunk)
            n = bench.chunk;
        r = tls_conn_write(conn, bench.data, n);
        if (r < 0) {
            bench.failed = 1;
            tls_conn_close(conn);
            return;
        }
        bench.sent += n;
        if (r == TLS_CONN_FULL)
            return;
    }
}

static void on_client_handshake(struct tls_conn *conn, int status)
{
    if (status != 0)
        return;
    bench.start = uv_hrtime();
    pump(conn);
}

static void on_client_read(struct tls_conn *conn, const void *data, size_t len)
{
    bench.end = uv_hrtime();
    tls_conn_close(conn);
}

static void on_client_close(struct tls_conn *conn, enum tls_end end)
{
    if (end != TLS_END_LOCAL || bench.end == 0) {
        fprintf(stderr, "tls_bench: client ended %s after %zu bytes\n",
                tls_end_name(end), bench.sent);
        bench.failed = 1;
    }
}

static int connect_to(int port)
{
    struct tls_conn_opts opts = {.on_verify = on_verify_server,
                                 .on_handshake = on_client_handshake,
                                 .on_read = on_client_read,
                                 .on_drain = pump,
                                 .on_close = on_client_close};
    struct sockaddr_in addr;

    uv_ip4_addr("127.0.0.1", port, &addr);
    return tls_conn_connect(&bench.client, bench.client_ctx, bench.loop,
                            (struct sockaddr *)&addr, &opts);
}

/* ---- setup: identities in a temporary folder, then contexts ---- */

static int make_side(struct identity **id, struct tls_context **ctx, char *fp,
                     const char *dir, const char *name)
{
    struct identity_pub pub;
    char path[512];
    int err;

    snprintf(path, sizeof(path), "%s/%s.pem", dir, name);
    err = identity_generate(id, path);
    if (err == 0)
        err = tls_context_new(ctx, *id);
    if (err == 0) {
        identity_public(&pub, *id);
        identity_fingerprint(fp, 64, &pub);
    }
    unlink(path);
    return err;
}

static int setup(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    int err;

    snprintf(dir, sizeof(dir), "%s/oernode-tls-bench-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("tls_bench: mkdtemp");
        return -1;
    }
    err = make_side(&bench.server_id, &bench.server_ctx, bench.server_fp, dir,
                    "server");
    if (err == 0)
        err = make_side(&bench.client_id, &bench.client_ctx, bench.client_fp,
                        dir, "client");
    rmdir(dir);
    if (err != 0)
        fprintf(stderr, "tls_bench: identities: %s\n", error_name(err));
    return err;
}

/* ---- the two ways to run ---- */

static int run_one_loop(void)
{
    int port;

    bench.loop = uv_default_loop();
    port = listen_any();
    if (port < 0 || connect_to(port) < 0)
        return -1;
    uv_run(bench.loop, UV_RUN_DEFAULT);
    return bench.failed ? -1 : 0;
}

/* The server in a child with its own loop; its port comes by a pipe. */
static int run_two_processes(void)
{
    int fds[2], port = -1, status = 0;
    pid_t pid;

    if (pipe(fds) != 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fds[0]);
        bench.loop = uv_default_loop();
        port = listen_any();
        if (write(fds[1], &port, sizeof(port)) != sizeof(port) || port < 0)
            _exit(1);
        close(fds[1]);
        uv_run(bench.loop, UV_RUN_DEFAULT);
        _exit(bench.failed ? 1 : 0);
    }
    close(fds[1]);
    if (read(fds[0], &port, sizeof(port)) != sizeof(port))
        port = -1;
    close(fds[0]);
    bench.loop = uv_default_loop();
    if (port < 0 || connect_to(port) < 0)
        bench.failed = 1;
    else
        uv_run(bench.loop, UV_RUN_DEFAULT);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        bench.failed = 1;
    return bench.failed ? -1 : 0;
}

static double cpu_seconds(int who)
{
    struct rusage ru;

    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int usage(void)
{
    fputs("usage: tls_bench [-n MIB] [-w BYTES] [--fork]\n"
          "  -n, --mib MIB      MiB to send (default 512)\n"
          "  -w, --write BYTES  bytes a write (default 65536)\n"
          "  -f, --fork         server in a child process\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"mib", required_argument, NULL, 'n'},
        {"write", required_argument, NULL, 'w'},
        {"fork", no_argument, NULL, 'f'},
        {0}};
    unsigned long mib = 512, chunk = 65536;
    int opt, fork_mode = 0, rc;
    double seconds, cpu;

    while ((opt = getopt_long(argc, argv, "n:w:f", opts, NULL)) != -1) {
        if (opt == 'n')
            mib = strtoul(optarg, NULL, 10);
        else if (opt == 'w')
            chunk = strtoul(optarg, NULL, 10);
        else if (opt == 'f')
            fork_mode = 1;
        else
            return usage();
    }
    if (optind < argc || mib == 0 || chunk == 0 || chunk > 64 * MIB)
        return usage();

    log_set_level(LOG_LEVEL_WARN);
    bench.total = (size_t)mib * MIB;
    bench.chunk = chunk;
    bench.data = malloc(chunk);
    if (bench.data == NULL || setup() != 0)
        return 1;
    for (size_t i = 0; i < chunk; i++)
        bench.data[i] = (unsigned char)(i * 131 + (i >> 9));

    rc = fork_mode ? run_two_processes() : run_one_loop();
    tls_context_free(bench.server_ctx);
    tls_context_free(bench.client_ctx);
    identity_free(bench.server_id);
    identity_free(bench.client_id);
    free(bench.data);
    if (rc != 0) {
        fprintf(stderr, "tls_bench: the transfer failed\n");
        return 1;
    }

    seconds = (double)(bench.end - bench.start) / 1e9;
    cpu = cpu_seconds(RUSAGE_SELF) + cpu_seconds(RUSAGE_CHILDREN);
    printf("%.1f MiB/s\t%lu MiB in %.3f s, %lu-byte writes, %s, "
           "%.2f s cpu in all\n",
           (double)mib / seconds, mib, seconds, chunk,
           fork_mode ? "two processes" : "one loop", cpu);
    return 0;
}
