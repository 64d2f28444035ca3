/*
 * Synthetic descriptors: a two-level Gaussian model fitted to real ones.
 *
 * Real descriptors share a large common component (mean), identities spread
 * around it with a between-identity covariance, and photos of one person
 * spread around their identity centre with a within-identity covariance.
 * Fitting both covariances on LFW and sampling centre = mean + Lb z,
 * face = centre + Lw w (L = Cholesky factors, z, w standard normal) gives
 * vectors whose neighbourhoods look like a face archive's: tight clusters per
 * person, most mass far apart, everything in one cone.
 */
#include "synth.h"

#include "facesearch/face.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t synth_u64(synth_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double synth_normal(synth_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = (double)(synth_u64(r) >> 11) * 0x1.0p-53 * 2 - 1;
        v = (double)(synth_u64(r) >> 11) * 0x1.0p-53 * 2 - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    double f = sqrt(-2 * log(s) / s);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}

/* In-place Cholesky of a symmetric positive semi-definite matrix (lower
 * factor); a small ridge keeps it definite. */
static void cholesky(double *a, int n)
{
    double ridge = 0;
    for (int i = 0; i < n; i++)
        ridge += a[i * n + i];
    ridge = 1e-6 * ridge / n;
    for (int i = 0; i < n; i++)
        a[i * n + i] += ridge;
    for (int j = 0; j < n; j++) {
        double d = a[j * n + j];
        for (int k = 0; k < j; k++)
            d -= a[j * n + k] * a[j * n + k];
        d = d > 0 ? sqrt(d) : 0;
        a[j * n + j] = d;
        for (int i = j + 1; i < n; i++) {
            double s = a[i * n + j];
            for (int k = 0; k < j; k++)
                s -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = d > 0 ? s / d : 0;
        }
        for (int k = j + 1; k < n; k++)
            a[j * n + k] = 0;
    }
}

typedef struct fit_ctx {
    fs_db_snap *snap;
    int dim;
    /* Per face: identity hash and vector, collected in memory (LFW: ~10k). */
    uint64_t *ident;
    float *vec;
    size_t n, cap;
} fit_ctx;

static uint64_t hash_parent(const char *path)
{
    const char *end = strrchr(path, '/');
    if (!end)
        return 0;
    const char *beg = end;
    while (beg > path && beg[-1] != '/')
        beg--;
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = beg; p < end; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    return h;
}

static int fit_face(void *vctx, const fs_face_rec *f)
{
    fit_ctx *c = vctx;
    fs_image_rec img;
    float v[FS_DESCRIPTOR_MAX];
    if (fs_db_get_image(c->snap, f->image_id, &img, NULL) != FS_OK ||
        fs_db_get_vector(c->snap, f->id, v, NULL) != FS_OK)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4096;
        uint64_t *id = realloc(c->ident, cap * sizeof *id);
        float *vv = realloc(c->vec, cap * (size_t)c->dim * sizeof *vv);
        if (!id || !vv) {
            free(id ? id : c->ident);
            c->ident = NULL;
            return 1;
        }
        c->ident = id;
        c->vec = vv;
        c->cap = cap;
    }
    c->ident[c->n] = hash_parent(img.path);
    memcpy(c->vec + c->n * (size_t)c->dim, v, sizeof(float) * (size_t)c->dim);
    c->n++;
    return 0;
}

static int by_ident(const void *a, const void *b, void *ctx)
{
    const uint64_t *id = ctx;
    uint64_t x = id[*(const size_t *)a], y = id[*(const size_t *)b];
    return (x > y) - (x < y);
}

int synth_fit(fs_db *db, synth_model *m)
{
    memset(m, 0, sizeof *m);
    fs_db_snap *snap;
    fs_db_stats st;
    if (fs_db_snap_begin(db, &snap, NULL) != FS_OK)
        return -1;
    fs_db_stats_get(snap, &st, NULL);
    int d = st.dim;
    fit_ctx c = {snap, d, NULL, NULL, 0, 0};
    fs_db_foreach_face(snap, 0, fit_face, &c, NULL);
    fs_db_snap_end(snap);
    size_t *ord = malloc((c.n + 1) * sizeof *ord);
    double *mean = calloc((size_t)d, sizeof *mean), *sb = calloc((size_t)d * d, sizeof *sb),
           *sw = calloc((size_t)d * d, sizeof *sw), *cm = calloc((size_t)d, sizeof *cm);
    int ok = ord && mean && sb && sw && cm && c.ident;
    size_t ids = 0, used = 0;
    if (ok) {
        for (size_t i = 0; i < c.n; i++)
            ord[i] = i;
        qsort_r(ord, c.n, sizeof *ord, by_ident, c.ident);
        for (size_t i = 0; i < c.n; i++)
            for (int k = 0; k < d; k++)
                mean[k] += c.vec[i * (size_t)d + k] / (double)c.n;
        for (size_t i = 0, j; i < c.n; i = j) {
            for (j = i; j < c.n && c.ident[ord[j]] == c.ident[ord[i]]; j++)
                ;
            if (j - i < 2)
                continue;
            memset(cm, 0, sizeof(double) * (size_t)d);
            for (size_t t = i; t < j; t++)
                for (int k = 0; k < d; k++)
                    cm[k] += c.vec[ord[t] * (size_t)d + k] / (double)(j - i);
            for (int a = 0; a < d; a++)
                for (int b = 0; b <= a; b++)
                    sb[a * d + b] += (cm[a] - mean[a]) * (cm[b] - mean[b]);
            for (size_t t = i; t < j; t++) {
                const float *x = c.vec + ord[t] * (size_t)d;
                for (int a = 0; a < d; a++)
                    for (int b = 0; b <= a; b++)
                        sw[a * d + b] += (x[a] - cm[a]) * (x[b] - cm[b]);
            }
            ids++;
            used += j - i;
        }
    }
    if (ok && ids >= 20) {
        for (int a = 0; a < d; a++)
            for (int b = 0; b <= a; b++) {
                sb[a * d + b] /= (double)ids;
                sw[a * d + b] /= (double)(used - ids);
                sb[b * d + a] = sb[a * d + b];
                sw[b * d + a] = sw[a * d + b];
            }
        cholesky(sb, d);
        cholesky(sw, d);
        m->dim = d;
        m->mean = malloc(sizeof(float) * (size_t)d);
        m->chol_b = malloc(sizeof(float) * (size_t)d * d);
        m->chol_w = malloc(sizeof(float) * (size_t)d * d);
        if (m->mean && m->chol_b && m->chol_w) {
            for (int k = 0; k < d; k++)
                m->mean[k] = (float)mean[k];
            for (int k = 0; k < d * d; k++) {
                m->chol_b[k] = (float)sb[k];
                m->chol_w[k] = (float)sw[k];
            }
            m->fitted = 1;
            m->identities = ids;
            m->faces = used;
        }
    }
    free(ord);
    free(mean);
    free(sb);
    free(sw);
    free(cm);
    free(c.ident);
    free(c.vec);
    if (!m->fitted) {
        synth_free(m);
        return -1;
    }
    return 0;
}

void synth_default(synth_model *m, int dim)
{
    memset(m, 0, sizeof *m);
    m->dim = dim;
    m->mean = malloc(sizeof(float) * (size_t)dim);
    m->chol_b = calloc((size_t)dim * dim, sizeof(float));
    m->chol_w = calloc((size_t)dim * dim, sizeof(float));
    if (!m->mean || !m->chol_b || !m->chol_w)
        return;
    /* Mean of norm ~1.3 along a fixed direction; isotropic spreads chosen so
     * that E|c1 - c2| ~ 0.75 and E|x1 - x2| (same identity) ~ 0.35. */
    for (int k = 0; k < dim; k++) {
        m->mean[k] = (float)(1.3 / sqrt(dim)) * (k % 2 ? 1.0f : -1.0f);
        m->chol_b[k * dim + k] = (float)(0.75 / sqrt(2.0 * dim));
        m->chol_w[k * dim + k] = (float)(0.35 / sqrt(2.0 * dim));
    }
}

void synth_free(synth_model *m)
{
    free(m->mean);
    free(m->chol_b);
    free(m->chol_w);
    memset(m, 0, sizeof *m);
}

static void apply(const float *L, int d, synth_rng *r, const float *base, float *out)
{
    float z[512];
    for (int k = 0; k < d; k++)
        z[k] = (float)synth_normal(r);
    for (int a = 0; a < d; a++) {
        float s = base[a];
        for (int b = 0; b <= a; b++)
            s += L[a * d + b] * z[b];
        out[a] = s;
    }
}

void synth_identity(const synth_model *m, synth_rng *r, float *centre)
{
    apply(m->chol_b, m->dim, r, m->mean, centre);
}

void synth_face(const synth_model *m, synth_rng *r, const float *centre, float *out)
{
    apply(m->chol_w, m->dim, r, centre, out);
}
