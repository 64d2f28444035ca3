/* The ingest run: scanner thread -> OpenMP workers -> writer thread. */
#include "facesearch/ingest.h"

#include <errno.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "facesearch/hash.h"
#include "internal.h"
#include "queue.h"

/* Paths looked up per read snapshot.  Snapshots stay short so a map resize in
 * the writer never waits long, and the scanner never blocks while holding one. */
#define LOOKUP_CHUNK 256

/* A photo to process. */
typedef struct work {
    char *path;
    uint64_t size;
    int64_t mtime_ns;
    int verify_only;        /* size+mtime match: re-process only if the hash differs */
    uint8_t old_hash[32];
} work;

/* What the writer receives: a processed photo, or a list of ids to prune, or
 * an "unchanged after all" notice (verify_hash). */
typedef struct result {
    fs_db_item item;
    char *path, *error;
    fs_face_rec *faces;
    float *vecs;
    uint64_t *remove;
    int n_remove;
    int unchanged;
} result;

typedef struct run {
    fs_db *db;
    const fs_engine *engine;
    const fs_ingest_opts *o;
    fs_queue work_q, result_q;
    pthread_mutex_t mu;     /* guards st */
    fs_ingest_stats st;
    double t0;
    int fatal;              /* a run-stopping error happened (err below) */
    fs_error err;
    volatile int count_stop;
} run;

static int stopping(const run *r)
{
    return (r->o->stop && *r->o->stop) || __atomic_load_n(&r->fatal, __ATOMIC_RELAXED);
}

static void set_fatal(run *r, const fs_error *e)
{
    pthread_mutex_lock(&r->mu);
    if (!r->fatal) {
        r->err = *e;
        __atomic_store_n(&r->fatal, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&r->mu);
}

static void free_result(result *res)
{
    if (!res)
        return;
    free(res->path);
    free(res->error);
    free(res->faces);
    free(res->vecs);
    free(res->remove);
    free(res);
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A record for a photo that could not be processed. */
static result *error_result(const char *path, uint64_t size, int64_t mtime_ns,
                            const fs_error *e)
{
    result *res = calloc(1, sizeof *res);
    if (!res)
        return NULL;
    res->path = strdup(path);
    res->error = strdup(e->msg[0] ? e->msg : fs_status_name(e->code));
    if (!res->path || !res->error) {
        free_result(res);
        return NULL;
    }
    fs_image_rec *img = &res->item.img;
    img->path = res->path;
    img->error = res->error;
    img->size = size;
    img->mtime_ns = mtime_ns;
    img->status = FS_IMG_ERROR;
    img->error_code = (uint8_t)e->code;
    img->processed_ns = wall_ns();
    return res;
}

/* ---- workers ------------------------------------------------------------ */

typedef struct worker_ctx {
    fs_worker *w;
    fs_face *faces;
    int cap;
    double read_s, decode_s;
} worker_ctx;

static result *process(run *r, worker_ctx *wc, work *wk)
{
    const fs_ingest_opts *o = r->o;
    fs_error e = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    double t = fs_now();
    int rc = fs_read_file(wk->path, o->max_file_bytes, &buf, &len, &e);
    if (rc == FS_ENOMEM)
        goto out_of_resources;
    if (rc != FS_OK)
        return error_result(wk->path, wk->size, wk->mtime_ns, &e);
    uint8_t hash[32];
    fs_sha256(buf, len, hash);
    wc->read_s += fs_now() - t;
    if (wk->verify_only && memcmp(hash, wk->old_hash, 32) == 0) {
        free(buf);
        result *res = calloc(1, sizeof *res);
        if (res)
            res->unchanged = 1;
        return res;
    }
    t = fs_now();
    fs_image img = {0};
    fs_format fmt = fs_image_sniff(buf, len);
    /* The isolated decoder's messages name the file already. */
    int isolated = o->decode_helper && (fmt == FS_FORMAT_HEIF || fmt == FS_FORMAT_AVIF);
    if (isolated)
        rc = fs_image_decode_isolated(o->decode_helper, wk->path, &o->decode, &img, NULL, &e);
    else
        rc = fs_image_decode(buf, len, &o->decode, &img, NULL, &e);
    free(buf);
    wc->decode_s += fs_now() - t;
    if (rc != FS_OK && !isolated)
        fs_error_prefix(&e, wk->path);
    if (rc == FS_ENOMEM)
        goto out_of_resources;
    if (rc != FS_OK) {
        result *res = error_result(wk->path, wk->size, wk->mtime_ns, &e);
        if (res) {
            res->item.img.has_hash = 1;
            memcpy(res->item.img.sha256, hash, 32);
        }
        return res;
    }
    int n = 0;
    rc = fs_worker_faces(wc->w, &img, FS_STAGE_ALL, wc->faces, wc->cap, &n, &e);
    if (rc != FS_OK) {
        fs_error_prefix(&e, wk->path);
        fs_image_free(&img);
        if (rc == FS_ENOMEM)
            goto out_of_resources;
        return error_result(wk->path, wk->size, wk->mtime_ns, &e);
    }
    result *res = calloc(1, sizeof *res);
    int dim = fs_engine_descriptor_dim(r->engine);
    if (res) {
        res->path = strdup(wk->path);
        res->faces = calloc((size_t)(n ? n : 1), sizeof *res->faces);
        res->vecs = calloc((size_t)(n ? n : 1) * (size_t)dim, sizeof(float));
    }
    if (!res || !res->path || !res->faces || !res->vecs) {
        free_result(res);
        fs_image_free(&img);
        return NULL;
    }
    int kept = 0;
    for (int i = 0; i < n; i++) {
        const fs_face *f = &wc->faces[i];
        /* A face whose descriptor crop fell outside the photo has no usable
         * descriptor (the reference returns zeros): not worth indexing. */
        if (!(f->flags & FS_FACE_DESCRIPTOR) || (f->flags & FS_FACE_EMPTY_CROP))
            continue;
        fs_face_rec *fr = &res->faces[kept];
        fr->box[0] = (float)f->x;
        fr->box[1] = (float)f->y;
        fr->box[2] = (float)f->w;
        fr->box[3] = (float)f->h;
        fr->score = f->score;
        fr->flags = (uint32_t)f->flags;
        fr->face_size = (float)(f->w + f->h) / 2;
        fr->sharpness = fs_face_sharpness(&img, fr->box);
        for (int l = 0; l < FS_LANDMARKS; l++) {
            fr->landmarks[l][0] = (float)f->landmarks[l][0];
            fr->landmarks[l][1] = (float)f->landmarks[l][1];
        }
        memcpy(res->vecs + (size_t)kept * dim, f->descriptor, sizeof(float) * (size_t)dim);
        kept++;
    }
    fs_image_rec *ir = &res->item.img;
    ir->path = res->path;
    ir->error = "";
    ir->size = wk->size;
    ir->mtime_ns = wk->mtime_ns;
    ir->processed_ns = wall_ns();
    ir->width = img.width;
    ir->height = img.height;
    ir->status = FS_IMG_OK;
    ir->n_faces = (uint32_t)kept;
    ir->has_hash = 1;
    memcpy(ir->sha256, hash, 32);
    res->item.faces = res->faces;
    res->item.vectors = res->vecs;
    fs_image_free(&img);
    return res;

out_of_resources:
    /* Out of memory or file descriptors is the machine's state, not the
     * photo's: the run stops and the photo stays unrecorded, so the next
     * run does it. */
    set_fatal(r, &e);
    return NULL;
}

static void free_work(work *wk)
{
    if (wk) {
        free(wk->path);
        free(wk);
    }
}

static void run_workers(run *r, int threads)
{
#pragma omp parallel num_threads(threads)
    {
        worker_ctx wc = {0};
        fs_error e = {0};
        wc.cap = fs_engine_options(r->engine)->max_faces;
        wc.faces = malloc((size_t)wc.cap * sizeof *wc.faces);
        if (!wc.faces)
            fs_fail(&e, FS_ENOMEM, "out of memory for a worker");
        else if (fs_worker_create(r->engine, &wc.w, &e) == FS_OK)
            e.code = FS_OK;
        if (e.code != FS_OK)
            set_fatal(r, &e);
        work *wk;
        while ((wk = fs_queue_pop(&r->work_q, 0, NULL))) {
            /* When stopping, unstarted photos are left for the next run. */
            if (!wc.w || stopping(r)) {
                free_work(wk);
                continue;
            }
            result *res = process(r, &wc, wk);
            free_work(wk);
            if (!res) {
                fs_error oom = {0};
                fs_fail(&oom, FS_ENOMEM, "out of memory processing a photo");
                set_fatal(r, &oom);
                continue;
            }
            if (fs_queue_push(&r->result_q, res) != 0)
                free_result(res);
        }
        fs_stage_times t = {0};
        if (wc.w)
            fs_worker_times(wc.w, &t);
        pthread_mutex_lock(&r->mu);
        r->st.read_s += wc.read_s;
        r->st.decode_s += wc.decode_s;
        r->st.detect_s += t.detect_s;
        r->st.landmarks_s += t.landmarks_s;
        r->st.descriptor_s += t.descriptor_s;
        pthread_mutex_unlock(&r->mu);
        fs_worker_destroy(wc.w);
        free(wc.faces);
    }
}

/* ---- scanner ------------------------------------------------------------ */

typedef struct candidate {
    char *path;
    uint64_t size;
    int64_t mtime_ns;
} candidate;

static void push_result(run *r, result *res)
{
    if (!res) {
        fs_error e = {0};
        fs_fail(&e, FS_ENOMEM, "out of memory");
        set_fatal(r, &e);
        return;
    }
    if (fs_queue_push(&r->result_q, res) != 0)
        free_result(res);
}

/* Decides, under one short snapshot, which candidates need work; then
 * queues them (possibly blocking, with no snapshot held). */
static void dispatch(run *r, candidate *c, int n)
{
    work *todo[LOOKUP_CHUNK];
    int n_todo = 0, skipped = 0;
    fs_db_snap *snap;
    fs_error e = {0};
    if (fs_db_snap_begin(r->db, &snap, &e) != FS_OK) {
        set_fatal(r, &e);
        for (int i = 0; i < n; i++)
            free(c[i].path);
        return;
    }
    for (int i = 0; i < n; i++) {
        fs_image_rec rec;
        int verify = 0;
        int rc = fs_db_find_path(snap, c[i].path, &rec, &e);
        if (rc == FS_OK && rec.size == c[i].size && rec.mtime_ns == c[i].mtime_ns &&
            (rec.status == FS_IMG_OK || !r->o->retry_errors)) {
            if (!r->o->verify_hash || !rec.has_hash) {
                skipped++;
                free(c[i].path);
                continue;
            }
            verify = 1;
        } else if (rc != FS_OK && rc != FS_ENOTFOUND) {
            set_fatal(r, &e);
        }
        work *wk = calloc(1, sizeof *wk);
        if (!wk) {
            free(c[i].path);
            continue;
        }
        wk->path = c[i].path;
        wk->size = c[i].size;
        wk->mtime_ns = c[i].mtime_ns;
        wk->verify_only = verify;
        if (verify)
            memcpy(wk->old_hash, rec.sha256, 32);
        todo[n_todo++] = wk;
    }
    fs_db_snap_end(snap);
    pthread_mutex_lock(&r->mu);
    r->st.unchanged += skipped;
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < n_todo; i++)
        if (stopping(r) || fs_queue_push(&r->work_q, todo[i]) != 0)
            free_work(todo[i]);
}

static int path_under(const char *path, char *const *roots, int n)
{
    for (int i = 0; i < n; i++) {
        size_t l = strlen(roots[i]);
        if (strncmp(path, roots[i], l) == 0 && (path[l] == '\0' || path[l] == '/' ||
                                                (l == 1 && roots[i][0] == '/')))
            return 1;
    }
    return 0;
}

/* prune_visit's stop values, apart from every fs_status. */
enum { PRUNE_MORE = 1000, PRUNE_NOMEM = 1001 };

typedef struct prune_ctx {
    char **roots;      /* normalised; NULL = everywhere */
    int n_roots;
    uint64_t *ids;
    int n, cap, seen;
    uint64_t next_from;
} prune_ctx;

static int prune_visit(void *ctx, const fs_image_rec *img)
{
    prune_ctx *p = ctx;
    p->next_from = img->id + 1;
    if (++p->seen > 4096)
        return PRUNE_MORE; /* end this snapshot; continue from next_from */
    if (p->roots && !path_under(img->path, p->roots, p->n_roots))
        return 0;
    struct stat st;
    if (lstat(img->path, &st) == 0 || errno != ENOENT)
        return 0;
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 256;
        uint64_t *ids = realloc(p->ids, (size_t)cap * sizeof *ids);
        if (!ids)
            return PRUNE_NOMEM;
        p->ids = ids;
        p->cap = cap;
    }
    p->ids[p->n++] = img->id;
    return 0;
}

/* Removes records of vanished files, a few thousand records per snapshot. */
static void prune(run *r, char **roots, int n_roots)
{
    prune_ctx p = {roots, n_roots, NULL, 0, 0, 0, 0};
    for (;;) {
        fs_db_snap *snap;
        fs_error e = {0};
        if (stopping(r) || fs_db_snap_begin(r->db, &snap, &e) != FS_OK) {
            if (e.code)
                set_fatal(r, &e);
            break;
        }
        p.seen = 0;
        int rc = fs_db_foreach_image(snap, p.next_from, prune_visit, &p, &e);
        fs_db_snap_end(snap);
        if (rc == PRUNE_NOMEM)
            fs_fail(&e, FS_ENOMEM, "out of memory while pruning");
        if (rc != FS_OK && rc != PRUNE_MORE) {
            set_fatal(r, &e);
            break;
        }
        if (p.n) {
            result *res = calloc(1, sizeof *res);
            if (res) {
                res->remove = p.ids;
                res->n_remove = p.n;
                p.ids = NULL;
                p.n = p.cap = 0;
            }
            push_result(r, res);
        }
        if (rc == 0)
            break; /* walked to the end */
    }
    free(p.ids);
}

static void *scanner_main(void *arg)
{
    run *r = arg;
    const fs_ingest_opts *o = r->o;
    fs_scan *scan;
    fs_error e = {0};
    int rc = o->next_path ? (scan = NULL, FS_OK)
             : o->manifest ? fs_scan_open_manifest(o->manifest, &scan, &e)
                           : fs_scan_open_paths(o->roots, o->n_roots, &o->scan, &scan, &e);
    if (rc != FS_OK) {
        set_fatal(r, &e);
        fs_queue_close(&r->work_q);
        return NULL;
    }
    candidate chunk[LOOKUP_CHUNK];
    int n = 0, source_errors = 0;
    const char *path;
    while (!stopping(r)) {
        fs_error pe = {0};
        path = NULL;
        rc = scan ? fs_scan_next(scan, &path, &pe) : o->next_path(o->next_path_ctx, &path, &pe);
        if (!path) {
            source_errors += rc != FS_OK;
            break;
        }
        pthread_mutex_lock(&r->mu);
        r->st.seen++;
        pthread_mutex_unlock(&r->mu);
        struct stat st;
        if (rc == FS_OK && stat(path, &st) != 0) {
            fs_fail(&pe, FS_EIO, "%s: %s", path, strerror(errno));
            rc = FS_EIO;
        }
        if (rc == FS_ENOMEM) {
            set_fatal(r, &pe); /* out of descriptors: stop, as for photos */
            break;
        }
        if (rc != FS_OK) {
            /* The walk goes on; the failure is recorded under the path. */
            source_errors++;
            push_result(r, error_result(path, 0, 0, &pe));
            continue;
        }
        chunk[n].path = strdup(path);
        chunk[n].size = (uint64_t)st.st_size;
        chunk[n].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        if (!chunk[n].path)
            continue;
        if (++n == LOOKUP_CHUNK) {
            dispatch(r, chunk, n);
            n = 0;
        }
    }
    if (n)
        dispatch(r, chunk, n);
    fs_scan_close(scan);
    fs_queue_close(&r->work_q);
    r->count_stop = 1;
    /* Prune only after a complete walk in which every root was readable: a
     * missing mount must not look like a deleted archive. */
    if (o->prune && !stopping(r) && source_errors == 0) {
        char **roots = NULL;
        int nr = 0;
        if (!o->manifest && o->n_roots > 0) {
            roots = calloc((size_t)o->n_roots, sizeof *roots);
            for (int i = 0; roots && i < o->n_roots; i++) {
                roots[i] = malloc(4096);
                if (roots[i] && fs_path_normalize(o->roots[i], roots[i], 4096) == FS_OK)
                    nr++;
                else {
                    free(roots[i]);
                    break;
                }
            }
        }
        if (o->manifest || (roots && nr == o->n_roots))
            prune(r, roots, nr);
        for (int i = 0; i < nr; i++)
            free(roots[i]);
        free(roots);
    }
    return NULL;
}

/* ---- totals for progress ----------------------------------------------- */

static void *counter_main(void *arg)
{
    run *r = arg;
    const fs_ingest_opts *o = r->o;
    long long total = -1;
    if (o->next_path) {
        /* the callback's owner knows the total, if anyone */
    } else if (o->manifest) {
        if (strcmp(o->manifest, "-") != 0) {
            FILE *f = fopen(o->manifest, "r");
            if (f) {
                char *line = NULL;
                size_t cap = 0;
                ssize_t len;
                total = 0;
                while ((len = getline(&line, &cap, f)) >= 0 && !r->count_stop)
                    if (len > 1 && line[0] != '#')
                        total++;
                free(line);
                fclose(f);
            }
        }
    } else {
        total = fs_scan_count(o->roots, o->n_roots, &o->scan, &r->count_stop);
    }
    pthread_mutex_lock(&r->mu);
    if (total >= 0)
        r->st.total = total;
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- writer ------------------------------------------------------------- */

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void report(run *r, int final)
{
    if (!r->o->progress)
        return;
    fs_ingest_stats s;
    pthread_mutex_lock(&r->mu);
    r->st.elapsed_s = fs_now() - r->t0;
    r->st.peak_rss_kb = peak_rss_kb();
    s = r->st;
    pthread_mutex_unlock(&r->mu);
    r->o->progress(r->o->progress_ctx, &s, final);
}

static void commit_batch(run *r, result **batch, int n)
{
    fs_db_item items[n > 0 ? n : 1];
    int n_items = 0, n_rm = 0, unchanged = 0;
    for (int i = 0; i < n; i++) {
        if (batch[i]->unchanged)
            unchanged++;
        else if (batch[i]->remove)
            n_rm += batch[i]->n_remove;
        else
            items[n_items++] = batch[i]->item;
    }
    uint64_t *rm = NULL;
    if (n_rm) {
        rm = malloc((size_t)n_rm * sizeof *rm);
        int k = 0;
        for (int i = 0; rm && i < n; i++)
            if (batch[i]->remove) {
                memcpy(rm + k, batch[i]->remove, (size_t)batch[i]->n_remove * sizeof *rm);
                k += batch[i]->n_remove;
            }
        if (!rm)
            n_rm = 0;
    }
    double t = fs_now();
    fs_error e = {0};
    int rc = (n_items || n_rm) ? fs_db_commit(r->db, items, n_items, rm, n_rm, &e) : FS_OK;
    double dt = fs_now() - t;
    free(rm);
    if (rc != FS_OK) {
        set_fatal(r, &e);
    } else {
        long long faces = 0, errors = 0;
        for (int i = 0; i < n_items; i++) {
            faces += items[i].img.n_faces;
            errors += items[i].img.status != FS_IMG_OK;
        }
        pthread_mutex_lock(&r->mu);
        r->st.processed += n_items;
        r->st.errors += errors;
        r->st.faces += faces;
        r->st.pruned += n_rm;
        r->st.unchanged += unchanged;
        r->st.commit_s += dt;
        r->st.batches += (n_items || n_rm) ? 1 : 0;
        pthread_mutex_unlock(&r->mu);
    }
    for (int i = 0; i < n; i++)
        free_result(batch[i]);
}

static void *writer_main(void *arg)
{
    run *r = arg;
    const fs_ingest_opts *o = r->o;
    int cap = o->batch_photos > 0 ? o->batch_photos : 256;
    result **batch = malloc((size_t)cap * sizeof *batch);
    if (!batch) {
        fs_error e = {0};
        fs_fail(&e, FS_ENOMEM, "out of memory");
        set_fatal(r, &e);
        /* Keep draining so producers never block forever. */
        result *res;
        while ((res = fs_queue_pop(&r->result_q, 0, NULL)))
            free_result(res);
        return NULL;
    }
    int n = 0;
    double batch_start = fs_now(), next_report = fs_now() + o->progress_seconds;
    for (;;) {
        double deadline = batch_start + (o->batch_seconds > 0 ? o->batch_seconds : 2.0);
        if (o->progress_seconds > 0 && next_report < deadline)
            deadline = next_report;
        int timed_out;
        result *res = fs_queue_pop(&r->result_q, deadline, &timed_out);
        if (res)
            batch[n++] = res;
        double now = fs_now();
        int closed = !res && !timed_out;
        if (n && (n == cap || closed || now - batch_start >= o->batch_seconds)) {
            commit_batch(r, batch, n);
            n = 0;
        }
        if (!n)
            batch_start = now;
        if (o->progress_seconds > 0 && now >= next_report) {
            report(r, 0);
            next_report = now + o->progress_seconds;
        }
        if (closed)
            break;
    }
    free(batch);
    return NULL;
}

/* ---- the run ------------------------------------------------------------ */

void fs_ingest_opts_init(fs_ingest_opts *o)
{
    memset(o, 0, sizeof *o);
    o->batch_photos = 256;
    o->batch_seconds = 2.0;
    o->max_file_bytes = 256u << 20;
    o->decode.apply_orientation = 1;
    o->decode.max_pixels = FS_DEFAULT_MAX_PIXELS;
}

int fs_ingest_run(fs_db *db, const fs_engine *engine, const fs_ingest_opts *o,
                  fs_ingest_stats *st, fs_error *err)
{
    run *r = calloc(1, sizeof *r);
    if (!r)
        return fs_fail(err, FS_ENOMEM, "out of memory");
    r->db = db;
    r->engine = engine;
    r->o = o;
    r->t0 = fs_now();
    r->st.total = -1;
    int threads = o->threads > 0 ? o->threads : omp_get_num_procs();
    r->st.threads = threads;
    pthread_mutex_init(&r->mu, NULL);
    /* Enough queued work to keep every worker busy, few enough results in
     * flight that memory stays flat when the disk is slow. */
    if (fs_queue_init(&r->work_q, 4 * threads + LOOKUP_CHUNK) ||
        fs_queue_init(&r->result_q, 8 * threads + 64)) {
        free(r);
        return fs_fail(err, FS_ENOMEM, "out of memory");
    }
    fs_error me = {0};
    if (fs_db_set_meta_i64(db, "ingest.last_start_ns", wall_ns(), &me) != FS_OK) {
        fs_queue_destroy(&r->work_q);
        fs_queue_destroy(&r->result_q);
        free(r);
        if (err)
            *err = me;
        return me.code;
    }
    pthread_t scanner, writer, counter;
    int have_counter = o->progress && o->progress_seconds > 0 &&
                       pthread_create(&counter, NULL, counter_main, r) == 0;
    pthread_create(&writer, NULL, writer_main, r);
    pthread_create(&scanner, NULL, scanner_main, r);
    run_workers(r, threads);
    pthread_join(scanner, NULL);
    fs_queue_close(&r->result_q);
    pthread_join(writer, NULL);
    r->count_stop = 1;
    if (have_counter)
        pthread_join(counter, NULL);

    int interrupted = o->stop && *o->stop;
    int rc = FS_OK;
    if (r->fatal) {
        rc = r->err.code ? r->err.code : FS_EINTERNAL;
        if (err)
            *err = r->err;
    } else if (interrupted) {
        rc = fs_fail(err, FS_EINTR, "interrupted: finished photos were saved; run again to "
                                    "continue");
    } else if (fs_db_set_meta_i64(db, "ingest.last_end_ns", wall_ns(), &me) != FS_OK) {
        rc = me.code;
        if (err)
            *err = me;
    }
    r->st.interrupted = interrupted;
    report(r, 1);
    r->st.elapsed_s = fs_now() - r->t0;
    r->st.peak_rss_kb = peak_rss_kb();
    *st = r->st;
    fs_queue_destroy(&r->work_q);
    fs_queue_destroy(&r->result_q);
    pthread_mutex_destroy(&r->mu);
    free(r);
    return rc;
}
