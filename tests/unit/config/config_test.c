/*
 * Tests of config/config: defaults, peers as subsections, and an error
 * naming the file and the key for each kind of mistake.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "node/error.h"
#include "testutil.h"

static char *dir;
static char path[600];

static int load_text(struct config **out, struct config_error *err,
                     const char *text)
{
    testutil_write(path, text, strlen(text));
    return config_load(out, path, err);
}

/* The file must be refused, naming the file and key, with detail in the
 * reason. */
static void refused(const char *text, const char *key, const char *detail)
{
    struct config *c = NULL;
    struct config_error err;

    assert_int_equal(load_text(&c, &err, text), OER_EINVAL);
    assert_null(c);
    assert_string_equal(err.file, path);
    assert_string_equal(err.key, key);
    if (strstr(err.detail, detail) == NULL)
        fail_msg("detail \"%s\" lacks \"%s\"", err.detail, detail);
}

static void test_defaults(void **state)
{
    struct config *c = NULL;
    char *printed = NULL, want[700];
    size_t len = 0;
    FILE *f;

    assert_int_equal(load_text(&c, NULL, "[node]\n\tid = be-vl\n"), 0);
    assert_string_equal(c->node_id, "be-vl");
    assert_string_equal(c->data_dir, dir);
    assert_string_equal(c->listen_peer, "127.0.0.1:7440");
    assert_string_equal(c->listen_http, "127.0.0.1:8080");
    assert_int_equal(c->log_level, LOG_LEVEL_INFO);
    assert_int_equal(c->peer_count, 0);
    assert_int_equal(c->policy.accept.count, 1);
    assert_string_equal(c->policy.accept.names[0], "*");
    assert_string_equal(c->policy.offer.names[0], "*");
    assert_int_equal(c->policy.relay, 1);
    assert_int_equal(c->policy.commercial, 0);
    assert_int_equal(c->policy.adapts, 0);
    assert_string_equal(c->admin_email, CONFIG_ADMIN_EMAIL);
    assert_int_equal(c->oai_page_size, CONFIG_OAI_PAGE);
    assert_null(c->oai_base_url);

    f = open_memstream(&printed, &len);
    config_print(f, c);
    fclose(f);
    snprintf(want, sizeof(want), "[node]\n\tid = be-vl\n\tdata = %s\n", dir);
    assert_non_null(strstr(printed, want));
    assert_non_null(strstr(printed, "\tpeer = 127.0.0.1:7440\n"));
    assert_non_null(strstr(printed, "\tcommercial = no\n"));
    assert_non_null(strstr(printed, "\tlevel = info\n"));
    assert_non_null(strstr(printed, "[search]\n\tpeer-rate = 50\n"));
    free(printed);
    config_free(c);
}

static const char full[] =
    "[node]\n\tid = nl-school\n\tdata = store\n"
    "\tadmin-email = oai@school.example.org\n[oai]\n\tpage-size = 7\n"
    "\tbase-url = https://oer.school.example.org:8443/repo/oai\n"
    "[listen]\n\tpeer = [::1]:7441\n\thttp = 0.0.0.0:0\n"
    "[log]\n\tlevel = debug\n[search]\n\tpeer-rate = 5\n"
    "[policy]\n\taccept = be-vl\n\taccept = nl-edurep\n\trelay = no\n"
    "\tcommercial = yes\n\tadapts\n"
    "[peer \"nl-edurep\"]\n\taddress = edurep.example.org:7440\n"
    "\tfingerprint = SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s\n"
    "[peer \"be-vl\"]\n\taddress = 192.0.2.7:7440\n"
    "\tfingerprint = SHA256:4bH3TzU2Dz0bJ4kI6Wq0eDqy2v1yRjTQnHkHzZ8k0wA\n";

/* A configuration read by a relative path: its data folder is absolute,
 * so that what oernode config prints means the same from anywhere. */
static void test_relative_path(void **state)
{
    struct config *c = NULL;
    char cwd[600], want[700];
    const char *base = strrchr(dir, '/') + 1;
    static const char text[] = "[node]\n\tid = be-vl\n\tdata = store\n";

    (void)state;
    testutil_write(path, text, strlen(text));
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(chdir(".."), 0);
    snprintf(want, sizeof(want), "%s/config", base);
    assert_int_equal(config_load(&c, want, NULL), 0);
    assert_int_equal(chdir(cwd), 0);
    snprintf(want, sizeof(want), "%s/store", dir);
    assert_string_equal(c->data_dir, want);
    config_free(c);
}

static void test_everything_set(void **state)
{
    struct config *c = NULL;
    char want[700];

    assert_int_equal(load_text(&c, NULL, full), 0);
    snprintf(want, sizeof(want), "%s/store", dir);
    assert_string_equal(c->data_dir, want);
    assert_string_equal(c->listen_peer, "[::1]:7441");
    assert_string_equal(c->listen_http, "0.0.0.0:0");
    assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);
    assert_string_equal(c->admin_email, "oai@school.example.org");
    assert_int_equal(c->oai_page_size, 7);
    assert_int_equal(c->search_peer_rate, 5);
    assert_string_equal(c->oai_base_url,
                        "https://oer.school.example.org:8443/repo/oai");
    assert_int_equal(c->policy.accept.count, 2);
    assert_string_equal(c->policy.accept.names[1], "nl-edurep");
    assert_int_equal(c->policy.relay, 0);
    assert_int_equal(c->policy.commercial, 1);
    assert_int_equal(c->policy.adapts, 1);

    assert_int_equal(c->peer_count, 2);
    assert_string_equal(c->peers[0].name, "nl-edurep");
    assert_string_equal(c->peers[0].address, "edurep.example.org:7440");
    assert_string_equal(c->peers[1].name, "be-vl");
    assert_string_equal(c->peers[1].fingerprint,
                        "SHA256:4bH3TzU2Dz0bJ4kI6Wq0eDqy2v1yRjTQnHkHzZ8k0wA");
    config_free(c);
}

static void test_errors_name_file_and_key(void **state)
{
    refused("[listen]\n\tpeer = 127.0.0.1:7440\n", "node.id", "missing");
    refused("[node]\n\tid = Be_VL\n", "node.id", "bad node id");
    refused("[node]\n\tid = be-vl\n\tadmin-email = nobody\n",
            "node.admin-email", "bad address");
    refused("[node]\n\tid = be-vl\n[oai]\n\tpage-size = 0\n",
            "oai.page-size", "expected 1 to 1000");
    refused("[node]\n\tid = be-vl\n[search]\n\tpeer-rate = 20000\n",
            "search.peer-rate", "expected 1 to 10000");
    refused("[node]\n\tid = be-vl\n[search]\n\tpeer-rate = -1\n",
            "search.peer-rate", "bad value '-1'");
    refused("[node]\n\tid = be-vl\n[oai]\n\tbase-url = oer.example.org/oai\n",
            "oai.base-url", "bad URL 'oer.example.org/oai'");
    refused("[node]\n\tid = be-vl\n[oai]\n\tbase-url = ftp://oer.example.org\n",
            "oai.base-url", "bad URL");
    refused("[node]\n\tid = be-vl\n[oai]\n\tbase-url = https:///oai\n",
            "oai.base-url", "bad URL");
    refused("[node]\n\tid = be-vl\n[oai]\n"
            "\tbase-url = https://oer.example.org/oai?verb=Identify\n",
            "oai.base-url", "bad URL");
    refused("[node]\n\tid = be-vl\n[oai]\n"
            "\tbase-url = https://user@oer.example.org/oai\n",
            "oai.base-url", "bad URL");
    refused("[node]\n\tid = be-vl\n\tcolour = red\n", "node.colour",
            "unknown key");
    refused("[node]\n\tid = be-vl\n[server]\n\tport = 1\n", "server.port",
            "unknown key");
    refused("[node]\n\tid = be-vl\n[log]\n\tlevel = loud\n", "log.level",
            "bad value 'loud'");
    refused("[node]\n\tid = be-vl\n[policy]\n\tcommercial = maybe\n",
            "policy.commercial", "expected yes or no");
    refused("[node]\n\tid = be-vl\n[policy]\n\taccept = Not An Id\n",
            "policy.accept", "bad origin");
    refused("[node]\n\tid = be-vl\n[listen]\n\thttp = localhost\n",
            "listen.http", "bad address");
    refused("[node]\n\tid = be-vl\n[listen]\n\thttp = localhost:99999\n",
            "listen.http", "port 0 to 65535");
    refused("[node]\n\tid = be-vl\n[listen]\n\tpeer = 10.0.0.300:80\n",
            "listen.peer", "bad address");
    refused("[node]\n\tid = be-vl\n[listen]\n\tpeer = ::1:80\n", "listen.peer",
            "bad address");
    refused("[node]\n\tid = be-vl\n[peer \"nl\"]\n\taddress = x.org:7440\n"
            "\tfingerprint = MD5:aa:bb\n",
            "peer.nl.fingerprint", "bad fingerprint");
    refused("[node]\n\tid = be-vl\n[peer \"nl\"]\n\taddress = x.org:0\n",
            "peer.nl.address", "bad address");
    refused("[node]\n\tid = be-vl\n[peer \"nl\"]\n\taddress = x.org:7440\n",
            "peer.nl.fingerprint", "missing");
    refused("[node]\n\tid = be-vl\n[peer \"nl\"]\n\turl = x\n", "peer.nl.url",
            "unknown key");
    refused("[node]\n\tid = be-vl\n[peer \"NL EDU\"]\n\taddress = x:1\n",
            "peer.NL EDU.address", "bad peer name");
    refused("[node\n\tid = be-vl\n", "", "");
}

static const char policy_text[] =
    "[node]\n\tid = be-vl\n"
    "[policy]\n\toffer = none\n\tlevel = 2\n\tlevel = 344\n"
    "\tsubject = sciences\n"
    "[peer \"nl-edurep\"]\n\taddress = edurep.example.org:7440\n"
    "\tfingerprint = SHA256:4bH3TzU2Dz0bJ4kI6Wq0eDqy2v1yRjTQnHkHzZ8k0wA\n"
    "\toffer = be-vl\n\toffer = *\n\taccept = none\n\trelay = no\n"
    "\tintroduce-keys\n\tlevel = 1\n\tsubject = mathematics\n"
    "[peer \"de-nrw\"]\n\taddress = nrw.example.org:7440\n"
    "\tfingerprint = SHA256:4bH3TzU2Dz0bJ4kI6Wq0eDqy2v1yRjTQnHkHzZ8k0wA\n"
    "[origin \"fr-edu\"]\n"
    "\tkey = ssh-ed25519 "
    "AAAAC3NzaC1lZDI1NTE5AAAAIGCRRdI4aRZKw4lYwr0LuY76uWAwDdJMVhlMb8Oxk/W6\n";

static void test_policy_and_overrides(void **state)
{
    struct config *c = NULL;
    const struct config_peer *p;
    char *printed = NULL;
    size_t len = 0;
    FILE *f;

    assert_int_equal(load_text(&c, NULL, policy_text), 0);
    assert_int_equal(c->policy.offer.count, 1);
    assert_string_equal(c->policy.offer.names[0], "none");
    assert_int_equal(c->policy.levels.count, 2);
    assert_string_equal(c->policy.levels.names[1], "344");
    assert_string_equal(c->policy.subjects.names[0], "sciences");

    p = config_peer_find(c, "nl-edurep");
    assert_non_null(p);
    assert_int_equal(p->offer.count, 2);
    assert_string_equal(p->accept.names[0], "none");
    assert_int_equal(p->relay, 0);
    assert_int_equal(p->introduce_keys, 1);
    assert_string_equal(p->levels.names[0], "1");
    assert_string_equal(p->subjects.names[0], "mathematics");
    p = config_peer_find(c, "de-nrw");
    assert_int_equal(p->relay, -1);
    assert_int_equal(p->introduce_keys, 0);
    assert_int_equal(p->offer.count, 0);
    assert_null(config_peer_find(c, "xx"));

    assert_non_null(config_origin_key(c, "fr-edu"));
    assert_null(config_origin_key(c, "be-vl"));

    f = open_memstream(&printed, &len);
    config_print(f, c);
    fclose(f);
    assert_non_null(strstr(printed, "\toffer = none\n\tlevel = 2\n"));
    assert_non_null(strstr(printed, "\tintroduce-keys = yes\n"));
    assert_non_null(strstr(printed, "[origin \"fr-edu\"]\n\tkey = ssh-"));
    free(printed);
    config_free(c);
}

static void test_policy_errors(void **state)
{
    static const char peer[] =
        "[node]\n\tid = be-vl\n[peer \"nl\"]\n\taddress = x.org:7440\n"
        "\tfingerprint = SHA256:4bH3TzU2Dz0bJ4kI6Wq0eDqy2v1yRjTQnHkHzZ8k0wA\n";
    char text[600];

    refused("[node]\n\tid = be-vl\n[policy]\n\tlevel = 9\n", "policy.level",
            "bad level '9'");
    refused("[node]\n\tid = be-vl\n[policy]\n\tlevel = secondary\n",
            "policy.level", "ISCED 2011");
    refused("[node]\n\tid = be-vl\n[policy]\n\tsubject = Maths!\n",
            "policy.subject", "bad subject");
    refused("[node]\n\tid = be-vl\n[policy]\n\toffer = none\n"
            "\toffer = be-vl\n",
            "policy.offer", "none cannot be listed");
    snprintf(text, sizeof(text), "%s\toffer = Bad Id\n", peer);
    refused(text, "peer.nl.offer", "bad origin");
    snprintf(text, sizeof(text), "%s\taccept = none\n\taccept = *\n", peer);
    refused(text, "peer.nl.accept", "none cannot be listed");
    snprintf(text, sizeof(text), "%s\trelay = often\n", peer);
    refused(text, "peer.nl.relay", "expected yes or no");
    snprintf(text, sizeof(text), "%s\tintroduce-keys = sometimes\n", peer);
    refused(text, "peer.nl.introduce-keys", "expected yes or no");
    snprintf(text, sizeof(text), "%s\tlevel = x\n", peer);
    refused(text, "peer.nl.level", "bad level");
    snprintf(text, sizeof(text), "%s\tcolour = red\n", peer);
    refused(text, "peer.nl.colour", "unknown key");
    refused("[node]\n\tid = be-vl\n[peer \"nl\"]\n\toffer = *\n",
            "peer.nl.address", "missing");
    refused("[node]\n\tid = be-vl\n[origin \"fr\"]\n\tkey = ssh-rsa AAAA\n",
            "origin.fr.key", "bad key");
    refused("[node]\n\tid = be-vl\n[origin \"fr\"]\n\tcolour = red\n",
            "origin.fr.colour", "unknown key");
    refused("[node]\n\tid = be-vl\n[origin \"F R\"]\n\tkey = x\n",
            "origin.F R.key", "bad origin");
}

static void test_missing_file(void **state)
{
    struct config *c = NULL;
    struct config_error err;
    char missing[700];

    snprintf(missing, sizeof(missing), "%s/none", dir);
    assert_int_equal(config_load(&c, missing, &err), OER_ENOTFOUND);
    assert_string_equal(err.file, missing);
    assert_string_equal(err.detail, "no such file");
}

static void test_write_new(void **state)
{
    struct config *c = NULL;
    char fresh[700];

    snprintf(fresh, sizeof(fresh), "%s/fresh", dir);
    assert_int_equal(config_write_new(fresh, "de-nrw"), 0);
    assert_int_equal(config_write_new(fresh, "de-other"), OER_EEXISTS);
    assert_int_equal(config_load(&c, fresh, NULL), 0);
    assert_string_equal(c->node_id, "de-nrw");
    config_free(c);

    /* stock git reads what we wrote */
    assert_int_equal(testutil_run(NULL, 0,
                                  "test \"$(git config -f %s "
                                  "node.id)\" = de-nrw",
                                  fresh),
                     0);
}

static void test_fingerprint_of_ssh_keygen(void **state)
{
    char *out = NULL, fp[128];

    assert_int_equal(testutil_run(NULL, 0,
                                  "ssh-keygen -q -t ed25519 -N '' "
                                  "-f %s/k </dev/null",
                                  dir),
                     0);
    assert_int_equal(testutil_run(&out, 0, "ssh-keygen -l -f %s/k.pub", dir),
                     0);
    assert_int_equal(sscanf(out, "%*d %127s", fp), 1);
    assert_true(config_fingerprint_valid(fp));
    fp[strlen(fp) - 1] = '=';
    assert_false(config_fingerprint_valid(fp));
    assert_false(config_fingerprint_valid("SHA256:short"));
    free(out);
}

static void test_address_parse(void **state)
{
    char host[64];
    unsigned port = 0;

    assert_int_equal(
        config_address_parse(host, sizeof(host), &port, "[2001:db8::1]:7440"),
        0);
    assert_string_equal(host, "2001:db8::1");
    assert_int_equal(port, 7440);
    assert_int_equal(
        config_address_parse(host, sizeof(host), &port, "node.example.org:443"),
        0);
    assert_string_equal(host, "node.example.org");
    assert_int_equal(
        config_address_parse(host, sizeof(host), &port, "example.org:65536"),
        OER_EINVAL);
    assert_int_equal(
        config_address_parse(host, sizeof(host), &port, "-bad.org:1"),
        OER_EINVAL);
    assert_int_equal(config_address_parse(host, sizeof(host), &port, ":80"),
                     OER_EINVAL);
    assert_int_equal(
        config_address_parse(host, sizeof(host), &port, "[1.2.3.4]:80"),
        OER_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_everything_set),
        cmocka_unit_test(test_relative_path),
        cmocka_unit_test(test_errors_name_file_and_key),
        cmocka_unit_test(test_policy_and_overrides),
        cmocka_unit_test(test_policy_errors),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_write_new),
        cmocka_unit_test(test_fingerprint_of_ssh_keygen),
        cmocka_unit_test(test_address_parse),
    };
    int rc;

    dir = testutil_tmpdir("config");
    snprintf(path, sizeof(path), "%s/config", dir);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(dir);
    return rc;
}
