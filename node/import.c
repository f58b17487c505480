/*
 * import: the sink every reader feeds.  Records wait in a pending map
 * keyed by local id (where duplicates merge), then go into signed
 * catalogue batches; a dry run only compares them with the catalogue.
 */
#include "node/import.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "node/error.h"
#include "node/log.h"
#include "node/lom.h"
#include "node/metadata.h"

#define IMPORT_REASON "deleted at the source"
#define OTHER_REASONS "other reasons"

struct import_run {
    struct import_options opt;
    struct import_summary sum;
    json_t *pending;   /* local id -> document or tombstone, in order */
    json_t *committed; /* local ids flushed earlier in this run */
    struct store_batch *batch;
    char *file;        /* the file being read, or NULL */
    size_t file_items; /* records of that file handed over so far */
    size_t accepted;   /* records put or withdrawn, for the progress */
    int tty;           /* progress goes to a terminal */
    int shown;         /* a progress line is on the screen */
    struct timespec last;
    char now[24];
    int err; /* a fatal error: stops the run */
};

/* ---- reports, reasons and progress --------------------------------- */

static void count_reason(struct import_summary *sum, const char *reason)
{
    struct import_reason *r;
    size_t i;

    for (i = 0; i < sum->reason_count; i++) {
        if (strncmp(sum->reasons[i].text, reason,
                    sizeof(sum->reasons[i].text) - 1) == 0)
            break;
    }
    if (i == sum->reason_count && i == IMPORT_REASONS_MAX) {
        i = IMPORT_REASONS_MAX - 1;
        snprintf(sum->reasons[i].text, sizeof(sum->reasons[i].text), "%s",
                 OTHER_REASONS);
    } else if (i == sum->reason_count) {
        sum->reason_count++;
        snprintf(sum->reasons[i].text, sizeof(sum->reasons[i].text), "%s",
                 reason);
    }
    r = &sum->reasons[i];
    r->count++;
}

static void progress(struct import_run *run)
{
    struct timespec now;
    long long ms;

    if (!run->tty)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (now.tv_sec - run->last.tv_sec) * 1000LL +
         (now.tv_nsec - run->last.tv_nsec) / 1000000;
    if (run->last.tv_sec != 0 && ms < 250)
        return;
    run->last = now;
    run->shown = 1;
    fprintf(stderr, "\rimported %zu, skipped %zu", run->accepted,
            run->sum.skipped);
    fflush(stderr);
}

/* Fill buf with where, or a name for the current item of the file. */
static const char *name_item(char *buf, size_t cap,
                             const struct import_run *run, const char *where)
{
    if (where != NULL)
        return where;
    if (run->file != NULL)
        snprintf(buf, cap, "%s record %zu", run->file, run->file_items);
    else
        snprintf(buf, cap, "record");
    return buf;
}

/* Erase the progress line, so that other output starts on a clean one. */
static void progress_clear(struct import_run *run)
{
    if (!run->shown)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    run->shown = 0;
}

static void report(struct import_run *run, const char *where,
                   const char *reason, const char *detail)
{
    progress_clear(run);
    if (run->opt.report != NULL)
        run->opt.report(where, reason, detail, run->opt.report_arg);
}

/* Report and count a record left out; where is already resolved. */
static void skip(struct import_run *run, const char *where, const char *reason,
                 const char *detail)
{
    report(run, where, reason, detail);
    run->sum.skipped++;
    count_reason(&run->sum, reason);
    progress(run);
}

void import_skip(struct import_run *run, const char *where, const char *reason,
                 const char *detail)
{
    char buf[600];

    run->file_items++;
    skip(run, name_item(buf, sizeof(buf), run, where), reason, detail);
}

void import_bad_file(struct import_run *run, const char *path,
                     const char *reason, const char *detail)
{
    report(run, path, reason, detail);
    run->sum.bad_files++;
    count_reason(&run->sum, reason);
}

int import_file(struct import_run *run, const char *path)
{
    free(run->file);
    run->file = strdup(path);
    run->file_items = 0;
    run->sum.files++;
    return run->file == NULL ? OER_ENOMEM : 0;
}

/* ---- merging duplicates ---------------------------------------------- */

static int add_unique(json_t *list, const json_t *items)
{
    size_t i, j;
    json_t *item, *have;
    int found;

    json_array_foreach(items, i, item)
    {
        found = 0;
        json_array_foreach(list, j, have)
        {
            if (json_equal(have, item)) {
                found = 1;
                break;
            }
        }
        if (!found && json_array_append(list, item) < 0)
            return OER_ENOMEM;
    }
    return 0;
}

/* Union of two langlists: for each language, the union of its lists. */
static int merge_langlist(json_t *into, const json_t *from)
{
    const char *lang;
    json_t *list, *have;
    int err = 0;

    json_object_foreach((json_t *)from, lang, list)
    {
        have = json_object_get(into, lang);
        if (json_is_array(have) && json_is_array(list))
            err = add_unique(have, list);
        else if (have == NULL)
            err = json_object_set_new(into, lang, json_deep_copy(list)) < 0
                      ? OER_ENOMEM
                      : 0;
        if (err < 0)
            return err;
    }
    return 0;
}

static int is_list_field(const char *key)
{
    static const char *const lists[] = {
        "languages",    "levels", "subjects",      "resource_types", "audience",
        "contributors", "flags",  "licence_flags", "files",          NULL};

    for (size_t i = 0; lists[i] != NULL; i++) {
        if (strcmp(key, lists[i]) == 0)
            return 1;
    }
    return 0;
}

/* Merge from into into (see import_put). */
static int merge(json_t *into, const json_t *from)
{
    const char *key;
    json_t *value, *have;
    int err = 0;

    json_object_foreach((json_t *)from, key, value)
    {
        have = json_object_get(into, key);
        if (have == NULL)
            err = json_object_set_new(into, key, json_deep_copy(value)) < 0
                      ? OER_ENOMEM
                      : 0;
        else if (is_list_field(key) && json_is_array(have) &&
                 json_is_array(value))
            err = add_unique(have, value);
        else if (strcmp(key, "keywords") == 0 && json_is_object(have) &&
                 json_is_object(value))
            err = merge_langlist(have, value);
        else if ((strcmp(key, "title") == 0 ||
                  strcmp(key, "description") == 0) &&
                 json_is_object(have) && json_is_object(value))
            err = json_object_update_missing(have, value) < 0 ? OER_ENOMEM : 0;
        if (err < 0)
            return err;
    }
    return 0;
}

/* ---- staging --------------------------------------------------------- */

/* Whether doc equals old, leaving "updated" aside. */
static int same_doc(int *same, const json_t *doc, const json_t *old)
{
    json_t *a = json_deep_copy(doc), *b = json_deep_copy(old);
    char *ca = NULL, *cb = NULL;
    size_t la = 0, lb = 0;
    int err = OER_ENOMEM;

    *same = 0;
    if (a == NULL || b == NULL)
        goto out;
    json_object_del(a, "updated");
    json_object_del(b, "updated");
    err = metadata_canonical(&ca, &la, a);
    if (err == 0)
        err = metadata_canonical(&cb, &lb, b);
    if (err == OER_EINVAL) {
        err = 0; /* the stored one has no canonical form: it differs */
        goto out;
    }
    *same = err == 0 && la == lb && memcmp(ca, cb, la) == 0;

out:
    free(ca);
    free(cb);
    json_decref(a);
    json_decref(b);
    return err;
}

static int commit(struct import_run *run)
{
    char head[STORE_OID_HEX] = "", message[160];
    size_t n = store_batch_count(run->batch);
    int err;

    if (n == 0)
        return 0;
    snprintf(message, sizeof(message), "%s: %zu record%s",
             run->opt.label != NULL ? run->opt.label : "import", n,
             n == 1 ? "" : "s");
    err = store_batch_commit(head, run->batch, run->opt.key, message);
    if (err == 0 && head[0] != '\0')
        run->sum.commits++;
    return err;
}

/* Stage (or, in a dry run, compare) one pending document; *changed is
 * 1 when it differs from the catalogue, 0 when not, -1 when refused. */
static int stage(struct import_run *run, const json_t *doc, const json_t *old,
                 int *changed)
{
    int err, same = 0;

    if (run->opt.dry_run) {
        err = old != NULL ? same_doc(&same, doc, old) : 0;
        *changed = !same;
        return err;
    }
    /* Every pending document was validated after its last change (by
     * import_put, keep or import_withdraw): the store need not again. */
    err = store_batch_put_validated(run->batch, doc, changed);
    if (err == OER_EINVAL) {
        skip(run, json_string_value(json_object_get(doc, "source_id")),
             "refused by the store", NULL);
        *changed = -1;
        return 0;
    }
    if (err == 0 && store_batch_count(run->batch) >= IMPORT_BATCH_MAX)
        err = commit(run);
    return err;
}

static int flush_one(struct import_run *run, const char *local,
                     const json_t *doc)
{
    json_t *old = NULL;
    int err, existed, tomb = metadata_is_tombstone(doc), changed = 0;

    err = store_get(&old, run->opt.store, run->opt.origin, local);
    existed = err == 0 && !metadata_is_tombstone(old);
    if (err == OER_ENOTFOUND)
        err = 0;
    if (err < 0)
        goto out;

    if (tomb && !existed) {
        run->sum.gone++;
        goto out;
    }
    err = stage(run, doc, old, &changed);
    if (err < 0 || changed < 0)
        goto out;
    if (tomb)
        run->sum.withdrawn++;
    else if (changed == 0)
        run->sum.unchanged++;
    else if (existed)
        run->sum.updated++;
    else
        run->sum.added++;
    if (json_object_set_new(run->committed, local, json_true()) < 0)
        err = OER_ENOMEM;

out:
    json_decref(old);
    return err;
}

/* Stage everything pending, commit, and start on an empty map. */
static int flush(struct import_run *run)
{
    const char *local;
    json_t *doc;
    int err = 0;

    json_object_foreach(run->pending, local, doc)
    {
        err = flush_one(run, local, doc);
        if (err < 0)
            break;
    }
    if (err == 0 && !run->opt.dry_run)
        err = commit(run);
    json_object_clear(run->pending);
    return err;
}

/* ---- the sink -------------------------------------------------------- */

static void run_free(struct import_run *run)
{
    store_batch_free(run->batch);
    json_decref(run->pending);
    json_decref(run->committed);
    free(run->file);
    free(run);
}

int import_begin(struct import_run **out, const struct import_options *opt)
{
    struct import_run *run;
    int err = OER_ENOMEM;

    *out = NULL;
    if (opt->store == NULL || !metadata_valid_origin(opt->origin) ||
        (opt->key == NULL && !opt->dry_run))
        return OER_EINVAL;
    run = calloc(1, sizeof(*run));
    if (run == NULL)
        return OER_ENOMEM;
    run->opt = *opt;
    run->sum.dry_run = opt->dry_run ? 1 : 0;
    run->tty = opt->progress && isatty(STDERR_FILENO);
    metadata_now(run->now);
    run->pending = json_object();
    run->committed = json_object();
    if (run->pending == NULL || run->committed == NULL)
        goto out;
    err = 0;
    if (!opt->dry_run)
        err = store_batch_new(&run->batch, opt->store, opt->origin);

out:
    if (err < 0) {
        run_free(run);
        return err;
    }
    *out = run;
    return 0;
}

/* A copy of doc named for this origin, or NULL (no memory). */
static json_t *named_copy(const struct import_run *run, const json_t *doc,
                          const char *local)
{
    json_t *copy = json_deep_copy(doc);
    char id[160];

    snprintf(id, sizeof(id), "%s/%s", run->opt.origin, local);
    if (copy == NULL || json_object_set_new(copy, "id", json_string(id)) < 0 ||
        json_object_set_new(copy, "updated", json_string(run->now)) < 0) {
        json_decref(copy);
        return NULL;
    }
    return copy;
}

/* Validate doc; when it is not valid, skip it and return 1. */
static int invalid(struct import_run *run, json_t *doc, const char *where,
                   const char *reason)
{
    struct metadata_error merr;
    char detail[400];

    if (metadata_validate(doc, 0, &merr) == 0)
        return 0;
    snprintf(detail, sizeof(detail), "%s: %s (%s)", merr.field, merr.detail,
             metadata_problem_name(merr.problem));
    skip(run, where, reason, detail);
    return 1;
}

/* The earlier version of local in this run, as a new reference, or
 * NULL: pending, else committed earlier in this run. */
static int earlier(json_t **out, struct import_run *run, const char *local)
{
    json_t *doc = json_object_get(run->pending, local);
    int err;

    *out = NULL;
    if (doc != NULL && metadata_is_tombstone(doc))
        return 0;
    if (doc != NULL) {
        *out = json_deep_copy(doc);
        return *out == NULL ? OER_ENOMEM : 0;
    }
    if (json_object_get(run->committed, local) == NULL || run->opt.dry_run)
        return 0;
    err = store_get(out, run->opt.store, run->opt.origin, local);
    if (err == 0 && metadata_is_tombstone(*out)) {
        json_decref(*out);
        *out = NULL;
    }
    return err == OER_ENOTFOUND ? 0 : err;
}

/* Put copy (named, valid) under local, merged into an earlier one. */
static int keep(struct import_run *run, json_t *copy, const char *local,
                const char *where)
{
    json_t *first = NULL;
    int err = earlier(&first, run, local);

    if (err == 0 && first != NULL) {
        err = merge(first, copy);
        if (err == 0 &&
            json_object_set_new(first, "updated", json_string(run->now)) < 0)
            err = OER_ENOMEM;
        if (err == 0 && invalid(run, first, where, "duplicate cannot merge"))
            goto out;
        if (err == 0)
            run->sum.merged++;
        json_decref(copy);
        copy = first;
        first = NULL;
    }
    if (err == 0 && json_object_set(run->pending, local, copy) < 0)
        err = OER_ENOMEM;
    if (err == 0 && json_object_size(run->pending) >= IMPORT_PENDING_MAX)
        err = flush(run);
    if (err == 0)
        run->accepted++;

out:
    json_decref(first);
    json_decref(copy);
    return err;
}

int import_put(struct import_run *run, const json_t *doc, const char *where)
{
    const char *sid = json_string_value(json_object_get(doc, "source_id"));
    char local[16], buf[600];
    json_t *copy = NULL;
    int err;

    if (run->err < 0)
        return run->err;
    run->file_items++;
    if (where == NULL)
        where = sid != NULL && sid[0] != '\0'
                    ? sid
                    : name_item(buf, sizeof(buf), run, NULL);
    if (sid == NULL || sid[0] == '\0') {
        skip(run, where, "no identifier", NULL);
        return 0;
    }
    err = metadata_local_id(local, sid);
    if (err == 0) {
        copy = named_copy(run, doc, local);
        err = copy == NULL ? OER_ENOMEM : 0;
    }
    if (err == 0 && invalid(run, copy, where, "invalid metadata")) {
        json_decref(copy);
        return 0;
    }
    if (err == 0)
        err = keep(run, copy, local, where);
    else
        json_decref(copy);
    progress(run);
    run->err = err;
    return err;
}

int import_withdraw(struct import_run *run, const char *source_id,
                    const char *where)
{
    char local[16], id[160];
    json_t *stone;
    int err;

    if (run->err < 0)
        return run->err;
    run->file_items++;
    if (source_id == NULL || source_id[0] == '\0') {
        skip(run, where != NULL ? where : "record", "no identifier", NULL);
        return 0;
    }
    err = metadata_local_id(local, source_id);
    if (err < 0)
        return run->err = err;
    snprintf(id, sizeof(id), "%s/%s", run->opt.origin, local);
    stone = json_pack("{s:i, s:s, s:s, s:b, s:s, s:s}", "schema",
                      METADATA_SCHEMA, "id", id, "updated", run->now, "deleted",
                      1, "reason", IMPORT_REASON, "source_id", source_id);
    if (stone == NULL || invalid(run, stone, where != NULL ? where : source_id,
                                 "invalid identifier")) {
        err = stone == NULL ? OER_ENOMEM : 0;
        json_decref(stone);
        return run->err = err;
    }
    err = json_object_set_new(run->pending, local, stone) < 0 ? OER_ENOMEM : 0;
    if (err == 0 && json_object_size(run->pending) >= IMPORT_PENDING_MAX)
        err = flush(run);
    run->accepted++;
    progress(run);
    return run->err = err;
}

int import_finish(struct import_summary *out, struct import_run *run)
{
    int err;

    memset(out, 0, sizeof(*out));
    if (run == NULL)
        return 0;
    err = run->err;
    if (err == 0)
        err = flush(run);
    progress_clear(run);
    *out = run->sum;
    run_free(run);
    return err;
}

void import_summary_print(FILE *f, const struct import_summary *sum)
{
    fprintf(f,
            "%zu new, %zu updated, %zu unchanged, %zu withdrawn, %zu gone, "
            "%zu merged, %zu skipped; %zu file%s read, %zu without records; "
            "%zu commit%s%s\n",
            sum->added, sum->updated, sum->unchanged, sum->withdrawn, sum->gone,
            sum->merged, sum->skipped, sum->files, sum->files == 1 ? "" : "s",
            sum->bad_files, sum->commits, sum->commits == 1 ? "" : "s",
            sum->dry_run ? " (dry run: nothing written)" : "");
    for (size_t i = 0; i < sum->reason_count; i++)
        fprintf(f, "  skipped %zu: %s\n", sum->reasons[i].count,
                sum->reasons[i].text);
}

/* ---- walking files and folders --------------------------------------- */

struct walk {
    struct import_run *run;
    const char *const *suffixes;
    import_file_cb read;
    void *arg;
};

static int wanted(const struct walk *w, const char *name)
{
    size_t n = strlen(name), k;

    if (name[0] == '.')
        return 0;
    for (size_t i = 0; w->suffixes != NULL && w->suffixes[i] != NULL; i++) {
        k = strlen(w->suffixes[i]);
        if (n > k && strcasecmp(name + n - k, w->suffixes[i]) == 0)
            return 1;
    }
    return 0;
}

static int walk_path(struct walk *w, const char *path);

static int walk_folder(struct walk *w, const char *path)
{
    struct dirent **names = NULL;
    char child[4096];
    struct stat st;
    int n, err = 0;

    n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        import_bad_file(w->run, path, "cannot read the folder", NULL);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;

        snprintf(child, sizeof(child), "%s/%s", path, name);
        if (err == 0 && name[0] != '.' && lstat(child, &st) == 0 &&
            (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && wanted(w, name))))
            err = walk_path(w, child);
        free(names[i]);
    }
    free(names);
    return err;
}

static int walk_path(struct walk *w, const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        import_bad_file(w->run, path, "cannot read it", strerror(errno));
        return 0;
    }
    if (S_ISDIR(st.st_mode))
        return walk_folder(w, path);
    return w->read(w->run, path, w->arg);
}

/* A folder the user named that held no file of the kind looked for:
 * most likely the wrong folder, so it is reported, not passed over. */
static void report_empty(struct walk *w, const char *path, size_t before)
{
    char suffixes[128] = "";
    size_t len = 0;
    struct stat st;

    if (w->run->sum.files + w->run->sum.bad_files != before ||
        stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return;
    for (size_t i = 0; w->suffixes != NULL && w->suffixes[i] != NULL; i++)
        len += (size_t)snprintf(suffixes + len, sizeof(suffixes) - len,
                                "%s*%s", i > 0 ? " " : "", w->suffixes[i]);
    import_bad_file(w->run, path, "no file to import in this folder",
                    suffixes);
}

int import_walk(struct import_run *run, char *const *paths, size_t count,
                const char *const *suffixes, import_file_cb read, void *arg)
{
    struct walk w = {run, suffixes, read, arg};
    size_t before;
    int err = 0;

    for (size_t i = 0; err == 0 && i < count; i++) {
        before = run->sum.files + run->sum.bad_files;
        err = walk_path(&w, paths[i]);
        if (err == 0)
            report_empty(&w, paths[i], before);
    }
    return err;
}

/* ---- the LOM reader on the sink ------------------------------------- */

static int on_lom_record(const struct lom_record *rec, void *arg)
{
    struct import_run *run = arg;
    char where[600];
    int err = 0;

    if (rec->source_id != NULL)
        snprintf(where, sizeof(where), "%s", rec->source_id);
    else
        snprintf(where, sizeof(where), "%s record %zu", run->file, rec->index);
    if (rec->error != NULL || rec->source_id == NULL ||
        (rec->doc == NULL && !rec->deleted))
        import_skip(run, where,
                    rec->error != NULL ? rec->error : "no identifier", NULL);
    else if (rec->deleted)
        err = import_withdraw(run, rec->source_id, where);
    else if (json_object_get(rec->doc, "source_id") == NULL &&
             json_object_set_new(rec->doc, "source_id",
                                 json_string(rec->source_id)) < 0)
        err = OER_ENOMEM;
    else
        err = import_put(run, rec->doc, where);
    return err < 0 ? 1 : 0;
}

/* Why a whole file held nothing to import. */
static const char *lom_file_reason(char *buf, size_t cap, int err,
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

static int read_lom(struct import_run *run, const char *path, void *arg)
{
    struct lom_page page = {0};
    char reason[600];
    int err = import_file(run, path);

    if (err == 0)
        err = lom_read_file(&page, path, on_lom_record, run);
    if (err == 1) {
        err = run->err;
    } else if (err < 0 && err != OER_ENOMEM) {
        import_bad_file(run, path,
                        lom_file_reason(reason, sizeof(reason), err, &page),
                        NULL);
        err = 0;
    }
    lom_page_release(&page);
    return err;
}

int import_lom(struct import_summary *out, const struct import_options *opt,
               char *const *paths, size_t count)
{
    static const char *const suffixes[] = {".xml", NULL};
    struct import_run *run = NULL;
    int err;

    memset(out, 0, sizeof(*out));
    err = import_begin(&run, opt);
    if (err < 0)
        return err;
    err = import_walk(run, paths, count, suffixes, read_lom, NULL);
    if (err < 0 && run->err == 0)
        run->err = err;
    return import_finish(out, run);
}
