/*
 * Tests of federation/identity: the key file, the OpenSSH public forms,
 * and SSH signatures checked against the real ssh-keygen and git.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "federation/identity.h"
#include "node/error.h"
#include "node/log.h"
#include "testutil.h"

#define MESSAGE "tree 4b825dc6\n\ncatalogue update\n"

static char *join(const char *dir, const char *name)
{
    char *path = NULL;

    if (asprintf(&path, "%s/%s", dir, name) < 0)
        abort();
    return path;
}

static void remove_dir(char *dir)
{
    assert_int_equal(testutil_run(NULL, 0, "rm -rf '%s'", dir), 0);
    free(dir);
}

/* A fresh node key in dir/node.pem. */
static struct identity *new_identity(const char *dir)
{
    struct identity *id = NULL;
    char *path = join(dir, "node.pem");

    assert_int_equal(identity_generate(&id, path), 0);
    free(path);
    return id;
}

/* An OpenSSH key pair made by ssh-keygen at dir/name(.pub). */
static void ssh_keygen(const char *dir, const char *name, const char *type)
{
    assert_int_equal(testutil_run(NULL, 1,
                                  "ssh-keygen -q -t %s -N '' "
                                  "-C teacher@example.org -f '%s/%s'",
                                  type, dir, name),
                     0);
}

static void write_string(const char *dir, const char *name, const char *s)
{
    char *path = join(dir, name);

    testutil_write(path, s, strlen(s));
    free(path);
}

static char *read_in(const char *dir, const char *name)
{
    char *path = join(dir, name);
    char *s = testutil_read(path, NULL);

    assert_non_null(s);
    free(path);
    return s;
}

static void test_generate_and_load(void **state)
{
    char *dir = testutil_tmpdir("identity");
    char *path = join(dir, "node.pem"), *before, *after, *listing = NULL;
    struct identity *id = NULL, *again = NULL, *none = NULL;
    struct identity_pub a, b;
    struct stat st;

    assert_int_equal(identity_generate(&id, path), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    before = testutil_read(path, NULL);
    assert_non_null(strstr(before, "-----BEGIN PRIVATE KEY-----\n"));
    assert_int_equal(testutil_run(NULL, 1,
                                  "openssl pkey -noout -text -in "
                                  "'%s' | grep -q ED25519",
                                  path),
                     0);

    /* A second key never replaces the first, nor leaves files behind. */
    assert_int_equal(identity_generate(&none, path), OER_EEXISTS);
    assert_null(none);
    after = testutil_read(path, NULL);
    assert_string_equal(before, after);
    assert_int_equal(testutil_run(&listing, 0, "ls -A '%s'", dir), 0);
    assert_string_equal(listing, "node.pem\n");

    assert_int_equal(identity_load(&again, path), 0);
    identity_public(&a, id);
    identity_public(&b, again);
    assert_memory_equal(a.key, b.key, sizeof(a.key));

    identity_free(id);
    identity_free(again);
    identity_free(NULL);
    free(before);
    free(after);
    free(listing);
    free(path);
    remove_dir(dir);
}

static void test_load_missing(void **state)
{
    struct identity *id = NULL;

    assert_int_equal(identity_load(&id, "/nonexistent/oernode/node.pem"),
                     OER_ENOTFOUND);
    assert_null(id);
}

static void test_load_refuses_readable_key(void **state)
{
    char *dir = testutil_tmpdir("identity");
    char *path = join(dir, "node.pem");
    struct identity *id = new_identity(dir), *loaded = NULL;
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *log = open_memstream(&logbuf, &loglen);

    assert_int_equal(chmod(path, 0644), 0);
    log_set_stream(log);
    assert_int_equal(identity_load(&loaded, path), OER_ECRYPTO);
    log_set_stream(NULL);
    fclose(log);
    assert_null(loaded);
    assert_non_null(strstr(logbuf, "level=warn mod=identity"));
    assert_non_null(strstr(logbuf, path));

    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(identity_load(&loaded, path), OER_ECRYPTO);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(identity_load(&loaded, path), 0);

    identity_free(id);
    identity_free(loaded);
    free(logbuf);
    free(path);
    remove_dir(dir);
}

static void test_load_refuses_other_keys(void **state)
{
    char *dir = testutil_tmpdir("identity");
    char *rsa = join(dir, "rsa.pem"), *ssh = join(dir, "user");
    char *junk = join(dir, "junk.pem");
    struct identity *id = NULL;

    assert_int_equal(testutil_run(NULL, 1,
                                  "openssl genpkey -algorithm RSA "
                                  "-pkeyopt rsa_keygen_bits:1024 -out '%s' "
                                  "&& chmod 600 '%s'",
                                  rsa, rsa),
                     0);
    assert_int_equal(identity_load(&id, rsa), OER_EINVAL);

    /* An OpenSSH-format Ed25519 key is not PKCS#8. */
    ssh_keygen(dir, "user", "ed25519");
    assert_int_equal(identity_load(&id, ssh), OER_EINVAL);

    write_string(dir, "junk.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n");
    assert_int_equal(chmod(junk, 0600), 0);
    assert_int_equal(identity_load(&id, junk), OER_EINVAL);
    assert_null(id);

    free(rsa);
    free(ssh);
    free(junk);
    remove_dir(dir);
}

/* The fingerprint field of `ssh-keygen -l -f dir/name`. */
static char *keygen_fingerprint(const char *dir, const char *name)
{
    char *out = NULL, *fp;

    assert_int_equal(
        testutil_run(&out, 1, "ssh-keygen -l -f '%s/%s'", dir, name), 0);
    fp = strchr(out, ' ');
    assert_non_null(fp);
    fp = strndup(fp + 1, strcspn(fp + 1, " "));
    free(out);
    return fp;
}

static void test_public_forms_match_ssh_keygen(void **state)
{
    char *dir = testutil_tmpdir("identity");
    struct identity *id = new_identity(dir);
    struct identity_pub pub, parsed;
    char line[128], fp[64], file[160], *want;

    identity_public(&pub, id);
    identity_ssh_public(line, sizeof(line), &pub);
    assert_memory_equal(line, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI", 37);
    assert_int_equal(strlen(line), 80);
    snprintf(file, sizeof(file), "%s\n", line);
    write_string(dir, "node.pub", file);

    identity_fingerprint(fp, sizeof(fp), &pub);
    want = keygen_fingerprint(dir, "node.pub");
    assert_string_equal(fp, want);
    assert_int_equal(strlen(fp), 50);

    assert_int_equal(identity_pub_parse(&parsed, line), 0);
    assert_memory_equal(parsed.key, pub.key, sizeof(pub.key));
    /* The bare base64 blob is accepted too. */
    assert_int_equal(identity_pub_parse(&parsed, line + 12), 0);
    assert_memory_equal(parsed.key, pub.key, sizeof(pub.key));

    identity_free(id);
    free(want);
    remove_dir(dir);
}

static void test_pub_parse(void **state)
{
    char *dir = testutil_tmpdir("identity");
    struct identity_pub pub;
    char fp[64], *text, *want, bad[128];

    ssh_keygen(dir, "user", "ed25519");
    text = read_in(dir, "user.pub");
    assert_int_equal(identity_pub_parse(&pub, text), 0);
    identity_fingerprint(fp, sizeof(fp), &pub);
    want = keygen_fingerprint(dir, "user.pub");
    assert_string_equal(fp, want);

    /* Garbled base64, a cut key, a wrong type name. */
    snprintf(bad, sizeof(bad), "%s", text);
    bad[20] = '!';
    assert_int_equal(identity_pub_parse(&pub, bad), OER_EINVAL);
    snprintf(bad, sizeof(bad), "%.60s", text);
    assert_int_equal(identity_pub_parse(&pub, bad), OER_EINVAL);
    assert_int_equal(identity_pub_parse(&pub, ""), OER_EINVAL);
    assert_int_equal(identity_pub_parse(&pub, "ssh-ed25519"), OER_EINVAL);
    free(text);

    ssh_keygen(dir, "ecdsa", "ecdsa");
    text = read_in(dir, "ecdsa.pub");
    assert_int_equal(identity_pub_parse(&pub, text), OER_EINVAL);
    assert_int_equal(identity_pub_parse(&pub, strchr(text, ' ') + 1),
                     OER_EINVAL);

    free(text);
    free(want);
    remove_dir(dir);
}

/* dir/allowed_signers naming key line for principal node@oer.test. */
static void write_allowed(const char *dir, const struct identity_pub *pub)
{
    char line[128], file[200];

    identity_ssh_public(line, sizeof(line), pub);
    snprintf(file, sizeof(file), "node@oer.test %s\n", line);
    write_string(dir, "allowed_signers", file);
}

static void test_sign_verified_by_ssh_keygen(void **state)
{
    char *dir = testutil_tmpdir("identity");
    struct identity *id = new_identity(dir);
    struct identity_pub pub, signer;
    char *sig = NULL, *data = join(dir, "data"), *out = NULL;
    const char *line;

    identity_public(&pub, id);
    write_allowed(dir, &pub);
    testutil_write(data, MESSAGE, strlen(MESSAGE));
    assert_int_equal(identity_sign(&sig, id, MESSAGE, strlen(MESSAGE)), 0);
    write_string(dir, "data.sig", sig);

    /* The armor is ssh-keygen's: 70-character lines. */
    assert_memory_equal(sig, "-----BEGIN SSH SIGNATURE-----\n", 30);
    line = sig + 30;
    assert_int_equal(strchr(line, '\n') - line, 70);
    assert_non_null(strstr(sig, "\n-----END SSH SIGNATURE-----\n"));

    assert_int_equal(testutil_run(&out, 1,
                                  "cd '%s' && ssh-keygen -Y verify "
                                  "-f allowed_signers -I node@oer.test "
                                  "-n git -s data.sig < data",
                                  dir),
                     0);
    assert_non_null(strstr(out, "Good \"git\" signature for node@oer.test"));
    free(out);
    assert_int_not_equal(testutil_run(NULL, 1,
                                      "cd '%s' && echo x >> data && "
                                      "ssh-keygen -Y verify -f "
                                      "allowed_signers -I node@oer.test "
                                      "-n git -s data.sig < data",
                                      dir),
                         0);

    assert_int_equal(
        identity_verify(&pub, sig, MESSAGE, strlen(MESSAGE), &signer), 0);
    assert_memory_equal(signer.key, pub.key, sizeof(pub.key));

    identity_free(id);
    free(sig);
    free(data);
    remove_dir(dir);
}

/* ssh-keygen -Y sign of MESSAGE with dir/key; returns the armor. */
static char *keygen_sign(const char *dir, const char *key, const char *ns,
                         const char *opts)
{
    write_string(dir, "msg", MESSAGE);
    assert_int_equal(testutil_run(NULL, 1,
                                  "cd '%s' && rm -f msg.sig && "
                                  "ssh-keygen -q -Y sign -f %s -n %s %s msg",
                                  dir, key, ns, opts),
                     0);
    return read_in(dir, "msg.sig");
}

static struct identity_pub keygen_pub(const char *dir, const char *name)
{
    struct identity_pub pub;
    char *text = read_in(dir, name);

    assert_int_equal(identity_pub_parse(&pub, text), 0);
    free(text);
    return pub;
}

static void test_ssh_keygen_signature_verifies(void **state)
{
    char *dir = testutil_tmpdir("identity");
    struct identity_pub pub, signer;
    char *sig;

    ssh_keygen(dir, "user", "ed25519");
    pub = keygen_pub(dir, "user.pub");
    sig = keygen_sign(dir, "user", "git", "");
    assert_int_equal(
        identity_verify(&pub, sig, MESSAGE, strlen(MESSAGE), &signer), 0);
    assert_memory_equal(signer.key, pub.key, sizeof(pub.key));
    free(sig);

    sig = keygen_sign(dir, "user", "git", "-O hashalg=sha256");
    assert_int_equal(identity_verify(&pub, sig, MESSAGE, strlen(MESSAGE), NULL),
                     0);
    free(sig);
    remove_dir(dir);
}

static void test_refusals(void **state)
{
    char *dir = testutil_tmpdir("identity");
    struct identity *id = new_identity(dir);
    struct identity_pub pub, node, signer;
    size_t n = strlen(MESSAGE);
    char *sig, *bad;

    ssh_keygen(dir, "user", "ed25519");
    pub = keygen_pub(dir, "user.pub");
    identity_public(&node, id);
    sig = keygen_sign(dir, "user", "git", "");

    /* Well formed, but other data or another key. */
    assert_int_equal(identity_verify(&pub, sig, MESSAGE, n - 1, NULL),
                     OER_ECRYPTO);
    assert_int_equal(identity_verify(&node, sig, MESSAGE, n, &signer),
                     OER_ECRYPTO);
    assert_memory_equal(signer.key, pub.key, sizeof(pub.key));

    /* Truncated, garbled, or followed by something. */
    bad = strdup(sig);
    bad[strlen(sig) / 2] = '\0';
    assert_int_equal(identity_verify(&pub, bad, MESSAGE, n, &signer),
                     OER_EINVAL);
    assert_memory_equal(signer.key, (unsigned char[32]){0}, 32);
    free(bad);
    bad = strdup(sig);
    bad[45] = '!';
    assert_int_equal(identity_verify(&pub, bad, MESSAGE, n, NULL), OER_EINVAL);
    bad[45] = ' ';
    assert_int_equal(identity_verify(&pub, bad, MESSAGE, n, NULL), OER_EINVAL);
    free(bad);
    if (asprintf(&bad, "%sx\n", sig) < 0)
        abort();
    assert_int_equal(identity_verify(&pub, bad, MESSAGE, n, NULL), OER_EINVAL);
    free(bad);
    assert_int_equal(identity_verify(&pub, sig + 1, MESSAGE, n, NULL),
                     OER_EINVAL);
    assert_int_equal(identity_verify(&pub, "", MESSAGE, n, NULL), OER_EINVAL);
    free(sig);

    /* Another namespace; another key type. */
    sig = keygen_sign(dir, "user", "file", "");
    assert_int_equal(identity_verify(&pub, sig, MESSAGE, n, NULL), OER_EINVAL);
    free(sig);
    ssh_keygen(dir, "ecdsa", "ecdsa");
    sig = keygen_sign(dir, "ecdsa", "git", "");
    assert_int_equal(identity_verify(&pub, sig, MESSAGE, n, NULL), OER_EINVAL);
    free(sig);

    identity_free(id);
    remove_dir(dir);
}

/* The blob inside an armor, decoded with OpenSSL; returns its length. */
static size_t unarmor(unsigned char *blob, const char *armored)
{
    char b64[1024];
    const char *p = strchr(armored, '\n') + 1;
    const char *end = strstr(armored, "-----END");
    size_t k = 0, pad = 0;
    int n;

    for (; p < end; p++)
        if (*p != '\n')
            b64[k++] = *p;
    while (b64[k - 1 - pad] == '=')
        pad++;
    n = EVP_DecodeBlock(blob, (unsigned char *)b64, (int)k);
    assert_true(n > 0);
    return (size_t)n - pad;
}

static char *rearmor(const unsigned char *blob, size_t len)
{
    char b64[1024], *out = malloc(2048);
    size_t n = (size_t)EVP_EncodeBlock((unsigned char *)b64, blob, (int)len);
    size_t o = (size_t)sprintf(out, "-----BEGIN SSH SIGNATURE-----\n");

    for (size_t i = 0; i < n; i += 70)
        o += (size_t)sprintf(out + o, "%.70s\n", b64 + i);
    sprintf(out + o, "-----END SSH SIGNATURE-----\n");
    return out;
}

/* Replace the first n bytes equal to from in blob with to, and verify. */
static int verify_edited(const struct identity_pub *pub, const char *sig,
                         const char *from, const char *to, size_t n, int append)
{
    unsigned char blob[1024], *at;
    size_t len = unarmor(blob, sig);
    char *edited;
    int err;

    at = memmem(blob, len, from, n);
    assert_non_null(at);
    memcpy(at, to, n);
    if (append)
        blob[len++] = 0;
    edited = rearmor(blob, len);
    err = identity_verify(pub, edited, MESSAGE, strlen(MESSAGE), NULL);
    free(edited);
    return err;
}

#define EDIT(from, to, append)                                                 \
    verify_edited(&pub, sig, from, to, sizeof(from) - 1, append)

static void test_blob_is_checked_field_by_field(void **state)
{
    char *dir = testutil_tmpdir("identity");
    struct identity *id = new_identity(dir);
    struct identity_pub pub;
    unsigned char blob[1024];
    char *sig = NULL, *same;

    identity_public(&pub, id);
    assert_int_equal(identity_sign(&sig, id, MESSAGE, strlen(MESSAGE)), 0);

    /* Decoding and encoding again gives the very same armor. */
    same = rearmor(blob, unarmor(blob, sig));
    assert_string_equal(same, sig);
    free(same);

    assert_int_equal(EDIT("sha512", "sha512", 0), 0);
    assert_int_equal(EDIT("SSHSIG", "SSHSIH", 0), OER_EINVAL);
    assert_int_equal(EDIT("SIG\0\0\0\1", "SIG\0\0\0\2", 0), OER_EINVAL);
    assert_int_equal(EDIT("ssh-ed25519", "ssh-ed25518", 0), OER_EINVAL);
    assert_int_equal(EDIT("\3git", "\3gjt", 0), OER_EINVAL);
    assert_int_equal(EDIT("sha512", "sha384", 0), OER_EINVAL);
    assert_int_equal(EDIT("sha512", "sha512", 1), OER_EINVAL);
    /* Well formed but hashed otherwise than it says. */
    assert_int_equal(EDIT("sha512", "sha256", 0), OER_ECRYPTO);

    identity_free(id);
    free(sig);
    remove_dir(dir);
}

/* Run git in the repository dir with a clean configuration. */
#define GIT                                                                    \
    "cd '%s' && HOME='%s' GIT_CONFIG_NOSYSTEM=1 "                              \
    "GIT_AUTHOR_DATE='1700000000 +0000' "                                      \
    "GIT_COMMITTER_DATE='1700000000 +0000' "                                   \
    "GIT_AUTHOR_NAME=node GIT_AUTHOR_EMAIL=node@oer.test "                     \
    "GIT_COMMITTER_NAME=node GIT_COMMITTER_EMAIL=node@oer.test git "

/* The commit text with sig as its gpgsig header, after the committer. */
static char *with_gpgsig(const char *commit, const char *sig)
{
    const char *body = strstr(commit, "\n\n");
    char *out = malloc(strlen(commit) + 2 * strlen(sig) + 16), *o = out;

    assert_non_null(body);
    o += sprintf(o, "%.*sgpgsig ", (int)(body + 1 - commit), commit);
    for (const char *p = sig; *p != '\0'; p++) {
        *o++ = *p;
        if (*p == '\n' && p[1] != '\0')
            *o++ = ' ';
    }
    strcpy(o, body + 1);
    return out;
}

/* Write text as a commit object, point HEAD at it, run verify-commit. */
static int git_verify(const char *dir, const char *text, char **out)
{
    write_string(dir, "commit.txt", text);
    assert_int_equal(testutil_run(NULL, 1,
                                  GIT "update-ref HEAD "
                                      "$(git hash-object -t commit -w "
                                      "commit.txt)",
                                  dir, dir),
                     0);
    return testutil_run(out, 1,
                        GIT "-c gpg.format=ssh "
                            "-c gpg.ssh.allowedSignersFile=../allowed_signers "
                            "verify-commit HEAD",
                        dir, dir);
}

static void test_git_verifies_signed_commit(void **state)
{
    char *dir = testutil_tmpdir("identity");
    char *repo = join(dir, "repo");
    struct identity *id = new_identity(dir);
    struct identity_pub pub;
    char *commit = NULL, *sig = NULL, *signed_text, *out = NULL, *at;

    identity_public(&pub, id);
    write_allowed(dir, &pub);
    assert_int_equal(testutil_run(NULL, 1, "git init -q '%s'", repo), 0);
    assert_int_equal(testutil_run(&commit, 0,
                                  GIT "cat-file commit "
                                      "$(git commit-tree -m 'catalogue update' "
                                      "$(git mktree </dev/null))",
                                  repo, repo),
                     0);
    assert_int_equal(identity_sign(&sig, id, commit, strlen(commit)), 0);
    signed_text = with_gpgsig(commit, sig);

    assert_int_equal(git_verify(repo, signed_text, &out), 0);
    assert_non_null(strstr(out, "Good \"git\" signature for node@oer.test"));
    free(out);

    /* The same signature over an altered message fails. */
    at = strstr(signed_text, "catalogue update");
    at[0] = 'C';
    assert_int_not_equal(git_verify(repo, signed_text, &out), 0);
    free(out);

    identity_free(id);
    free(commit);
    free(sig);
    free(signed_text);
    free(repo);
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_and_load),
        cmocka_unit_test(test_load_missing),
        cmocka_unit_test(test_load_refuses_readable_key),
        cmocka_unit_test(test_load_refuses_other_keys),
        cmocka_unit_test(test_public_forms_match_ssh_keygen),
        cmocka_unit_test(test_pub_parse),
        cmocka_unit_test(test_sign_verified_by_ssh_keygen),
        cmocka_unit_test(test_ssh_keygen_signature_verifies),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_blob_is_checked_field_by_field),
        cmocka_unit_test(test_git_verifies_signed_commit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
