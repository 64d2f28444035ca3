/* Sharded databases: S ordinary databases behind one fs_db (see store.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facesearch/hash.h"
#include "internal.h"

uint32_t fs_shard_of_path(const char *path, uint32_t n_shards)
{
    uint8_t h[32];
    fs_sha256(path, strlen(path), h);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    return n_shards ? (uint32_t)(v % n_shards) : 0;
}

void fs_db_shard_dir(const char *dir, int i, char *out, size_t cap)
{
    snprintf(out, cap, "%s/shard-%04d", dir, i);
}

/* ---- the manifest --------------------------------------------------------
 * A few "key = value" lines (docs/formats.md); only `shards` is needed to
 * open the database, the rest documents what made it. */

static int manifest_shards(const char *dir, int *n, fs_error *err)
{
    char path[4200], line[512];
    snprintf(path, sizeof path, "%s/%s", dir, FS_SHARD_MANIFEST);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return FS_ENOTFOUND;
        return fs_fail(err, FS_EIO, "%s: %s", path, strerror(errno));
    }
    int shards = 0, format = 0;
    while (fgets(line, sizeof line, f)) {
        int v;
        if (sscanf(line, "shards = %d", &v) == 1)
            shards = v;
        else if (strncmp(line, "format = facesearch-sharded 1", 29) == 0)
            format = 1;
    }
    fclose(f);
    if (!format || shards < 1 || shards > FS_SHARDS_MAX)
        return fs_fail(err, FS_EDB, "%s: not a facesearch shard manifest (format 1, 1..%d shards)",
                       path, FS_SHARDS_MAX);
    *n = shards;
    return FS_OK;
}

static int write_manifest(const char *dir, int n, const fs_db_model *model, fs_error *err)
{
    char path[4200], text[1024];
    snprintf(path, sizeof path, "%s/%s", dir, FS_SHARD_MANIFEST);
    int len = snprintf(text, sizeof text,
                       "# facesearch sharded database (docs/formats.md)\n"
                       "format = facesearch-sharded 1\n"
                       "shards = %d\n"
                       "partition = sha256(path) mod shards\n"
                       "id_shift = %d\n"
                       "schema = %d\n"
                       "model = %s\n"
                       "dim = %d\n",
                       n, FS_SHARD_SHIFT, FS_DB_SCHEMA, model->id, model->dim);
    if (len < 0 || (size_t)len >= sizeof text)
        return fs_fail(err, FS_EUSAGE, "%s: model id too long for the manifest", path);
    return fs_write_file_atomic(path, text, (size_t)len, err);
}

int fs_db_create_sharded(const char *dir, int n, const fs_db_model *model, fs_error *err)
{
    if (n < 1 || n > FS_SHARDS_MAX)
        return fs_fail(err, FS_EUSAGE, "%s: a sharded database has 1 to %d shards, not %d", dir,
                       FS_SHARDS_MAX, n);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, FS_DB_FILE);
    struct stat st;
    if (stat(path, &st) == 0)
        return fs_fail(err, FS_EUSAGE, "%s: already holds a plain (unsharded) database", dir);
    int have;
    int rc = manifest_shards(dir, &have, err);
    if (rc == FS_OK && have != n)
        return fs_fail(err, FS_EUSAGE, "%s: already a database of %d shards (the count is fixed "
                       "at creation)", dir, have);
    if (rc != FS_OK && rc != FS_ENOTFOUND)
        return rc;
    /* Creating (or, on a re-run, checking) every shard before the manifest
     * exists: a killed run leaves no manifest, so nothing opens half a set. */
    for (int i = 0; i < n; i++) {
        char sd[4200];
        fs_db_shard_dir(dir, i, sd, sizeof sd);
        fs_db_options o = {FS_DB_CREATE, model, 0, (uint64_t)i << FS_SHARD_SHIFT};
        fs_db *db;
        if ((rc = fs_db_open(sd, &o, &db, err)) != FS_OK)
            return rc;
        fs_db_close(db);
    }
    return have == n ? FS_OK : write_manifest(dir, n, model, err);
}

int fs_db_shards_in(const char *dir, int *n, fs_error *err)
{
    int rc = manifest_shards(dir, n, err);
    if (rc == FS_ENOTFOUND)
        *n = 0;
    return rc == FS_ENOTFOUND ? FS_OK : rc;
}

int fs_db_shard_count(const fs_db *db)
{
    return db->n_parts;
}

fs_db *fs_db_shard(fs_db *db, int i)
{
    return i >= 0 && i < db->n_parts ? db->parts[i] : NULL;
}

/* ---- opening -------------------------------------------------------------- */

int fs_shards_open(const char *dir, const fs_db_options *opts, int stride, int offset, fs_db *db,
                   fs_error *err)
{
    int n;
    int rc = manifest_shards(dir, &n, err);
    if (rc != FS_OK)
        return rc;
    if (stride < 1 || offset < 0 || offset >= stride)
        return fs_fail(err, FS_EUSAGE, "%s: shard subset %d of %d", dir, offset, stride);
    if (!(db->parts = calloc((size_t)n, sizeof *db->parts)))
        return fs_fail(err, FS_ENOMEM, "out of memory");
    db->n_parts = n;
    fs_db *first = NULL;
    for (int i = offset; i < n; i += stride) {
        char sd[4200], f[4300];
        fs_db_shard_dir(dir, i, sd, sizeof sd);
        snprintf(f, sizeof f, "%s/%s", sd, FS_DB_FILE);
        struct stat st;
        if (stat(f, &st) != 0)
            return fs_fail(err, FS_EDB, "%s: shard %d of %d is missing (%s)", dir, i, n, sd);
        /* Shards exist (fs_db_create_sharded made them): never create one
         * here, where its id base could not be known to be right. */
        fs_db_options o = *opts;
        o.flags &= ~FS_DB_CREATE;
        if ((rc = fs_db_open(sd, &o, &db->parts[i], err)) != FS_OK)
            return rc;
        if (!first)
            first = db->parts[i];
        if (strcmp(db->parts[i]->model_id, first->model_id) != 0)
            return fs_fail(err, FS_EDB,
                           "%s: shards of different models: shard %d holds '%s', %s holds '%s' "
                           "(finish facesearch reembed on every shard)",
                           dir, offset, first->model_id, sd, db->parts[i]->model_id);
    }
    if (!first) /* more processes than shards: this one has none */
        return FS_OK;
    db->dim = first->dim;
    db->f16 = first->f16;
    snprintf(db->model_id, sizeof db->model_id, "%s", first->model_id);
    return FS_OK;
}

void fs_shards_close(fs_db *db)
{
    for (int i = 0; i < db->n_parts; i++)
        fs_db_close(db->parts[i]);
    free(db->parts);
}

int fs_shards_set_meta_i64(fs_db *db, const char *key, int64_t value, fs_error *err)
{
    for (int i = 0; i < db->n_parts; i++) {
        int rc = db->parts[i] ? fs_db_set_meta_i64(db->parts[i], key, value, err) : FS_OK;
        if (rc != FS_OK)
            return rc;
    }
    return FS_OK;
}

/* ---- writing -------------------------------------------------------------- */

int fs_shards_commit(fs_db *db, fs_db_item *items, int n_items, const uint64_t *remove,
                     int n_remove, fs_error *err)
{
    /* Each shard's share of the batch in one transaction of that shard.
     * The ids the shard assigns are copied back into the caller's items. */
    int n = db->n_parts, rc = FS_OK;
    int *shard = malloc(sizeof(int) * (size_t)(n_items + 1));
    fs_db_item *sub = malloc(sizeof *sub * (size_t)(n_items + 1));
    uint64_t *rm = malloc(sizeof *rm * (size_t)(n_remove + 1));
    if (!shard || !sub || !rm)
        rc = fs_fail(err, FS_ENOMEM, "out of memory");
    for (int i = 0; rc == FS_OK && i < n_items; i++)
        shard[i] = (int)fs_shard_of_path(items[i].img.path, (uint32_t)n);
    for (int s = 0; rc == FS_OK && s < n; s++) {
        int ni = 0, nr = 0;
        for (int i = 0; i < n_items; i++)
            if (shard[i] == s)
                sub[ni++] = items[i];
        for (int i = 0; i < n_remove; i++)
            if ((int)fs_shard_of_id(remove[i]) == s)
                rm[nr++] = remove[i];
        if (!ni && !nr)
            continue;
        if (!db->parts[s]) {
            rc = fs_fail(err, FS_EUSAGE, "%s: %s belongs to shard %d, which this process has not "
                         "opened", db->path, ni ? sub[0].img.path : "a removed photo", s);
            break;
        }
        rc = fs_db_commit(db->parts[s], sub, ni, rm, nr, err);
        for (int i = 0, j = 0; rc == FS_OK && i < n_items; i++)
            if (shard[i] == s) {
                items[i].img.id = sub[j].img.id;
                items[i].img.first_face = sub[j++].img.first_face;
            }
    }
    free(shard);
    free(sub);
    free(rm);
    return rc;
}

/* ---- reading -------------------------------------------------------------- */

int fs_shards_snap_begin(fs_db *db, fs_db_snap *s, fs_error *err)
{
    if (!(s->parts = calloc((size_t)db->n_parts, sizeof *s->parts)))
        return fs_fail(err, FS_ENOMEM, "out of memory");
    for (int i = 0; i < db->n_parts; i++) {
        int rc = db->parts[i] ? fs_db_snap_begin(db->parts[i], &s->parts[i], err) : FS_OK;
        if (rc != FS_OK)
            return rc;
    }
    return FS_OK;
}

void fs_shards_snap_end(fs_db_snap *s)
{
    for (int i = 0; s->parts && i < s->db->n_parts; i++)
        fs_db_snap_end(s->parts[i]);
    free(s->parts);
}

fs_db_snap *fs_shards_snap_of_id(fs_db_snap *s, uint64_t id)
{
    uint32_t i = fs_shard_of_id(id);
    return i < (uint32_t)s->db->n_parts ? s->parts[i] : NULL;
}

fs_db_snap *fs_shards_snap_of_path(fs_db_snap *s, const char *path)
{
    return s->parts[fs_shard_of_path(path, (uint32_t)s->db->n_parts)];
}

int fs_shards_foreach(fs_db_snap *s, uint64_t from_id,
                      int (*walk_one)(fs_db_snap *, uint64_t, void *, fs_error *), void *arg,
                      fs_error *err)
{
    for (uint32_t i = fs_shard_of_id(from_id); i < (uint32_t)s->db->n_parts; i++) {
        if (!s->parts[i])
            continue;
        uint64_t base = (uint64_t)i << FS_SHARD_SHIFT;
        int rc = walk_one(s->parts[i], from_id > base ? from_id : base, arg, err);
        if (rc != 0)
            return rc;
    }
    return FS_OK;
}

int fs_shards_stats(fs_db_snap *s, fs_db_stats *st, fs_error *err)
{
    memset(st, 0, sizeof *st);
    int seen = 0;
    for (int i = 0; i < s->db->n_parts; i++) {
        if (!s->parts[i])
            continue;
        fs_db_stats p;
        int rc = fs_db_stats_get(s->parts[i], &p, err);
        if (rc != FS_OK)
            return rc;
        uint64_t base = (uint64_t)i << FS_SHARD_SHIFT;
        if (!seen++) {
            st->schema = p.schema;
            st->dim = p.dim;
            memcpy(st->model_id, p.model_id, sizeof st->model_id);
            memcpy(st->model_checksum, p.model_checksum, sizeof st->model_checksum);
            st->created_ns = p.created_ns;
        }
        st->images += p.images;
        st->images_ok += p.images_ok;
        st->images_no_face += p.images_no_face;
        st->errors += p.errors;
        for (int c = 0; c < 16; c++)
            st->errors_by_code[c] += p.errors_by_code[c];
        st->faces += p.faces;
        st->faces_removed += p.faces_removed;
        st->next_face_id += p.next_face_id - base;
        st->next_image_id += p.next_image_id - base - 1;
        st->db_bytes += p.db_bytes;
        st->map_bytes += p.map_bytes;
        st->generation += p.generation;
        if (p.created_ns && p.created_ns < st->created_ns)
            st->created_ns = p.created_ns;
        if (p.last_ingest_start_ns > st->last_ingest_start_ns)
            st->last_ingest_start_ns = p.last_ingest_start_ns;
        if (p.last_ingest_end_ns > st->last_ingest_end_ns)
            st->last_ingest_end_ns = p.last_ingest_end_ns;
        if (p.reembed_model[0] && !st->reembed_model[0]) {
            memcpy(st->reembed_model, p.reembed_model, sizeof st->reembed_model);
            st->reembed_dim = p.reembed_dim;
            st->reembed_next_image = p.reembed_next_image;
        }
    }
    st->next_image_id += 1;
    st->shards = (uint32_t)s->db->n_parts;
    return FS_OK;
}
