/*
 * TF.js weight loading: NAME-weights_manifest.json + the .bin shards it names.
 * Facts (from the TF.js format and the golden README §2): entries are stored
 * back to back in manifest order across the concatenated shards, without
 * padding; quantised values decode as q*scale+min in double, rounded to
 * float32; raw float32 values sit at arbitrary byte offsets.
 */
#include "facesearch/nn.h"
#include "facesearch/hash.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MANIFEST_BYTES (16u << 20)
#define MAX_SHARD_BYTES ((size_t)1 << 30)
#define MAX_DIMS 6

typedef struct entry {
    char *name;
    int ndim;
    int shape[MAX_DIMS];
    int is_float;   /* decoded to float32 (else an int32 constant, skipped) */
    size_t offset;  /* into w->values, in floats */
    size_t count;
    int used;
} entry;

typedef struct wfile {
    char *name;
    char sha256[65];
} wfile;

struct fs_weights {
    char *model;
    entry *entries;
    int n_entries;
    float *values;
    wfile *files;
    int n_files;
};

void fs_weights_free(fs_weights *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->n_entries; i++)
        free(w->entries[i].name);
    for (int i = 0; i < w->n_files; i++)
        free(w->files[i].name);
    free(w->entries);
    free(w->files);
    free(w->values);
    free(w->model);
    free(w);
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static int add_file(fs_weights *w, const char *name, const uint8_t *data, size_t len)
{
    wfile *f = realloc(w->files, (size_t)(w->n_files + 1) * sizeof *f);
    if (!f)
        return FS_ENOMEM;
    w->files = f;
    f = &w->files[w->n_files];
    if (!(f->name = dupstr(name)))
        return FS_ENOMEM;
    uint8_t d[32];
    fs_sha256(data, len, d);
    fs_sha256_hex(d, f->sha256);
    w->n_files++;
    return FS_OK;
}

/* Reads DIR/NAME (at most max bytes) and records its checksum.  A missing or
 * unreadable file is FS_EMODEL with the path and a hint. */
static int read_model_file(fs_weights *w, const char *dir, const char *name, size_t max,
                           uint8_t **buf, size_t *len, fs_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fs_error e = {0};
    int st = fs_read_file(path, max, buf, len, &e);
    if (st != FS_OK)
        return fs_fail(err, st == FS_ENOMEM ? FS_ENOMEM : FS_EMODEL, "%s (run 'make models')",
                       e.msg);
    if (add_file(w, name, *buf, *len) != FS_OK) {
        free(*buf);
        return fs_fail(err, FS_ENOMEM, "%s: out of memory", path);
    }
    return FS_OK;
}

/* Bytes per stored value, and how it decodes. */
typedef enum { ST_F32, ST_I32, ST_U8, ST_U16 } storage;

typedef struct spec {
    const char *name;
    int ndim, shape[MAX_DIMS];
    size_t count;
    storage st;
    int is_float;
    double scale, min;
} spec;

static int read_spec(const fs_json *e, const char *mpath, int idx, spec *s, fs_error *err)
{
    memset(s, 0, sizeof *s);
    s->name = fs_json_string(fs_json_get(e, "name"));
    const fs_json *shape = fs_json_get(e, "shape");
    const char *dtype = fs_json_string(fs_json_get(e, "dtype"));
    if (!s->name || fs_json_kind(shape) != FS_JSON_ARRAY || !dtype)
        return fs_fail(err, FS_EMODEL, "%s: weight entry %d lacks name, shape or dtype",
                       mpath, idx);
    s->ndim = (int)fs_json_count(shape);
    if (s->ndim > MAX_DIMS)
        return fs_fail(err, FS_EMODEL, "%s: tensor '%s' has %d dimensions", mpath,
                       s->name, s->ndim);
    s->count = 1;
    for (int d = 0; d < s->ndim; d++) {
        double v = fs_json_number(fs_json_at(shape, (size_t)d), -1);
        if (!(v >= 0 && v <= (1 << 28)) || v != (double)(int)v)
            return fs_fail(err, FS_EMODEL, "%s: tensor '%s' has a bad shape", mpath, s->name);
        s->shape[d] = (int)v;
        s->count *= (size_t)v;
        if (s->count > (size_t)1 << 30)
            return fs_fail(err, FS_EMODEL, "%s: tensor '%s' is too large", mpath, s->name);
    }
    if (strcmp(dtype, "float32") == 0)
        s->is_float = 1;
    else if (strcmp(dtype, "int32") != 0)
        return fs_fail(err, FS_EMODEL, "%s: tensor '%s' has unsupported dtype %s", mpath,
                       s->name, dtype);
    s->st = s->is_float ? ST_F32 : ST_I32;
    const fs_json *q = fs_json_get(e, "quantization");
    if (q) {
        const char *qd = fs_json_string(fs_json_get(q, "dtype"));
        const fs_json *sc = fs_json_get(q, "scale"), *mn = fs_json_get(q, "min");
        if (!qd || fs_json_kind(sc) != FS_JSON_NUMBER || fs_json_kind(mn) != FS_JSON_NUMBER)
            return fs_fail(err, FS_EMODEL, "%s: tensor '%s': bad quantization record",
                           mpath, s->name);
        if (strcmp(qd, "uint8") == 0)
            s->st = ST_U8;
        else if (strcmp(qd, "uint16") == 0)
            s->st = ST_U16;
        else
            return fs_fail(err, FS_EMODEL, "%s: tensor '%s': unsupported quantization %s",
                           mpath, s->name, qd);
        s->scale = fs_json_number(sc, 0);
        s->min = fs_json_number(mn, 0);
    }
    return FS_OK;
}

static size_t value_bytes(storage st)
{
    return st == ST_U8 ? 1 : st == ST_U16 ? 2 : 4;
}

static void decode(const spec *s, const uint8_t *src, float *dst)
{
    switch (s->st) {
    case ST_F32:
        memcpy(dst, src, s->count * 4); /* little-endian host, unaligned source */
        break;
    case ST_U8:
        for (size_t i = 0; i < s->count; i++)
            dst[i] = (float)((double)src[i] * s->scale + s->min);
        break;
    case ST_U16:
        for (size_t i = 0; i < s->count; i++) {
            unsigned q = (unsigned)src[2 * i] | (unsigned)src[2 * i + 1] << 8;
            dst[i] = (float)((double)q * s->scale + s->min);
        }
        break;
    case ST_I32:
        break;
    }
}

/* Reads the shards of one manifest group into one buffer. */
static int read_group(fs_weights *w, const char *dir, const char *mpath, const fs_json *paths,
                      uint8_t **data, size_t *len, fs_error *err)
{
    *data = NULL;
    *len = 0;
    if (fs_json_kind(paths) != FS_JSON_ARRAY || fs_json_count(paths) == 0)
        return fs_fail(err, FS_EMODEL, "%s: a weight group has no 'paths'", mpath);
    for (size_t i = 0; i < fs_json_count(paths); i++) {
        const char *name = fs_json_string(fs_json_at(paths, i));
        /* Shards are plain file names next to the manifest, never paths out. */
        if (!name || !*name || strchr(name, '/') || strcmp(name, "..") == 0) {
            free(*data);
            return fs_fail(err, FS_EMODEL, "%s: bad shard path in manifest", mpath);
        }
        uint8_t *buf;
        size_t n;
        int st = read_model_file(w, dir, name, MAX_SHARD_BYTES, &buf, &n, err);
        if (st != FS_OK) {
            free(*data);
            return st;
        }
        uint8_t *all = realloc(*data, *len + n + 1);
        if (!all) {
            free(buf);
            free(*data);
            return fs_fail(err, FS_ENOMEM, "%s: out of memory", name);
        }
        memcpy(all + *len, buf, n);
        free(buf);
        *data = all;
        *len += n;
    }
    return FS_OK;
}

static int load_manifest(fs_weights *w, const char *dir, const char *mpath, const fs_json *m,
                         fs_error *err)
{
    if (fs_json_kind(m) != FS_JSON_ARRAY || fs_json_count(m) == 0)
        return fs_fail(err, FS_EMODEL, "%s: manifest is not a non-empty array of groups", mpath);
    /* Pass 1: sizes, so values can be one allocation. */
    size_t n_entries = 0, n_floats = 0;
    for (size_t g = 0; g < fs_json_count(m); g++) {
        const fs_json *ws = fs_json_get(fs_json_at(m, g), "weights");
        if (fs_json_kind(ws) != FS_JSON_ARRAY)
            return fs_fail(err, FS_EMODEL, "%s: group %zu has no 'weights' list", mpath, g);
        for (size_t i = 0; i < fs_json_count(ws); i++) {
            spec s;
            int st = read_spec(fs_json_at(ws, i), mpath, (int)i, &s, err);
            if (st)
                return st;
            n_entries++;
            if (s.is_float)
                n_floats += s.count;
        }
    }
    w->entries = calloc(n_entries, sizeof *w->entries);
    w->values = fs_nn_alloc(n_floats * sizeof(float));
    if (!w->entries || !w->values)
        return fs_fail(err, FS_ENOMEM, "%s: out of memory", mpath);
    size_t fpos = 0;
    for (size_t g = 0; g < fs_json_count(m); g++) {
        const fs_json *grp = fs_json_at(m, g);
        const fs_json *ws = fs_json_get(grp, "weights");
        uint8_t *data;
        size_t len;
        int st = read_group(w, dir, mpath, fs_json_get(grp, "paths"), &data, &len, err);
        if (st)
            return st;
        size_t pos = 0;
        for (size_t i = 0; i < fs_json_count(ws); i++) {
            spec s;
            read_spec(fs_json_at(ws, i), mpath, (int)i, &s, NULL);
            size_t bytes = s.count * value_bytes(s.st);
            if (bytes > len - pos) {
                free(data);
                return fs_fail(err, FS_EMODEL,
                               "%s: weight file is truncated: tensor '%s' needs bytes %zu..%zu "
                               "of %zu", mpath, s.name, pos, pos + bytes, len);
            }
            entry *e = &w->entries[w->n_entries++];
            if (!(e->name = dupstr(s.name))) {
                free(data);
                return fs_fail(err, FS_ENOMEM, "%s: out of memory", mpath);
            }
            e->ndim = s.ndim;
            memcpy(e->shape, s.shape, sizeof e->shape);
            e->is_float = s.is_float;
            e->count = s.count;
            e->offset = fpos;
            if (s.is_float) {
                decode(&s, data + pos, w->values + fpos);
                fpos += s.count;
            }
            pos += bytes;
        }
        free(data);
        if (pos != len)
            return fs_fail(err, FS_EMODEL,
                           "%s: weight entries cover %zu bytes but the shards hold %zu "
                           "(wrong or damaged .bin)", mpath, pos, len);
    }
    return FS_OK;
}

int fs_weights_load(const char *dir, const char *model, fs_weights **out, fs_error *err)
{
    *out = NULL;
    fs_weights *w = calloc(1, sizeof *w);
    if (!w || !(w->model = dupstr(model))) {
        free(w);
        return fs_fail(err, FS_ENOMEM, "%s: out of memory", model);
    }
    char mname[512], mpath[4096];
    snprintf(mname, sizeof mname, "%s-weights_manifest.json", model);
    snprintf(mpath, sizeof mpath, "%s/%s", dir, mname);
    uint8_t *text;
    size_t len;
    int st = read_model_file(w, dir, mname, MAX_MANIFEST_BYTES, &text, &len, err);
    if (st != FS_OK) {
        fs_weights_free(w);
        return st;
    }
    fs_json *m = NULL;
    st = fs_json_parse((const char *)text, len, mpath, &m, err);
    free(text);
    if (st == FS_OK)
        st = load_manifest(w, dir, mpath, m, err);
    fs_json_free(m);
    if (st != FS_OK) {
        if (st == FS_ECORRUPT)
            st = err ? (err->code = FS_EMODEL) : FS_EMODEL;
        fs_weights_free(w);
        return st;
    }
    *out = w;
    return FS_OK;
}

const char *fs_weights_model(const fs_weights *w) { return w->model; }

static void shape_text(char *buf, size_t n, int ndim, const int *shape)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%d", d ? "," : "", shape[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

int fs_weights_get(fs_weights *w, const char *name, int ndim, const int *shape,
                   const float **data, fs_error *err)
{
    *data = NULL;
    for (int i = 0; i < w->n_entries; i++) {
        entry *e = &w->entries[i];
        if (strcmp(e->name, name) != 0)
            continue;
        if (!e->is_float)
            return fs_fail(err, FS_EMODEL, "%s: tensor '%s' is not float32", w->model, name);
        int same = e->ndim == ndim;
        for (int d = 0; same && d < ndim; d++)
            same = e->shape[d] == shape[d];
        if (!same) {
            char have[128], want[128];
            shape_text(have, sizeof have, e->ndim, e->shape);
            shape_text(want, sizeof want, ndim, shape);
            return fs_fail(err, FS_EMODEL, "%s: tensor '%s' has shape %s, expected %s",
                           w->model, name, have, want);
        }
        e->used = 1;
        *data = w->values + e->offset;
        return FS_OK;
    }
    return fs_fail(err, FS_EMODEL, "%s: tensor '%s' missing from the manifest", w->model, name);
}

int fs_weights_check_used(const fs_weights *w, fs_error *err)
{
    for (int i = 0; i < w->n_entries; i++)
        if (w->entries[i].is_float && !w->entries[i].used)
            return fs_fail(err, FS_EMODEL, "%s: unexpected tensor '%s' (not used by the network)",
                           w->model, w->entries[i].name);
    return FS_OK;
}

int fs_weights_file_count(const fs_weights *w) { return w->n_files; }

void fs_weights_file(const fs_weights *w, int i, const char **name, const char **sha256_hex)
{
    if (name)
        *name = w->files[i].name;
    if (sha256_hex)
        *sha256_hex = w->files[i].sha256;
}
