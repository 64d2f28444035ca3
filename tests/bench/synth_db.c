/*
 * bench/synth_db — a database of N synthetic photos, made without the CNN.
 *
 *   synth_db --out DIR --photos N [--model-db DIR] [--faces-per-photo K]
 *            [--per-identity M] [--seed S] [--report N] [--queries Q] [--shards S]
 *
 * Each photo record gets K faces with plausible boxes/landmarks and
 * descriptors from the model of synth.c (fitted to --model-db, typically an
 * ingest of lfw_am; isotropic otherwise), M photos per identity on average
 * (geometric).  Records are committed in batches of 256 photos through the
 * same fs_db_commit an ingest uses, so the timings are the ingest's
 * per-photo bookkeeping cost without decoding or networks.  Prints, every
 * --report photos, the commit cost per photo and the database bytes per
 * face as the database grows.  Writes DIR/synth_labels.u32: the identity of
 * each face, in face-id order, for clustering and recall checks.  With
 * --queries Q, also writes DIR/synth_queries.f32: Q new faces of identities
 * already in the database (not stored), the queries of the index benchmark.
 * With --shards S, DIR becomes a sharded database of S shards (facesearch
 * init --shards); its labels are then in commit order, not face-id order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facesearch/face.h"
#include "synth.h"

static const char *arg(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return dflt;
}

int main(int argc, char **argv)
{
    const char *out = arg(argc, argv, "--out", NULL);
    long long photos = atoll(arg(argc, argv, "--photos", "0"));
    const char *model_db = arg(argc, argv, "--model-db", NULL);
    int per_photo = atoi(arg(argc, argv, "--faces-per-photo", "1"));
    double per_ident = atof(arg(argc, argv, "--per-identity", "4"));
    long long report = atoll(arg(argc, argv, "--report", "100000"));
    uint64_t seed = (uint64_t)atoll(arg(argc, argv, "--seed", "7"));
    long long queries = atoll(arg(argc, argv, "--queries", "0"));
    int shards = atoi(arg(argc, argv, "--shards", "0"));
    if (!out || photos <= 0 || per_photo < 1 || per_photo > 16 || per_ident < 1) {
        fprintf(stderr, "usage: synth_db --out DIR --photos N [--model-db DIR] "
                        "[--faces-per-photo K] [--per-identity M] [--seed S] [--report N]\n");
        return 1;
    }
    synth_model m;
    fs_error e = {0};
    char fit_id[256] = "mfn512";
    if (model_db) {
        fs_db *mdb;
        fs_db_snap *snap;
        fs_db_stats mst;
        fs_db_options ro = {FS_DB_READONLY, NULL, 0, 0};
        if (fs_db_open(model_db, &ro, &mdb, &e) != FS_OK) {
            fprintf(stderr, "synth_db: %s\n", e.msg);
            return 2;
        }
        if (fs_db_snap_begin(mdb, &snap, &e) == FS_OK) {
            if (fs_db_stats_get(snap, &mst, &e) == FS_OK)
                snprintf(fit_id, sizeof fit_id, "%s", mst.model_id);
            fs_db_snap_end(snap);
        }
        int rc = synth_fit(mdb, &m);
        fs_db_close(mdb);
        if (rc) {
            fprintf(stderr, "synth_db: %s: too few identities to fit a model\n", model_db);
            return 2;
        }
        printf("model: fitted to %s (%zu identities, %zu faces)\n", model_db, m.identities,
               m.faces);
    } else {
        synth_default(&m, 128);
        printf("model: isotropic fallback (no --model-db)\n");
    }
    /* Named after the model database's recognizer, so that the commands
     * (dedup, query --face-id) accept it: "mfn512/synthetic/cosine". */
    char model_id[128];
    snprintf(model_id, sizeof model_id, "%.*s/synthetic/cosine",
             (int)strcspn(fit_id, "@/"), fit_id);
    fs_db_model model = {model_id, "", m.dim};
    fs_db_options o = {FS_DB_CREATE, &model, 0, 0};
    fs_db *db;
    if ((shards > 0 && fs_db_create_sharded(out, shards, &model, &e) != FS_OK) ||
        fs_db_open(out, &o, &db, &e) != FS_OK) {
        fprintf(stderr, "synth_db: %s\n", e.msg);
        return 2;
    }
    char lpath[4200];
    snprintf(lpath, sizeof lpath, "%s/synth_labels.u32", out);
    FILE *lf = fopen(lpath, "wb");
    enum { BATCH = 256 };
    fs_db_item *items = calloc(BATCH, sizeof *items);
    fs_face_rec *faces = calloc((size_t)BATCH * per_photo, sizeof *faces);
    float *vecs = malloc(sizeof(float) * (size_t)BATCH * per_photo * m.dim);
    char (*paths)[64] = malloc((size_t)BATCH * 64);
    uint32_t *labels = malloc(sizeof(uint32_t) * (size_t)BATCH * per_photo);
    float *centre = malloc(sizeof(float) * (size_t)m.dim * per_photo);
    uint32_t *ident = malloc(sizeof(uint32_t) * (size_t)per_photo);
    if (!lf || !items || !faces || !vecs || !paths || !labels || !centre || !ident) {
        fprintf(stderr, "synth_db: out of memory or cannot write %s\n", lpath);
        return 3;
    }
    synth_rng r = {seed, 0, 0};
    uint32_t next_ident = 0;
    /* Reservoir of identity centres for --queries: a uniform sample of the
     * identities in the database. */
    float *qcentre = queries > 0 ? malloc(sizeof(float) * (size_t)queries * m.dim) : NULL;
    if (queries > 0 && !qcentre) {
        fprintf(stderr, "synth_db: out of memory\n");
        return 3;
    }
#define KEEP_IDENTITY(c)                                                                   \
    do {                                                                                   \
        long long slot = (long long)next_ident - 1;                                        \
        if (slot >= queries)                                                               \
            slot = (long long)(synth_u64(&r) % (uint64_t)next_ident);                      \
        if (slot < queries)                                                                \
            memcpy(qcentre + (size_t)slot * m.dim, (c), sizeof(float) * (size_t)m.dim);    \
    } while (0)
    for (int k = 0; k < per_photo; k++) {
        ident[k] = next_ident++;
        synth_identity(&m, &r, centre + (size_t)k * m.dim);
        KEEP_IDENTITY(centre + (size_t)k * m.dim);
    }
    double commit_s = 0, since_s = 0, t0 = fs_now();
    long long done = 0, since = 0;
    printf("%12s %12s %14s %14s %12s\n", "photos", "faces", "commit_us/ph", "db_MiB", "B/face");
    while (done < photos) {
        int n = photos - done < BATCH ? (int)(photos - done) : BATCH;
        for (int i = 0; i < n; i++) {
            long long pid = done + i;
            for (int k = 0; k < per_photo; k++) {
                /* A new identity with probability 1/per_ident: geometric
                 * photo counts per person, mean per_ident. */
                if ((double)(synth_u64(&r) >> 11) * 0x1.0p-53 < 1.0 / per_ident) {
                    ident[k] = next_ident++;
                    synth_identity(&m, &r, centre + (size_t)k * m.dim);
                    KEEP_IDENTITY(centre + (size_t)k * m.dim);
                }
                size_t f = (size_t)i * per_photo + k;
                synth_face(&m, &r, centre + (size_t)k * m.dim, vecs + f * m.dim);
                fs_descriptor_normalize(vecs + f * m.dim, m.dim); /* compared by cosine */
                labels[f] = ident[k];
                fs_face_rec *fr = &faces[f];
                memset(fr, 0, sizeof *fr);
                fr->box[0] = 60 + 40.0f * k;
                fr->box[1] = 60;
                fr->box[2] = fr->box[3] = 120;
                fr->score = 0.99f;
                fr->face_size = 120;
                fr->sharpness = 50;
                for (int l = 0; l < FS_LANDMARKS; l++) {
                    fr->landmarks[l][0] = fr->box[0] + (float)(l % 9) * 13;
                    fr->landmarks[l][1] = fr->box[1] + (float)(l / 9) * 15;
                }
            }
            snprintf(paths[i], 64, "/synthetic/%08u/%012lld.jpg", ident[0], pid);
            fs_image_rec *img = &items[i].img;
            memset(img, 0, sizeof *img);
            img->path = paths[i];
            img->error = "";
            img->size = 10000 + (uint64_t)(pid % 5000);
            img->mtime_ns = 1700000000000000000LL + pid;
            img->processed_ns = 1700000000000000000LL;
            img->width = img->height = 250;
            img->n_faces = (uint32_t)per_photo;
            img->has_hash = 1;
            memcpy(img->sha256, &pid, sizeof pid);
            items[i].faces = faces + (size_t)i * per_photo;
            items[i].vectors = vecs + (size_t)i * per_photo * m.dim;
        }
        double t = fs_now();
        if (fs_db_commit(db, items, n, NULL, 0, &e) != FS_OK) {
            fprintf(stderr, "synth_db: %s\n", e.msg);
            return 2;
        }
        double dt = fs_now() - t;
        commit_s += dt;
        since_s += dt;
        fwrite(labels, sizeof *labels, (size_t)n * per_photo, lf);
        done += n;
        since += n;
        if (done % report < n || done == photos) {
            fs_db_snap *s;
            fs_db_stats st;
            if (fs_db_snap_begin(db, &s, &e) != FS_OK) {
                fprintf(stderr, "synth_db: %s\n", e.msg);
                return 2;
            }
            int src = fs_db_stats_get(s, &st, &e);
            fs_db_snap_end(s);
            if (src != FS_OK) {
                fprintf(stderr, "synth_db: %s\n", e.msg);
                return 2;
            }
            printf("%12lld %12llu %14.1f %14.1f %12.0f\n", done, (unsigned long long)st.faces,
                   1e6 * since_s / (double)since, (double)st.db_bytes / (1 << 20),
                   (double)st.db_bytes / (double)st.faces);
            fflush(stdout);
            since = 0;
            since_s = 0;
        }
    }
    if (queries > 0) {
        /* One new face per sampled identity: a new photo of someone known. */
        char qpath[4200];
        snprintf(qpath, sizeof qpath, "%s/synth_queries.f32", out);
        FILE *qf = fopen(qpath, "wb");
        float *face = malloc(sizeof(float) * (size_t)m.dim);
        long long nq = queries < (long long)next_ident ? queries : (long long)next_ident;
        for (long long i = 0; qf && face && i < nq; i++) {
            synth_face(&m, &r, qcentre + (size_t)i * m.dim, face);
            fs_descriptor_normalize(face, m.dim);
            fwrite(face, sizeof(float), (size_t)m.dim, qf);
        }
        if (!qf || !face || fclose(qf) != 0) {
            fprintf(stderr, "synth_db: cannot write %s\n", qpath);
            return 3;
        }
        free(face);
        printf("queries: %lld new faces of stored identities in %s\n", nq, qpath);
    }
    printf("total: %lld photos, %lld faces, %u identities in %.1f s (commits %.1f s, %.1f us "
           "per photo)\n",
           done, done * per_photo, next_ident, fs_now() - t0, commit_s,
           1e6 * commit_s / (double)done);
    fclose(lf);
    fs_db_close(db);
    synth_free(&m);
    free(items);
    free(faces);
    free(vecs);
    free(paths);
    free(labels);
    free(centre);
    free(ident);
    free(qcentre);
    return 0;
}
