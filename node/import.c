/*
 * import: LOM and OAI-PMH files into signed catalogue batches, with a
 * report for each record left out.
 */
#include "node/import.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "node/error.h"
#include "node/lom.h"
#include "node/metadata.h"

#define IMPORT_REASON "deleted at the source"

/* State of one run. */
struct run {
    const struct import_options *opt;
    struct import_summary *sum;
    struct store_batch *batch;
    json_t *staged;   /* local ids staged in the open batch, as keys */
    const char *file; /* the file being read */
    char now[24];
    int err; /* a store failure: stops the run */
};

static void report(struct run *r, const struct lom_record *rec,
                   const char *reason)
{
    char where[600];

    if (rec != NULL && rec->source_id != NULL)
        snprintf(where, sizeof(where), "%s", rec->source_id);
    else if (rec != NULL)
        snprintf(where, sizeof(where), "%s record %zu", r->file, rec->index);
    else
        snprintf(where, sizeof(where), "%s", r->file);
    if (r->opt->report != NULL)
        r->opt->report(where, reason, r->opt->report_arg);
}

/* Commit what is staged, and start an empty batch on the new head. */
static int flush(struct run *r)
{
    char head[STORE_OID_HEX] = "", message[160];
    int err = 0;

    if (r->batch != NULL && store_batch_count(r->batch) > 0) {
        snprintf(message, sizeof(message), "import lom: %zu records",
                 store_batch_count(r->batch));
        err = store_batch_commit(head, r->batch, r->opt->key, message);
        if (err == 0 && head[0] != '\0')
            r->sum->commits++;
    }
    store_batch_free(r->batch);
    r->batch = NULL;
    json_object_clear(r->staged);
    if (err == 0)
        err = store_batch_new(&r->batch, r->opt->store, r->opt->origin);
    return err;
}

/* Stage doc; a document the store refuses is reported, not fatal. */
static int stage(struct run *r, const struct lom_record *rec, const json_t *doc,
                 const char *local, int *changed)
{
    int err = store_batch_put(r->batch, doc, changed);

    if (err == OER_EINVAL) {
        report(r, rec, "refused by the store");
        r->sum->skipped++;
        *changed = -1;
        return 0;
    }
    if (err == 0)
        err = json_object_set_new(r->staged, local, json_true());
    return err;
}

static int withdraw(struct run *r, const struct lom_record *rec,
                    const char *local)
{
    json_t *old = NULL, *stone = NULL;
    char id[160];
    int err, changed = 0;

    err = store_get(&old, r->opt->store, r->opt->origin, local);
    if (err == OER_ENOTFOUND || (err == 0 && metadata_is_tombstone(old))) {
        err = 0;
        goto out;
    }
    if (err < 0)
        goto out;

    snprintf(id, sizeof(id), "%s/%s", r->opt->origin, local);
    stone = json_pack("{s:i, s:s, s:s, s:b, s:s, s:s}", "schema",
                      METADATA_SCHEMA, "id", id, "updated", r->now, "deleted",
                      1, "reason", IMPORT_REASON, "source_id", rec->source_id);
    if (stone == NULL) {
        err = OER_ENOMEM;
        goto out;
    }
    err = stage(r, rec, stone, local, &changed);
    if (err == 0 && changed == 1)
        r->sum->withdrawn++;

out:
    json_decref(old);
    json_decref(stone);
    return err;
}

static int set_names(json_t *doc, const struct run *r,
                     const struct lom_record *rec, const char *local)
{
    char id[160];

    snprintf(id, sizeof(id), "%s/%s", r->opt->origin, local);
    if (json_object_set_new(doc, "id", json_string(id)) < 0 ||
        json_object_set_new(doc, "updated", json_string(r->now)) < 0)
        return OER_ENOMEM;
    if (json_object_get(doc, "source_id") == NULL &&
        json_object_set_new(doc, "source_id", json_string(rec->source_id)) < 0)
        return OER_ENOMEM;
    return 0;
}

static int put(struct run *r, const struct lom_record *rec, const char *local)
{
    json_t *doc = json_deep_copy(rec->doc), *old = NULL;
    struct metadata_error merr;
    char reason[400];
    int err, existed, changed = 0;

    err = doc == NULL ? OER_ENOMEM : set_names(doc, r, rec, local);
    if (err < 0)
        goto out;
    if (metadata_validate(doc, 0, &merr) != 0) {
        snprintf(reason, sizeof(reason), "%s: %s (%s)", merr.field, merr.detail,
                 metadata_problem_name(merr.problem));
        report(r, rec, reason);
        r->sum->skipped++;
        goto out;
    }

    err = store_get(&old, r->opt->store, r->opt->origin, local);
    existed = err == 0;
    if (err == OER_ENOTFOUND)
        err = 0;
    if (err == 0)
        err = stage(r, rec, doc, local, &changed);
    if (err == 0 && changed == 1 && existed)
        r->sum->updated++;
    else if (err == 0 && changed == 1)
        r->sum->added++;
    else if (err == 0 && changed == 0)
        r->sum->unchanged++;

out:
    json_decref(doc);
    json_decref(old);
    return err;
}

static int on_record(const struct lom_record *rec, void *arg)
{
    struct run *r = arg;
    char local[16];
    int err;

    if (rec->error != NULL || rec->source_id == NULL ||
        (rec->doc == NULL && !rec->deleted)) {
        report(r, rec, rec->error != NULL ? rec->error : "no identifier");
        r->sum->skipped++;
        return 0;
    }
    err = metadata_local_id(local, rec->source_id);

    /* a record seen twice in one run: the second one sees the first */
    if (err == 0 && (json_object_get(r->staged, local) != NULL ||
                     store_batch_count(r->batch) >= IMPORT_BATCH_MAX))
        err = flush(r);
    if (err == 0)
        err = rec->deleted ? withdraw(r, rec, local) : put(r, rec, local);
    r->err = err;
    return err != 0 ? 1 : 0;
}

/* Why a whole file held nothing to import. */
static const char *file_reason(char *buf, size_t cap, int err,
                               const struct lom_page *page)
{
    if (err == OER_EPROTO)
        snprintf(buf, cap, "OAI-PMH error %s: %s",
                 page->error_code != NULL ? page->error_code : "?",
                 page->error_message != NULL ? page->error_message : "");
    else if (err == OER_EUNSUPPORTED)
        snprintf(buf, cap, "an OAI-PMH %s response holds no records",
                 page->verb != NULL ? page->verb : "other");
    else if (err == OER_EIO)
        snprintf(buf, cap, "cannot read the file");
    else
        snprintf(buf, cap,
                 "not a LOM record or OAI-PMH response, or not "
                 "well-formed XML");
    return buf;
}

static int read_file(struct run *r, const char *path)
{
    struct lom_page page = {0};
    char reason[600];
    int err;

    r->file = path;
    r->sum->files++;
    err = lom_read_file(&page, path, on_record, r);
    if (err == 1) {
        err = r->err;
    } else if (err < 0 && err != OER_ENOMEM) {
        report(r, NULL, file_reason(reason, sizeof(reason), err, &page));
        r->sum->bad_files++;
        err = 0;
    }
    lom_page_release(&page);
    return err;
}

static int is_xml(const char *name)
{
    size_t n = strlen(name);

    return name[0] != '.' && n > 4 && strcasecmp(name + n - 4, ".xml") == 0;
}

static int read_path(struct run *r, const char *path);

static int read_folder(struct run *r, const char *path)
{
    struct dirent **names = NULL;
    char child[4096];
    int n, err = 0;
    struct stat st;

    n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        r->file = path;
        report(r, NULL, "cannot read the folder");
        r->sum->bad_files++;
        return 0;
    }
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;

        snprintf(child, sizeof(child), "%s/%s", path, name);
        if (err == 0 && name[0] != '.' && lstat(child, &st) == 0 &&
            (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && is_xml(name))))
            err = read_path(r, child);
        free(names[i]);
    }
    free(names);
    return err;
}

static int read_path(struct run *r, const char *path)
{
    struct stat st;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return read_folder(r, path);
    return read_file(r, path);
}

int import_lom(struct import_summary *out, const struct import_options *opt,
               char *const *paths, size_t count)
{
    struct run r = {.opt = opt, .sum = out};
    int err;

    memset(out, 0, sizeof(*out));
    metadata_now(r.now);
    r.staged = json_object();
    if (r.staged == NULL)
        return OER_ENOMEM;
    err = store_batch_new(&r.batch, opt->store, opt->origin);
    for (size_t i = 0; err == 0 && i < count; i++)
        err = read_path(&r, paths[i]);
    if (err == 0)
        err = flush(&r);
    store_batch_free(r.batch);
    json_decref(r.staged);
    return err;
}
