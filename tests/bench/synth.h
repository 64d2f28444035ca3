/* Synthetic face descriptors that behave like real ones (see synth.c). */
#ifndef FS_BENCH_SYNTH_H
#define FS_BENCH_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "facesearch/store.h"

typedef struct synth_model {
    int dim;
    float *mean;      /* dim */
    float *chol_b;    /* dim x dim lower-triangular: between-identity spread */
    float *chol_w;    /* dim x dim lower-triangular: within-identity spread */
    int fitted;       /* 1 = fitted to a real database, 0 = isotropic fallback */
    size_t identities, faces; /* what the fit used */
} synth_model;

/* Fits the model to the vectors of db, identities taken from each photo's
 * parent folder name (LFW layout).  Returns 0, or -1 when there are fewer
 * than 20 identities with two or more faces. */
int synth_fit(fs_db *db, synth_model *m);

/* A fallback with the scale of real descriptors: norm ~1.45, identity spread
 * and within spread matching typical distances (same ~0.35, different ~0.75). */
void synth_default(synth_model *m, int dim);

void synth_free(synth_model *m);

/* Deterministic normal variates. */
typedef struct synth_rng {
    uint64_t s;
    int has_spare;
    double spare;
} synth_rng;
double synth_normal(synth_rng *r);
uint64_t synth_u64(synth_rng *r);

/* An identity centre, and a face of an identity. */
void synth_identity(const synth_model *m, synth_rng *r, float *centre);
void synth_face(const synth_model *m, synth_rng *r, const float *centre, float *out);

#endif
