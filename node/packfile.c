/*
 * packfile: a pack of whole objects and its version 2 index, built in
 * memory and written, synced and renamed into a repository's pack folder
 * (the formats of git's Documentation/gitformat-pack).
 */
#include "node/packfile.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "node/error.h"
#include "node/log.h"

#define SHA1_LEN 20
/* zlib's fastest level: these are small JSON documents and trees, and a
 * commit of an import writes thousands of them. */
#define PACK_ZLIB_LEVEL 1
#define OFFSET_SMALL 0x80000000u /* offsets from here on go in 8 bytes */

struct mem {
    unsigned char *p;
    size_t len, cap;
};

/* One object in the pack, for the index. */
struct entry {
    git_oid id;
    uint64_t offset;
    uint32_t crc;
};

struct pack {
    struct mem data;
    struct entry *entries;
    size_t count;
    int level; /* zlib's, 0 to 9 */
};

/* ---- bytes ----------------------------------------------------------- */

static int mem_grow(struct mem *m, size_t more)
{
    size_t cap = m->cap != 0 ? m->cap : 64 * 1024;
    unsigned char *p;

    if (m->len + more <= m->cap)
        return 0;
    while (cap < m->len + more)
        cap *= 2;
    p = realloc(m->p, cap);
    if (p == NULL)
        return OER_ENOMEM;
    m->p = p;
    m->cap = cap;
    return 0;
}

static int mem_put(struct mem *m, const void *data, size_t len)
{
    if (mem_grow(m, len) < 0)
        return OER_ENOMEM;
    if (len > 0)
        memcpy(m->p + m->len, data, len);
    m->len += len;
    return 0;
}

static int mem_u32(struct mem *m, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};

    return mem_put(m, b, sizeof(b));
}

/* ---- the pack -------------------------------------------------------- */

/* The object header: type and size, seven bits a byte after the first
 * four. */
static int put_header(struct mem *m, int type, size_t size)
{
    unsigned char h[16];
    size_t n = 0;

    h[n] = (unsigned char)(((unsigned)type << 4) | (size & 0x0F));
    size >>= 4;
    while (size != 0) {
        h[n++] |= 0x80;
        h[n] = (unsigned char)(size & 0x7F);
        size >>= 7;
    }
    return mem_put(m, h, n + 1);
}

/* data deflated as a zlib stream, as git stores objects in packs. */
static int put_deflated(struct mem *m, const unsigned char *data, size_t len,
                        int level)
{
    uLongf n = compressBound((uLong)len);

    if (mem_grow(m, (size_t)n) < 0)
        return OER_ENOMEM;
    if (compress2(m->p + m->len, &n, data, (uLong)len, level) != Z_OK)
        return OER_ENOMEM;
    m->len += (size_t)n;
    return 0;
}

static int put_object(struct pack *pk, git_odb *odb, struct entry *e)
{
    char hex[GIT_OID_HEXSZ + 1];
    git_odb_object *obj = NULL;
    int gerr, err;

    gerr = git_odb_read(&obj, odb, &e->id);
    if (gerr < 0) {
        git_oid_tostr(hex, sizeof(hex), &e->id);
        log_warn("packfile", "cannot read object", "id", hex, "err",
                 gerr == GIT_ENOTFOUND ? "notfound" : "io", NULL);
        return gerr == GIT_ENOTFOUND ? OER_ENOTFOUND : OER_EIO;
    }
    e->offset = pk->data.len;
    err = put_header(&pk->data, (int)git_odb_object_type(obj),
                     git_odb_object_size(obj));
    if (err == 0)
        err = put_deflated(&pk->data, git_odb_object_data(obj),
                           git_odb_object_size(obj), pk->level);
    if (err == 0)
        e->crc = (uint32_t)crc32(0L, pk->data.p + e->offset,
                                 (uInt)(pk->data.len - (size_t)e->offset));
    git_odb_object_free(obj);
    return err;
}

static int cmp_entry(const void *a, const void *b)
{
    return git_oid_cmp(&((const struct entry *)a)->id,
                       &((const struct entry *)b)->id);
}

/* The entries of ids, sorted by id, without duplicates. */
static int make_entries(struct pack *pk, const git_oid *ids, size_t count)
{
    size_t i;

    pk->entries = calloc(count, sizeof(*pk->entries));
    if (pk->entries == NULL)
        return OER_ENOMEM;
    for (i = 0; i < count; i++)
        git_oid_cpy(&pk->entries[i].id, &ids[i]);
    qsort(pk->entries, count, sizeof(*pk->entries), cmp_entry);
    pk->count = 0;
    for (i = 0; i < count; i++) {
        if (pk->count == 0 ||
            !git_oid_equal(&pk->entries[pk->count - 1].id, &pk->entries[i].id))
            pk->entries[pk->count++] = pk->entries[i];
    }
    return 0;
}

static int sha1(unsigned char out[SHA1_LEN], const struct mem *m)
{
    unsigned int len = 0;

    if (EVP_Digest(m->p, m->len, out, &len, EVP_sha1(), NULL) != 1 ||
        len != SHA1_LEN) {
        log_warn("packfile", "cannot hash pack", "err", "io", NULL);
        return OER_EIO;
    }
    return 0;
}

/* The pack: header, every object, and its SHA-1 in sum. */
static int build_pack(struct pack *pk, git_odb *odb,
                      unsigned char sum[SHA1_LEN])
{
    int err;

    err = mem_put(&pk->data, "PACK", 4);
    if (err == 0)
        err = mem_u32(&pk->data, 2);
    if (err == 0)
        err = mem_u32(&pk->data, (uint32_t)pk->count);
    for (size_t i = 0; err == 0 && i < pk->count; i++)
        err = put_object(pk, odb, &pk->entries[i]);
    if (err == 0)
        err = sha1(sum, &pk->data);
    if (err == 0)
        err = mem_put(&pk->data, sum, SHA1_LEN);
    return err;
}

/* ---- the index ------------------------------------------------------- */

static int put_offsets(struct mem *m, const struct pack *pk)
{
    uint32_t large = 0;
    int err = 0;
    size_t i;

    for (i = 0; err == 0 && i < pk->count; i++) {
        if (pk->entries[i].offset < OFFSET_SMALL)
            err = mem_u32(m, (uint32_t)pk->entries[i].offset);
        else
            err = mem_u32(m, OFFSET_SMALL | large++);
    }
    for (i = 0; err == 0 && i < pk->count; i++) {
        if (pk->entries[i].offset < OFFSET_SMALL)
            continue;
        err = mem_u32(m, (uint32_t)(pk->entries[i].offset >> 32));
        if (err == 0)
            err = mem_u32(m, (uint32_t)pk->entries[i].offset);
    }
    return err;
}

static int build_index(struct mem *m, const struct pack *pk,
                       const unsigned char sum[SHA1_LEN])
{
    static const unsigned char magic[4] = {0xFF, 't', 'O', 'c'};
    unsigned char own[SHA1_LEN];
    size_t i, at = 0;
    int err;

    err = mem_put(m, magic, sizeof(magic));
    if (err == 0)
        err = mem_u32(m, 2);
    for (unsigned b = 0; err == 0 && b < 256; b++) {
        while (at < pk->count && pk->entries[at].id.id[0] <= b)
            at++;
        err = mem_u32(m, (uint32_t)at);
    }
    for (i = 0; err == 0 && i < pk->count; i++)
        err = mem_put(m, pk->entries[i].id.id, SHA1_LEN);
    for (i = 0; err == 0 && i < pk->count; i++)
        err = mem_u32(m, pk->entries[i].crc);
    if (err == 0)
        err = put_offsets(m, pk);
    if (err == 0)
        err = mem_put(m, sum, SHA1_LEN);
    if (err == 0)
        err = sha1(own, m);
    if (err == 0)
        err = mem_put(m, own, SHA1_LEN);
    return err;
}

/* ---- files ----------------------------------------------------------- */

/* Write m to a new temporary file in dir, synced and read-only; its name
 * goes to tmp. */
static int write_temp(char *tmp, size_t cap, const char *dir,
                      const struct mem *m)
{
    size_t done = 0;
    int fd, err = 0;

    snprintf(tmp, cap, "%s/tmp_pack_XXXXXX", dir);
    fd = mkstemp(tmp);
    if (fd < 0) {
        log_warn("packfile", "cannot create pack file", "path", tmp, "err",
                 "io", NULL);
        return OER_EIO;
    }
    while (err == 0 && done < m->len) {
        ssize_t n = write(fd, m->p + done, m->len - done);

        if (n < 0)
            err = OER_EIO;
        else
            done += (size_t)n;
    }
    if (err == 0 && (fchmod(fd, 0444) < 0 || fsync(fd) < 0))
        err = OER_EIO;
    if (close(fd) < 0)
        err = OER_EIO;
    if (err < 0) {
        log_warn("packfile", "cannot write pack file", "path", tmp, "err", "io",
                 NULL);
        unlink(tmp);
    }
    return err;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int err = fd >= 0 && fsync(fd) == 0 ? 0 : OER_EIO;

    if (fd >= 0)
        close(fd);
    if (err < 0)
        log_warn("packfile", "cannot sync pack folder", "path", dir, "err",
                 "io", NULL);
    return err;
}

/* Both files under temporary names, then renamed: the pack first. */
static int publish(const char *dir, const char *name, const struct mem *pack,
                   const struct mem *idx)
{
    char tpack[4200] = "", tidx[4200] = "", final[4200];
    int err;

    err = write_temp(tpack, sizeof(tpack), dir, pack);
    if (err == 0)
        err = write_temp(tidx, sizeof(tidx), dir, idx);
    if (err < 0)
        goto out;
    snprintf(final, sizeof(final), "%s/pack-%s.pack", dir, name);
    if (rename(tpack, final) < 0)
        err = OER_EIO;
    else
        tpack[0] = '\0';
    if (err == 0) {
        snprintf(final, sizeof(final), "%s/pack-%s.idx", dir, name);
        if (rename(tidx, final) < 0)
            err = OER_EIO;
        else
            tidx[0] = '\0';
    }
    if (err < 0)
        log_warn("packfile", "cannot rename pack file", "path", final, "err",
                 "io", NULL);
    if (err == 0)
        err = sync_dir(dir);

out:
    if (tpack[0] != '\0')
        unlink(tpack);
    if (tidx[0] != '\0')
        unlink(tidx);
    return err;
}

int packfile_build(void **out, size_t *len, git_odb *odb, const git_oid *ids,
                   size_t count, int level)
{
    struct pack pk = {{NULL, 0, 0}, NULL, 0, level};
    unsigned char sum[SHA1_LEN];
    int err;

    *out = NULL;
    *len = 0;
    if (count == 0)
        return OER_EINVAL;
    err = make_entries(&pk, ids, count);
    if (err == 0)
        err = build_pack(&pk, odb, sum);
    free(pk.entries);
    if (err < 0) {
        free(pk.data.p);
        return err;
    }
    *out = pk.data.p;
    *len = pk.data.len;
    return 0;
}

int packfile_write(char name[41], const char *dir, git_odb *odb,
                   const git_oid *ids, size_t count)
{
    struct pack pk = {{NULL, 0, 0}, NULL, 0, PACK_ZLIB_LEVEL};
    struct mem idx = {NULL, 0, 0};
    unsigned char sum[SHA1_LEN];
    git_oid sum_id;
    char hex[GIT_OID_HEXSZ + 1];
    int err;

    if (count == 0)
        return OER_EINVAL;
    err = make_entries(&pk, ids, count);
    if (err == 0)
        err = build_pack(&pk, odb, sum);
    if (err == 0)
        err = build_index(&idx, &pk, sum);
    if (err < 0)
        goto out;

    git_oid_fromraw(&sum_id, sum);
    git_oid_tostr(hex, sizeof(hex), &sum_id);
    err = publish(dir, hex, &pk.data, &idx);
    if (err == 0 && name != NULL)
        memcpy(name, hex, sizeof(hex));

out:
    free(pk.entries);
    free(pk.data.p);
    free(idx.p);
    return err;
}
