/*
 * `facesearch label`: train on the people's examples, calibrate the open-set
 * threshold on identity-disjoint folds, and label every stored face in
 * batches of one transaction each (facesearch/people.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facesearch/hash.h"
#include "internal.h"

/* Faces scored and written per transaction. */
#define BATCH 4096

typedef struct run {
    fs_people *p;
    const fs_label_opts *o;
    fs_classifier *cls;
    const uint64_t *person_of_class; /* class -> person id */
    const float *imp;
    size_t n_imp;
    float thr;
    uint64_t fp;
    int dim;
    /* Stored faces that are examples: face id -> person (sorted by face). */
    uint64_t (*enrolled)[2];
    size_t n_enrolled;
    /* The batch. */
    uint64_t ids[BATCH];
    float *vecs;
    fs_label have[BATCH], out[BATCH];
    float *scores;
    size_t n;
    fs_label_stats *st;
    fs_error *err;
} run;

static int by_first(const void *a, const void *b)
{
    uint64_t x = ((const uint64_t *)a)[0], y = ((const uint64_t *)b)[0];
    return (x > y) - (x < y);
}

/* The person a stored face is enrolled as, or 0. */
static uint64_t enrolled_as(const run *r, uint64_t face)
{
    size_t lo = 0, hi = r->n_enrolled;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->enrolled[mid][0] < face)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->n_enrolled && r->enrolled[lo][0] == face ? r->enrolled[lo][1] : 0;
}

/* Labels the batch's faces that need it and writes them. */
static int flush(run *r)
{
    if (!r->n)
        return FS_OK;
    int rc = fs_people_labels_get(r->p, r->ids, r->n, r->have, r->err);
    size_t m = 0;
    /* Compact the faces to label to the front of vecs. */
    for (size_t i = 0; rc == FS_OK && i < r->n; i++) {
        if (!r->o->full && r->have[i].fingerprint == r->fp)
            continue;
        if (m != i)
            memcpy(r->vecs + m * r->dim, r->vecs + i * r->dim, sizeof(float) * (size_t)r->dim);
        r->out[m++].face_id = r->ids[i];
    }
    if (rc == FS_OK && m)
        rc = fs_classifier_scores(r->cls, r->vecs, m, r->scores, r->err);
    const int C = fs_classifier_classes(r->cls);
    for (size_t i = 0; rc == FS_OK && i < m; i++) {
        const float *s = r->scores + i * C;
        int best = 0;
        for (int k = 1; k < C; k++)
            if (s[k] > s[best])
                best = k;
        fs_label *l = &r->out[i];
        l->raw = s[best];
        l->score = fs_calibrated_score(r->imp, r->n_imp, s[best]);
        l->person = s[best] >= r->thr ? r->person_of_class[best] : 0;
        l->fingerprint = r->fp;
        uint64_t who = enrolled_as(r, l->face_id);
        if (who) { /* the user said so */
            l->person = who;
            l->score = 1;
        }
    }
    if (rc == FS_OK && m)
        rc = fs_people_labels_put(r->p, r->out, m, NULL, 0, r->err);
    r->st->labelled += m;
    r->n = 0;
    return rc;
}

static int take_vector(void *ctx, uint64_t id, const float *vec)
{
    run *r = ctx;
    r->ids[r->n] = id;
    memcpy(r->vecs + r->n * r->dim, vec, sizeof(float) * (size_t)r->dim);
    r->st->faces++;
    if (++r->n == BATCH)
        return flush(r) == FS_OK ? 0 : -1;
    return 0;
}

/* Counts the labels of this training and drops those of faces gone. */
typedef struct tally {
    fs_db_snap *snap;
    uint64_t fp;
    uint64_t *drop;
    size_t n_drop, cap;
    fs_label_stats *st;
} tally;

static int count_label(void *ctx, const fs_label *l)
{
    tally *t = ctx;
    fs_face_rec f;
    if (fs_db_get_face(t->snap, l->face_id, &f, NULL) != FS_OK) {
        if (t->n_drop == t->cap) {
            size_t cap = t->cap ? 2 * t->cap : 1024;
            uint64_t *d = realloc(t->drop, cap * sizeof *d);
            if (!d)
                return FS_ENOMEM;
            t->drop = d;
            t->cap = cap;
        }
        t->drop[t->n_drop++] = l->face_id;
        return 0;
    }
    if (l->fingerprint == t->fp) {
        if (l->person)
            t->st->known++;
        else
            t->st->unknown++;
    }
    return 0;
}

/* What the labels depend on: the people (generation), the model, the
 * method and its options -- the inputs of the training, not its outputs,
 * which may differ in the last bits from one run to the next (threaded
 * BLAS) and must not relabel the archive. */
static uint64_t fingerprint(uint64_t gen, uint64_t tag, const fs_label_opts *o)
{
    char s[256];
    snprintf(s, sizeof s, "gen=%llu tag=%016llx method=%s far=%.9g augment=%d/%x",
             (unsigned long long)gen, (unsigned long long)tag, fs_label_method_name(o->method),
             o->far, o->augment, o->variants);
    uint8_t h[32];
    fs_sha256(s, strlen(s), h);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return v ? v : 1;
}

int fs_label_run(fs_db *db, fs_people *p, const fs_label_opts *o, fs_label_stats *st,
                 fs_error *err)
{
    memset(st, 0, sizeof *st);
    fs_db_snap *snap = NULL;
    fs_db_stats dbs;
    fs_person *people = NULL;
    size_t n_people = 0;
    fs_example_list ex = {0};
    float *x = NULL, *imp = NULL;
    int *y = NULL;
    uint8_t *orig = NULL;
    uint64_t *class_person = NULL;
    run r = {0};
    tally t = {0};
    int rc = fs_db_snap_begin(db, &snap, err);
    if (rc == FS_OK)
        rc = fs_db_stats_get(snap, &dbs, err);
    if (rc == FS_OK && dbs.reembed_model[0])
        rc = fs_fail(err, FS_EUSAGE, "a reembed to %s is under way: finish it first",
                     dbs.reembed_model);
    if (rc == FS_OK)
        rc = fs_people_refresh(p, snap, dbs.model_id, dbs.dim, &st->refresh, err);
    if (rc == FS_OK)
        rc = fs_people_list(p, &people, &n_people, err);
    if (rc == FS_OK)
        rc = fs_people_examples(p, 0, &ex, err);
    if (rc == FS_OK && !n_people)
        rc = fs_fail(err, FS_EUSAGE, "no people enrolled yet (facesearch person add NAME PHOTO)");
    if (rc != FS_OK)
        goto out;
    /* Training rows: examples in the database's descriptor space. */
    const uint64_t tag = fs_people_model_tag(dbs.model_id);
    const int dim = dbs.dim;
    x = malloc((ex.n + 1) * sizeof(float) * (size_t)dim);
    y = malloc((ex.n + 1) * sizeof *y);
    orig = malloc(ex.n + 1);
    class_person = malloc((n_people + 1) * sizeof *class_person);
    r.enrolled = malloc((ex.n + 1) * sizeof *r.enrolled);
    if (!x || !y || !orig || !class_person || !r.enrolled) {
        rc = fs_fail(err, FS_ENOMEM, "out of memory");
        goto out;
    }
    size_t n = 0;
    int classes = 0;
    for (size_t i = 0; i < n_people; i++) {
        int used = 0;
        for (size_t j = 0; j < ex.n; j++) {
            const fs_example *e = &ex.v[j];
            if (e->person != people[i].id)
                continue;
            if (!e->aug && e->face_id != FS_NO_FACE && !e->gone) {
                r.enrolled[r.n_enrolled][0] = e->face_id;
                r.enrolled[r.n_enrolled++][1] = e->person;
            }
            int use_aug = o->augment && (!o->variants || (o->variants >> e->aug & 1));
            if (e->model_tag != tag || e->dim != dim || (e->aug && !use_aug))
                continue;
            memcpy(x + n * dim, e->vec, sizeof(float) * (size_t)dim);
            y[n] = classes;
            orig[n++] = !e->aug;
            st->examples += !e->aug;
            st->augmented += e->aug != 0;
            used = 1;
        }
        if (used)
            class_person[classes++] = people[i].id;
    }
    st->people = (size_t)classes;
    qsort(r.enrolled, r.n_enrolled, sizeof *r.enrolled, by_first);
    if (!classes) {
        rc = fs_fail(err, FS_EUSAGE, "no example is of the database's model (%s): every "
                                     "enrolled photo is gone; enrol people again",
                     dbs.model_id);
        goto out;
    }
    fs_label_opts used = *o;
    if (classes < 3)
        used.method = FS_LABEL_TEMPLATE;
    o = &used;
    st->method = o->method;
    double t0 = fs_now();
    if ((rc = fs_classifier_train(o->method, x, y, n, dim, classes, &r.cls, err)) != FS_OK)
        goto out;
    size_t n_imp = 0;
    if (classes >= 2 &&
        (rc = fs_classifier_impostors(o->method, x, y, orig, n, dim, classes, 0, o->seed, &imp,
                                      &n_imp, err)) != FS_OK)
        goto out;
    st->impostors = n_imp;
    float thr = fs_threshold_at_far(imp, n_imp, o->far);
    if (o->method == FS_LABEL_TEMPLATE && (double)n_imp * o->far < 1)
        thr = o->template_threshold;
    st->threshold = thr;
    st->train_s = fs_now() - t0;
    uint64_t gen;
    if ((rc = fs_people_generation(p, &gen, err)) != FS_OK)
        goto out;
    r.p = p;
    r.o = o;
    r.person_of_class = class_person;
    r.imp = imp;
    r.n_imp = n_imp;
    r.thr = thr;
    r.fp = fingerprint(gen, tag, o);
    r.dim = dim;
    r.st = st;
    r.err = err;
    r.vecs = malloc(sizeof(float) * BATCH * (size_t)dim);
    r.scores = malloc(sizeof(float) * BATCH * (size_t)classes);
    if (!r.vecs || !r.scores) {
        rc = fs_fail(err, FS_ENOMEM, "out of memory");
        goto out;
    }
    fs_label_summary last;
    if ((rc = fs_people_label_summary(p, &last, err)) != FS_OK)
        goto out;
    st->incremental = !o->full && last.fingerprint == r.fp;
    t0 = fs_now();
    rc = fs_db_foreach_vector(snap, 0, take_vector, &r, err);
    if (rc == -1)
        rc = err && err->code ? err->code : FS_EDB;
    if (rc == FS_OK)
        rc = flush(&r);
    if (rc != FS_OK)
        goto out;
    t = (tally){snap, r.fp, NULL, 0, 0, st};
    if ((rc = fs_people_foreach_label(p, count_label, &t, err)) != FS_OK) {
        if (rc == FS_ENOMEM)
            fs_fail(err, rc, "out of memory");
        goto out;
    }
    st->dropped = t.n_drop;
    if (t.n_drop && (rc = fs_people_labels_put(p, NULL, 0, t.drop, t.n_drop, err)) != FS_OK)
        goto out;
    st->label_s = fs_now() - t0;
    fs_label_summary s = {.far = o->far, .threshold = thr, .fingerprint = r.fp,
                          .faces = st->faces, .known = st->known, .unknown = st->unknown,
                          .finished_ns = fs_people_now_ns(), .augment = o->augment};
    snprintf(s.method, sizeof s.method, "%s", fs_label_method_name(o->method));
    rc = fs_people_set_label_summary(p, &s, err);
out:
    fs_db_snap_end(snap);
    fs_classifier_destroy(r.cls);
    free(r.vecs);
    free(r.scores);
    free(r.enrolled);
    free(t.drop);
    free(people);
    fs_example_list_free(&ex);
    free(x);
    free(y);
    free(orig);
    free(imp);
    free(class_person);
    return rc;
}
