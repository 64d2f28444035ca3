/*
 * The FAISS index over the database: exactness against brute force, trained
 * (IVF) indexes, incremental builds, staleness, damaged files, and the k-NN
 * graph + clustering on vectors with known identities.  Vectors are
 * synthetic (identity centres plus noise), written through the store API.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facesearch/cluster.h"
#include "facesearch/config.h"
#include "facesearch/eval.h"
#include "facesearch/face.h"
#include "facesearch/index.h"
#include "facesearch/store.h"
#include "harness.h"

#define D 128

static uint64_t rng_state = 99;
static double gauss(void)
{
    /* Box-Muller on a splitmix64 stream: deterministic. */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    double u = ((double)(z >> 11) + 0.5) * 0x1.0p-53;
    z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    double v = ((double)(z >> 11) + 0.5) * 0x1.0p-53;
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* Scales x (D values) to unit length, as every stored descriptor is. */
static void unit(float *x)
{
    fs_descriptor_normalize(x, D);
}

/* n_ids identities with per_id unit faces each: same-identity cosine
 * distances ~0.08, different ~1.  label[i] = identity of vector i. */
static float *make_vectors(int n_ids, int per_id, int *label)
{
    float *v = malloc(sizeof(float) * D * (size_t)n_ids * per_id), c[D];
    for (int i = 0; v && i < n_ids; i++) {
        for (int d = 0; d < D; d++)
            c[d] = (float)(0.07 * gauss());
        for (int j = 0; j < per_id; j++) {
            float *x = v + (size_t)(i * per_id + j) * D;
            for (int d = 0; d < D; d++)
                x[d] = c[d] + (float)(0.02 * gauss());
            unit(x);
            label[i * per_id + j] = i;
        }
    }
    return v;
}

/* Stores n vectors as n one-face photos "/p/<i>.jpg" (face ids 0..n-1 for a
 * fresh database), in batches. */
static int store_vectors(fs_db *db, const float *v, int from, int n, fs_error *e)
{
    static char paths[512][32];
    fs_db_item items[512];
    fs_face_rec faces[512];
    for (int s = 0; s < n; s += 512) {
        int m = n - s < 512 ? n - s : 512;
        for (int i = 0; i < m; i++) {
            snprintf(paths[i], sizeof paths[i], "/p/%d.jpg", from + s + i);
            memset(&items[i], 0, sizeof items[i]);
            memset(&faces[i], 0, sizeof faces[i]);
            faces[i].box[2] = faces[i].box[3] = 100;
            items[i].img.path = paths[i];
            items[i].img.error = "";
            items[i].img.n_faces = 1;
            items[i].faces = &faces[i];
            items[i].vectors = v + (size_t)(s + i) * D;
        }
        int rc = fs_db_commit(db, items, m, NULL, 0, e);
        if (rc)
            return rc;
    }
    return FS_OK;
}

static fs_db *new_db(const char *name, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/%s", fs_test_tmpdir(), name);
    fs_db_model model = {"test/synthetic", "", D};
    fs_db_options o = {FS_DB_CREATE, &model, 0, 0};
    fs_db *db = NULL;
    fs_error e = {0};
    if (fs_db_open(dir, &o, &db, &e) != FS_OK)
        fprintf(stdout, "    %s\n", e.msg);
    return db;
}

TEST(index_exact_matches_brute_force)
{
    int n = 3000, label[3000];
    float *v = make_vectors(300, 10, label);
    REQUIRE(v);
    char dir[512];
    fs_db *db = new_db("ix-exact", dir, sizeof dir);
    REQUIRE(db);
    fs_error e = {0};
    CHECK_OK(store_vectors(db, v, 0, n, &e), &e);
    /* the brute force sees what the index sees: the stored float16 values */
    fs_db_snap *snap;
    REQUIRE(fs_db_snap_begin(db, &snap, &e) == FS_OK);
    for (int i = 0; i < n; i++)
        CHECK_OK(fs_db_get_vector(snap, (uint64_t)i, v + (size_t)i * D, &e), &e);
    fs_db_snap_end(snap);
    fs_index_build_opts o = {0};
    fs_index_info info;
    CHECK_OK(fs_index_build(db, dir, &o, &info, &e), &e);
    CHECK_STR(info.factory, "IDMap,Flat"); /* small collection: exact */
    CHECK_INT(info.count, n);
    fs_index *ix;
    REQUIRE(fs_index_open(dir, &ix, &e) == FS_OK);
    /* 50 queries: perturbed stored vectors. */
    int nq = 50, k = 10;
    float q[50 * D], dist[500];
    int64_t ids[500];
    for (int i = 0; i < nq; i++) {
        for (int d = 0; d < D; d++)
            q[i * D + d] = v[(size_t)(i * 37) * D + d] + (float)(0.01 * gauss());
        unit(q + i * D);
    }
    CHECK_OK(fs_index_search(ix, q, nq, k, dist, ids, &e), &e);
    for (int i = 0; i < nq; i++) {
        /* Brute force: the k smallest distances, ties by smaller id. */
        int best[10];
        double bd[10];
        for (int j = 0; j < k; j++)
            bd[j] = INFINITY, best[j] = -1;
        for (int x = 0; x < n; x++) {
            double d = 1.0 - fs_descriptor_similarity(q + i * D, v + (size_t)x * D, D);
            int p = k;
            while (p > 0 && d < bd[p - 1])
                p--;
            if (p < k) {
                memmove(bd + p + 1, bd + p, sizeof(double) * (size_t)(k - p - 1));
                memmove(best + p + 1, best + p, sizeof(int) * (size_t)(k - p - 1));
                bd[p] = d;
                best[p] = x;
            }
        }
        for (int j = 0; j < k; j++) {
            CHECK_MSG(ids[i * k + j] == best[j], "query %d rank %d: index %lld, brute force %d",
                      i, j, (long long)ids[i * k + j], best[j]);
            CHECK_NEAR(dist[i * k + j], bd[j], 1e-4);
        }
    }
    fs_index_close(ix);
    fs_db_close(db);
    free(v);
}

TEST(index_trained_incremental_and_stale)
{
    int label[6000];
    float *v = make_vectors(600, 10, label);
    REQUIRE(v);
    char dir[512];
    fs_db *db = new_db("ix-ivf", dir, sizeof dir);
    REQUIRE(db);
    fs_error e = {0};
    CHECK_OK(store_vectors(db, v, 0, 4000, &e), &e);
    fs_index_build_opts o = {.factory = "IVF64,SQ8"};
    fs_index_info info;
    CHECK_OK(fs_index_build(db, dir, &o, &info, &e), &e);
    CHECK_INT(info.count, 4000);
    CHECK(info.train_size == 4000 && !info.incremental);

    /* 2000 more faces: the index is stale (1), an incremental build adds
     * only them. */
    CHECK_OK(store_vectors(db, v + (size_t)4000 * D, 4000, 2000, &e), &e);
    fs_db_snap *s;
    fs_db_stats st;
    REQUIRE(fs_db_snap_begin(db, &s, &e) == FS_OK);
    fs_db_stats_get(s, &st, &e);
    fs_db_snap_end(s);
    CHECK_INT(fs_index_staleness(&info, &st), 1);
    o.incremental = 1;
    fs_index_info inc;
    CHECK_OK(fs_index_build(db, dir, &o, &inc, &e), &e);
    CHECK_INT(inc.count, 6000);
    CHECK_INT(inc.incremental, 1);
    CHECK(inc.add_s >= 0 && inc.db_next_face == 6000);
    CHECK_INT(fs_index_staleness(&inc, &st), 0);

    /* Recall of the trained index on its own vectors, nprobe 8 of 64. */
    fs_index *ix;
    REQUIRE(fs_index_open(dir, &ix, &e) == FS_OK);
    CHECK_OK(fs_index_set_search(ix, 8, 0, 0, &e), &e);
    float dist[100];
    int64_t ids[100];
    int self = 0;
    for (int i = 0; i < 100; i++) {
        CHECK_OK(fs_index_search(ix, v + (size_t)(i * 59) * D, 1, 1, dist, ids, &e), &e);
        self += ids[0] == i * 59;
    }
    CHECK_MSG(self >= 98, "IVF finds the vector itself for %d of 100", self);

    /* A single query is spread over threads by its lists, a batch by its
     * queries: the two must agree.  The batch's first query is also searched
     * alone, on 2 threads (a list split) and on 1. */
    enum { NQ = 16, K = 10 };
    float bd[NQ * K], sd[K], od[K];
    int64_t bi[NQ * K], si[K], oi[K];
    int threads = omp_get_max_threads();
    omp_set_num_threads(2);
    CHECK_OK(fs_index_search(ix, v + (size_t)77 * D, NQ, K, bd, bi, &e), &e);
    CHECK_OK(fs_index_search(ix, v + (size_t)77 * D, 1, K, sd, si, &e), &e);
    omp_set_num_threads(1);
    CHECK_OK(fs_index_search(ix, v + (size_t)77 * D, 1, K, od, oi, &e), &e);
    omp_set_num_threads(threads);
    for (int j = 0; j < K; j++) {
        CHECK_MSG(si[j] == bi[j] && oi[j] == bi[j] && sd[j] == bd[j] && od[j] == bd[j],
                  "rank %d: single %lld / one thread %lld vs batch %lld", j, (long long)si[j],
                  (long long)oi[j], (long long)bi[j]);
    }
    fs_index_close(ix);

    /* Re-processing a photo removes faces: stale (2), and an incremental
     * build falls back to a full one. */
    CHECK_OK(store_vectors(db, v, 0, 1, &e), &e);
    REQUIRE(fs_db_snap_begin(db, &s, &e) == FS_OK);
    fs_db_stats_get(s, &st, &e);
    fs_db_snap_end(s);
    CHECK_INT(fs_index_staleness(&inc, &st), 2);
    CHECK_OK(fs_index_build(db, dir, &o, &inc, &e), &e);
    CHECK_INT(inc.incremental, 0);
    CHECK_INT(inc.count, 6000);
    fs_db_close(db);
    free(v);
}

/* Index types that number vectors themselves (HNSW, a refine stage, which
 * the factory puts outermost) are given an id map: stored face ids come
 * back, and each type's search parameters can be set. */
TEST(index_types_without_ids_get_an_id_map)
{
    int label[3000];
    float *v = make_vectors(300, 10, label);
    REQUIRE(v);
    char dir[512];
    fs_db *db = new_db("ix-idmap", dir, sizeof dir);
    REQUIRE(db);
    fs_error e = {0};
    CHECK_OK(store_vectors(db, v, 0, 3000, &e), &e);
    /* The last one refines inside its PCA (32-D SQ8 codes, not 128-D). */
    const char *factories[] = {"HNSW16", "IVF32,PQ16x4fs,RFlat", "IVF32,PQ16x4fs,Refine(SQ8)",
                               "Flat", "PCA32,IVF32,PQ16x4fs,Refine(SQ8)"};
    uint64_t bytes[5] = {0};
    for (int f = 0; f < 5; f++) {
        fs_index_build_opts o = {.factory = factories[f]};
        fs_index_info info;
        CHECK_OK(fs_index_build(db, dir, &o, &info, &e), &e);
        CHECK_STR(info.factory, factories[f]);
        bytes[f] = info.file_bytes;
        fs_index *ix;
        REQUIRE(fs_index_open(dir, &ix, &e) == FS_OK);
        CHECK_OK(fs_index_set_search(ix, 16, 64, 4, &e), &e);
        float dist[5];
        int64_t ids[5];
        int self = 0;
        for (int i = 0; i < 50; i++) {
            CHECK_OK(fs_index_search(ix, v + (size_t)(i * 59 + 7) * D, 1, 5, dist, ids, &e), &e);
            self += ids[0] == i * 59 + 7;
        }
        CHECK_MSG(self >= 48, "%s finds the stored face id for %d of 50", factories[f], self);
        fs_index_close(ix);
    }
    /* 3000 x (128 - 32) bytes of SQ8 codes fewer, less the PCA (FAISS
     * keeps the whole 128 x 128 eigenvector matrix: ~80 KB) */
    CHECK_MSG(bytes[4] + 3000 * 60 < bytes[2], "%llu vs %llu bytes",
              (unsigned long long)bytes[4], (unsigned long long)bytes[2]);
    fs_db_close(db);
    free(v);
}

TEST(index_damaged_or_missing_files)
{
    int label[200];
    float *v = make_vectors(20, 10, label);
    char dir[512], path[700];
    fs_db *db = new_db("ix-damaged", dir, sizeof dir);
    REQUIRE(db && v);
    fs_error e = {0};
    fs_index *ix;
    CHECK_INT(fs_index_open(dir, &ix, &e), FS_ENOTFOUND);
    CHECK(strstr(e.msg, "facesearch build") != NULL);
    CHECK_OK(store_vectors(db, v, 0, 200, &e), &e);
    fs_index_build_opts o = {0};
    fs_index_info info;
    CHECK_OK(fs_index_build(db, dir, &o, &info, &e), &e);
    /* No temporary files left behind; both files private. */
    char cmd[800], out[4096];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c tmp", dir);
    fs_test_sh(cmd, out, sizeof out);
    CHECK_INT(atoi(out), 0);
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, FS_INDEX_FILE);
    REQUIRE(stat(path, &st) == 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    /* An index that no longer matches its sidecar (an interrupted build) is
     * refused with advice. */
    FILE *f = fopen(path, "r+b");
    REQUIRE(f);
    fseek(f, 100, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    CHECK_INT(fs_index_open(dir, &ix, &e), FS_ENOTFOUND);
    CHECK_MSG(strstr(e.msg, "does not match its sidecar") != NULL, "%s", e.msg);
    /* A bad factory string is a clear error. */
    o.factory = "IVF,Bogus";
    CHECK_INT(fs_index_build(db, dir, &o, &info, &e), FS_EINDEX);
    CHECK(strstr(e.msg, "IVF,Bogus") != NULL);
    fs_db_close(db);
    free(v);
}

TEST(knn_graph_clusters_identities)
{
    int n_ids = 400, per = 5, n = n_ids * per, label[2000];
    float *v = make_vectors(n_ids, per, label);
    REQUIRE(v);
    uint64_t ids[2000];
    int64_t sids[2000];
    for (int i = 0; i < n; i++)
        ids[i] = (uint64_t)(sids[i] = i);
    fs_index *ix;
    fs_error e = {0};
    REQUIRE(fs_index_from_vectors(NULL, D, v, sids, (size_t)n, &ix, &e) == FS_OK);
    fs_edge *edges;
    size_t ne, k;
    CHECK_OK(fs_knn_graph(ix, v, ids, NULL, (size_t)n, 11, 0.4f, &edges, &ne, &e), &e);
    /* Each face links to its 4 same-identity siblings, each edge kept once. */
    CHECK_INT(ne, (size_t)n_ids * per * (per - 1) / 2);
    uint32_t cl[2000];
    CHECK_OK(fs_cluster_whispers((size_t)n, edges, ne, NULL, cl, &k, NULL, &e), &e);
    int icl[2000];
    for (int i = 0; i < n; i++)
        icl[i] = (int)cl[i];
    fs_pairwise p;
    fs_eval_pairwise(icl, label, (size_t)n, &p);
    CHECK_NEAR(p.f1, 1.0, 1e-9);
    CHECK_INT(k, n_ids);
    free(edges);
    /* Faces of the same photo are never linked. */
    uint64_t photo[2000];
    for (int i = 0; i < n; i++)
        photo[i] = (uint64_t)(i / 2); /* pairs share a photo */
    CHECK_OK(fs_knn_graph(ix, v, ids, photo, (size_t)n, 11, 0.4f, &edges, &ne, &e), &e);
    for (size_t i = 0; i < ne; i++)
        CHECK(photo[edges[i].a] != photo[edges[i].b]);
    free(edges);
    fs_index_close(ix);
    free(v);
}

/* A person with hundreds of photos is many tight groups (pose, age, light)
 * close to each other (here: unit faces at cosine ~0.95 within a group, ~0.93
 * across).  With too small a graph degree each face's neighbours
 * all sit in its own group and the person falls apart; the default dedup.k
 * reaches across groups and keeps them one cluster, whatever Chinese
 * whispers' visiting order (seed). */
TEST(knn_graph_default_degree_keeps_a_many_photo_person_together)
{
    enum { GROUPS = 20, PER = 15, N = GROUPS * PER };
    float *v = malloc(sizeof(float) * D * N), person[D], grp[D];
    uint64_t ids[N];
    int64_t sids[N];
    REQUIRE(v);
    for (int d = 0; d < D; d++)
        person[d] = (float)(0.07 * gauss());
    for (int g = 0; g < GROUPS; g++) {
        for (int d = 0; d < D; d++)
            grp[d] = person[d] + (float)(0.010 * gauss());
        for (int j = 0; j < PER; j++) {
            for (int d = 0; d < D; d++)
                v[(size_t)(g * PER + j) * D + d] = grp[d] + (float)(0.016 * gauss());
            unit(v + (size_t)(g * PER + j) * D);
        }
    }
    for (int i = 0; i < N; i++)
        ids[i] = (uint64_t)(sids[i] = i);
    fs_config *cfg = fs_config_create();
    REQUIRE(cfg);
    int k_default = (int)fs_config_int(cfg, "dedup.k");
    /* the default recognizer's link threshold, as a cosine distance */
    char key[64];
    snprintf(key, sizeof key, "dedup.%s", fs_config_str(cfg, "descriptor.recognizer"));
    float thr = 1.0f - (float)fs_config_real(cfg, key);
    fs_config_destroy(cfg);
    fs_index *ix;
    fs_error e = {0};
    REQUIRE(fs_index_from_vectors(NULL, D, v, sids, N, &ix, &e) == FS_OK);
    int ks[2] = {10, k_default};
    size_t worst[2] = {0, 0};
    for (int t = 0; t < 2; t++) {
        fs_edge *edges;
        size_t ne, k;
        CHECK_OK(fs_knn_graph(ix, v, ids, NULL, N, ks[t] + 1, thr, &edges, &ne, &e), &e);
        for (uint64_t seed = 1; seed <= 6; seed++) {
            uint32_t cl[N];
            fs_cluster_opts o = {.seed = seed};
            CHECK_OK(fs_cluster_whispers(N, edges, ne, &o, cl, &k, NULL, &e), &e);
            if (k > worst[t])
                worst[t] = k;
        }
        free(edges);
    }
    /* The small degree is what breaks (else this test shows nothing). */
    CHECK_MSG(worst[0] > 1, "k 10 kept the person together too (%zu clusters)", worst[0]);
    CHECK_MSG(worst[1] == 1, "default k %d: up to %zu clusters for one person", k_default,
              worst[1]);
    fs_index_close(ix);
    free(v);
}
