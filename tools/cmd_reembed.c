/*
 * facesearch reembed — move a database to the configured recogniser in
 * place: every stored face gets a new descriptor computed from its photo
 * with the stored box and landmarks (no detection), under the same face id.
 * Batches are committed with the photo to resume from (store.h), so a
 * killed run is finished by the next one.
 */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "face_cli.h"
#include "facesearch/store.h"
#include "store_cli.h"

static void help(void)
{
    printf("usage: facesearch reembed [--db DIR] [--batch N] [--json] [--quiet] [options]\n"
           "\n"
           "Moves a database to the configured recognizer (descriptor.recognizer; or\n"
           "say --recognizer NAME): decodes every photo again and computes each stored\n"
           "face's descriptor from its stored box and landmarks -- no detection, face\n"
           "ids unchanged.  Commits every N photos with the point to resume from: an\n"
           "interrupted run is finished by running it again, and until it has finished\n"
           "query, dedup, build and ingest refuse the database (its vectors are of two\n"
           "models).  A face whose photo is gone, unreadable or changed since it was\n"
           "ingested (size or mtime) gets an all-zero vector (similar to nothing) and is\n"
           "counted; the next ingest re-detects changed photos, --prune drops gone ones.\n"
           "Afterwards run facesearch build.\n"
           "\n"
           "  --db DIR       database directory (paths.db)\n"
           "  --batch N      photos per transaction (256)\n"
           "  --json         one JSON summary line: photos, faces, unreadable_photos,\n"
           "                 changed_photos, zeroed_faces, recognizer, dim, seconds, already\n"
           "  --quiet        no progress line\n");
    face_cli_help_options(stdout);
    printf("\nExit: 0 done (or nothing to do), 1 usage, 2 no database, 3 internal.\n");
}

/* One photo of a batch with its stored faces. */
typedef struct item {
    char *path;
    uint64_t size;    /* the file as ingested: a changed file's boxes are stale */
    int64_t mtime_ns;
    uint32_t n;
    size_t at;        /* its first face's slot in the batch's ids and vecs */
    fs_face_rec *faces;
    int unreadable;   /* 1: gone or unreadable, 2: changed since ingest */
    uint32_t zeroed;  /* faces left without a descriptor */
} item;

/* A batch of photos and the new vectors of their faces, one slot a face;
 * the arrays grow to the largest batch and are reused. */
typedef struct batch {
    item *it;
    size_t n, cap;
    size_t faces;     /* slots in use */
    uint64_t *ids;    /* face ids */
    float *vecs;      /* faces * dim */
    size_t face_cap;
    int dim;
    fs_db_snap *snap;
    uint64_t next;    /* photo id after the last one taken */
    fs_error err;
} batch;

/* fs_db_foreach_image callback: takes photos until the batch is full. */
static int take(void *ctx, const fs_image_rec *img)
{
    batch *b = ctx;
    if (b->n == b->cap)
        return 1; /* full: stop the walk */
    b->next = img->id + 1;
    if (img->status != FS_IMG_OK || img->n_faces == 0)
        return 0;
    if (b->faces + img->n_faces > b->face_cap) {
        size_t cap = 2 * (b->faces + img->n_faces);
        uint64_t *ids = realloc(b->ids, cap * sizeof *ids);
        if (ids)
            b->ids = ids;
        float *vecs = realloc(b->vecs, cap * (size_t)b->dim * sizeof *vecs);
        if (!ids || !vecs)
            return fs_fail(&b->err, FS_ENOMEM, "out of memory");
        b->vecs = vecs;
        b->face_cap = cap;
    }
    item *it = &b->it[b->n];
    memset(it, 0, sizeof *it);
    it->size = img->size;
    it->mtime_ns = img->mtime_ns;
    it->n = img->n_faces;
    it->at = b->faces;
    it->path = strdup(img->path);
    it->faces = calloc(img->n_faces, sizeof *it->faces);
    if (!it->path || !it->faces)
        return fs_fail(&b->err, FS_ENOMEM, "out of memory");
    b->n++;
    for (uint32_t i = 0; i < img->n_faces; i++) {
        b->ids[b->faces++] = img->first_face + i;
        if (fs_db_get_face(b->snap, img->first_face + i, &it->faces[i], &b->err) != FS_OK)
            return b->err.code;
    }
    return 0;
}

static void batch_clear(batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->it[i].path);
        free(b->it[i].faces);
    }
    b->n = b->faces = 0;
}

/* The new descriptors of one photo's stored faces into its slots (zeros
 * where there are none). */
static void describe(fs_worker *w, const fs_decode_opts *d, batch *b, item *it)
{
    fs_image img = {0};
    fs_error e = {0};
    float *out = b->vecs + it->at * (size_t)b->dim;
    memset(out, 0, sizeof(float) * it->n * (size_t)b->dim);
    it->zeroed = it->n;
    struct stat sb;
    if (stat(it->path, &sb) != 0) {
        it->unreadable = 1;
        return;
    }
    if ((uint64_t)sb.st_size != it->size ||
        (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec != it->mtime_ns) {
        it->unreadable = 2; /* another photo now: its stored boxes say nothing */
        return;
    }
    if (cli_decode_file(it->path, d, &img, NULL, &e) != FS_OK) {
        it->unreadable = 1;
        return;
    }
    for (uint32_t i = 0; i < it->n; i++) {
        const fs_face_rec *r = &it->faces[i];
        fs_face f;
        memset(&f, 0, sizeof f);
        f.x = r->box[0];
        f.y = r->box[1];
        f.w = r->box[2];
        f.h = r->box[3];
        f.score = r->score;
        f.flags = FS_FACE_LANDMARKS;
        for (int k = 0; k < FS_LANDMARKS; k++) {
            f.landmarks[k][0] = r->landmarks[k][0];
            f.landmarks[k][1] = r->landmarks[k][1];
        }
        if (fs_worker_descriptor(w, &img, &f, &e) == FS_OK && !(f.flags & FS_FACE_EMPTY_CROP)) {
            memcpy(out + (size_t)i * b->dim, f.descriptor, sizeof(float) * (size_t)b->dim);
            it->zeroed--;
        }
    }
    fs_image_free(&img);
}

static int reembed_flag(void *ctx, fs_config *cfg, int c, const char *arg)
{
    int *f = ctx; /* json, quiet, batch */
    switch (c) {
    case 'd': return cli_config_set(cfg, "paths.db", arg, "--db");
    case 'j': f[0] = 1; return 0;
    case 'q': f[1] = 1; return 0;
    case 'b': f[2] = atoi(arg);
        return f[2] >= 1 && f[2] <= 1000000 ? 0
                                            : cli_usage_error("reembed", "--batch takes 1..1000000");
    }
    return EXIT_USAGE;
}

int cmd_reembed(int argc, char **argv)
{
    static const struct option own[] = {
        {"db", required_argument, 0, 'd'}, {"json", no_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},    {"batch", required_argument, 0, 'b'},
        {0, 0, 0, 0}};
    int flags[3] = {0, 0, 256};
    fs_config *cfg;
    int rc = face_cli_parse(argc, argv, "reembed", help, own, reembed_flag, flags, &cfg);
    if (rc >= 0)
        return rc;
    if (optind < argc) {
        fs_config_destroy(cfg);
        return cli_usage_error("reembed", "unexpected argument '%s'", argv[optind]);
    }
    const int json = flags[0], quiet = flags[1] || !isatty(2);
    const char *dir = fs_config_str(cfg, "paths.db");
    fs_engine_opts eo;
    fs_decode_opts dopts;
    fs_error e = {0};
    fs_engine *engine = NULL;
    fs_db *db = NULL;
    int threads = (int)fs_config_int(cfg, "run.threads");
    if ((rc = face_cli_options(cfg, &eo, &dopts)) != 0)
        goto out;
    fs_db_options dbo = {0, NULL, 0, 0};
    if (fs_db_open(dir, &dbo, &db, &e) != FS_OK ||
        cli_engine_create(cfg, &eo, &engine, &e) != FS_OK) {
        rc = cli_fail(&e);
        goto out;
    }
    fs_db_model target;
    char mbuf[2048];
    store_cli_model(engine, &target, mbuf, sizeof mbuf);
    fs_db_snap *snap;
    fs_db_stats st;
    if (fs_db_snap_begin(db, &snap, &e) != FS_OK) {
        rc = cli_fail(&e);
        goto out;
    }
    rc = fs_db_stats_get(snap, &st, &e);
    fs_db_snap_end(snap);
    if (rc != FS_OK) {
        rc = cli_fail(&e);
        goto out;
    }
    const int dim = target.dim;
    double t0 = fs_now();
    size_t photos = 0, faces = 0, unreadable = 0, changed = 0, zeroed = 0;
    const int already = !st.reembed_model[0] && strcmp(st.model_id, target.id) == 0;
    uint64_t cursor = 0; /* the first photo not done */
    if (!already && fs_db_reembed_begin(db, &target, &cursor, &e) != FS_OK) {
        rc = cli_fail(&e);
        goto out;
    }
    if (threads <= 0)
        threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    fs_worker **workers = calloc((size_t)threads, sizeof *workers);
    batch b = {.cap = (size_t)flags[2], .dim = dim};
    b.it = calloc(b.cap, sizeof *b.it);
    if (!workers || !b.it)
        rc = (cli_error("out of memory"), EXIT_INTERNAL);
    for (int i = 0; !rc && i < threads; i++)
        if (fs_worker_create(engine, &workers[i], &e) != FS_OK)
            rc = cli_fail(&e);
    while (!rc && !already) {
        b.next = cursor;
        if (fs_db_snap_begin(db, &b.snap, &e) != FS_OK) {
            rc = cli_fail(&e);
            break;
        }
        int w = fs_db_foreach_image(b.snap, cursor, take, &b, &e);
        fs_db_snap_end(b.snap);
        if (b.err.code || (w != FS_OK && w != 1)) {
            rc = cli_fail(b.err.code ? &b.err : &e);
            break;
        }
        if (b.next == cursor)
            break; /* no photo left */
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (size_t i = 0; i < b.n; i++)
            describe(workers[omp_get_thread_num()], &dopts, &b, &b.it[i]);
        for (size_t i = 0; i < b.n; i++) {
            unreadable += b.it[i].unreadable == 1;
            changed += b.it[i].unreadable == 2;
            zeroed += b.it[i].zeroed;
        }
        if (fs_db_reembed_put(db, b.ids, b.vecs, b.faces, b.next, &e) != FS_OK) {
            rc = cli_fail(&e);
            break;
        }
        photos += b.n;
        faces += b.faces;
        cursor = b.next;
        batch_clear(&b);
        if (!quiet)
            fprintf(stderr, "\rreembed: %zu photos, %zu faces, %.1f s (photo id %llu of %llu)",
                    photos, faces, fs_now() - t0, (unsigned long long)cursor,
                    (unsigned long long)st.next_image_id);
    }
    if (!quiet && photos)
        fputc('\n', stderr);
    batch_clear(&b);
    free(b.it);
    free(b.ids);
    free(b.vecs);
    for (int i = 0; workers && i < threads; i++)
        fs_worker_destroy(workers[i]);
    free(workers);
    if (!rc && !already && fs_db_reembed_finish(db, &e) != FS_OK)
        rc = cli_fail(&e);
    if (!rc && json)
        printf("{\"photos\":%zu,\"faces\":%zu,\"unreadable_photos\":%zu,\"changed_photos\":%zu,"
               "\"zeroed_faces\":%zu,\"recognizer\":\"%s\",\"dim\":%d,\"model\":\"%s\","
               "\"seconds\":%.2f,\"already\":%s}\n",
               photos, faces, unreadable, changed, zeroed, fs_recognizer_name(eo.recognizer), dim,
               target.id, fs_now() - t0, already ? "true" : "false");
    else if (!rc && already)
        printf("%s: already holds %s descriptors; nothing to do\n", dir, target.id);
    else if (!rc)
        printf("%s: re-embedded %zu faces of %zu photos with %s (%d-D) in %.1f s; run "
               "facesearch build\n",
               dir, faces, photos, fs_recognizer_name(eo.recognizer), dim, fs_now() - t0);
    if (!rc && (unreadable || changed))
        cli_error("warning: %zu photos could not be read again and %zu changed since they were "
                  "ingested; their faces got zero vectors (%zu in all): run facesearch ingest "
                  "(with --prune for deleted ones)", unreadable, changed, zeroed);
out:
    fs_engine_destroy(engine);
    fs_db_close(db);
    fs_config_destroy(cfg);
    return rc;
}
