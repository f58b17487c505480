/*
 * keyring: origin keys from the configuration and from the origin-keys
 * folder, and keys introduced by trusted peers written there.
 */
#include "sync/keyring.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node/error.h"
#include "node/log.h"
#include "node/metadata.h"
#include "node/wholefile.h"

#define MOD "keyring"
#define INTRO "# introduced-by "
#define LINE_CAP 512

static int key_path(char *buf, size_t cap, const struct config *c,
                    const char *origin)
{
    int n;

    if (!metadata_valid_origin(origin))
        return OER_EINVAL;
    n = snprintf(buf, cap, "%s/%s/%s.pub", c->data_dir, KEYRING_DIR, origin);
    return n < 0 || (size_t)n >= cap ? OER_EINVAL : 0;
}

/* The key line and the introduction line of a file; "" when absent. */
static int read_lines(char key[LINE_CAP], char intro[LINE_CAP],
                      const char *path)
{
    FILE *f = fopen(path, "r");

    key[0] = intro[0] = '\0';
    if (f == NULL)
        return OER_ENOTFOUND;
    if (fgets(key, LINE_CAP, f) != NULL && fgets(intro, LINE_CAP, f) == NULL)
        intro[0] = '\0';
    fclose(f);
    key[strcspn(key, "\r\n")] = '\0';
    intro[strcspn(intro, "\r\n")] = '\0';
    return 0;
}

int keyring_find(struct identity_pub *out, const struct config *c,
                 const char *origin)
{
    const char *configured = config_origin_key(c, origin);
    char path[4096], key[LINE_CAP], intro[LINE_CAP];
    int err;

    if (configured != NULL)
        return identity_pub_parse(out, configured);
    err = key_path(path, sizeof(path), c, origin);
    if (err == 0)
        err = read_lines(key, intro, path);
    if (err != 0)
        return err == OER_EINVAL ? OER_ENOTFOUND : err;
    err = identity_pub_parse(out, key);
    if (err != 0)
        log_warn(MOD, "origin key file unusable", "path", path, NULL);
    return err;
}

/* Write text to path whole, never replacing it: beside, synced, linked. */
static int write_new(const char *path, const char *text)
{
    char tmp[4200];
    int fd, err = OER_EIO;

    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return OER_EIO;
    if (wholefile_write_fd(fd, text, strlen(text)) == 0 && fsync(fd) == 0)
        err = link(tmp, path) == 0 ? 0 : errno == EEXIST ? OER_EEXISTS
                                                         : OER_EIO;
    close(fd);
    unlink(tmp);
    return err;
}

int keyring_introduce(const struct config *c, const char *origin,
                      const struct identity_pub *key, const char *peer)
{
    char path[4096], dir[4096], line[160], text[600], when[32];
    struct identity_pub known;
    time_t now = time(NULL);
    struct tm tm;
    int err;

    err = key_path(path, sizeof(path), c, origin);
    if (err != 0)
        return err;
    err = keyring_find(&known, c, origin);
    if (err != OER_ENOTFOUND)
        return OER_EEXISTS;

    snprintf(dir, sizeof(dir), "%s/%s", c->data_dir, KEYRING_DIR);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        log_warn(MOD, "cannot make the origin keys folder", "path", dir,
                 "errno", strerror(errno), NULL);
        return OER_EIO;
    }
    identity_ssh_public(line, sizeof(line), key);
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(text, sizeof(text), "%s\n" INTRO "%s %s\n", line, peer, when);
    err = write_new(path, text);
    if (err == OER_EIO)
        log_warn(MOD, "cannot write an origin key", "path", path, "errno",
                 strerror(errno), NULL);
    return err;
}

const char *keyring_source_name(enum keyring_source s)
{
    switch (s) {
    case KEYRING_CONFIG:
        return "config";
    case KEYRING_FILE:
        return "file";
    case KEYRING_INTRODUCED:
        return "introduced";
    case KEYRING_PEER:
        return "peer";
    }
    return "unknown";
}

/* One file of the folder, as an entry; 0 to skip it. */
static int list_file(const struct config *c, const char *name, keyring_cb cb,
                     void *arg)
{
    char origin[80], path[4096], key[LINE_CAP], intro[LINE_CAP];
    struct keyring_entry e = {.origin = origin, .key = key,
                              .source = KEYRING_FILE, .introduced_by = "",
                              .introduced_at = ""};
    size_t n = strlen(name);
    struct identity_pub pub;
    char *at;

    if (n < 5 || n - 4 >= sizeof(origin) || strcmp(name + n - 4, ".pub") != 0)
        return 0;
    snprintf(origin, sizeof(origin), "%.*s", (int)(n - 4), name);
    if (config_origin_key(c, origin) != NULL ||
        key_path(path, sizeof(path), c, origin) != 0 ||
        read_lines(key, intro, path) != 0 || identity_pub_parse(&pub, key) != 0)
        return 0;
    if (strncmp(intro, INTRO, strlen(INTRO)) == 0) {
        e.source = KEYRING_INTRODUCED;
        e.introduced_by = intro + strlen(INTRO);
        at = strchr(intro + strlen(INTRO), ' ');
        if (at != NULL) {
            *at = '\0';
            e.introduced_at = at + 1;
        }
        /* introduced by itself: a peer's pinned key, recorded */
        if (strcmp(e.introduced_by, origin) == 0)
            e.source = KEYRING_PEER;
    }
    return cb(&e, arg);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int keyring_list(const struct config *c, keyring_cb cb, void *arg)
{
    struct keyring_entry e = {.source = KEYRING_CONFIG, .introduced_by = "",
                              .introduced_at = ""};
    struct dirent **names = NULL;
    char dir[4096];
    int n, rc = 0;

    for (size_t i = 0; i < c->origin_key_count && rc == 0; i++) {
        e.origin = c->origin_keys[i].origin;
        e.key = c->origin_keys[i].key;
        rc = cb(&e, arg);
    }
    snprintf(dir, sizeof(dir), "%s/%s", c->data_dir, KEYRING_DIR);
    n = scandir(dir, &names, NULL, by_name);
    for (int i = 0; i < n; i++) {
        if (rc == 0)
            rc = list_file(c, names[i]->d_name, cb, arg);
        free(names[i]);
    }
    free(names);
    return rc;
}
