/* faces.faiss.json: what an index was built from, and its fingerprint. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <faiss/c_api/error_c.h>

#include "facesearch/hash.h"
#include "facesearch/nn.h" /* fs_json_* */
#include "internal.h"

int fs_index_faiss_fail(fs_error *err, const char *what)
{
    const char *m = faiss_get_last_error();
    return fs_fail(err, FS_EINDEX, "%s: %s", what, m && *m ? m : "FAISS error");
}

int fs_index_fingerprint(const char *path, uint64_t *size, char hex[65], fs_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fs_fail(err, errno == ENOENT ? FS_ENOTFOUND : FS_EIO, "%s: %s", path,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return fs_fail(err, FS_EIO, "%s: %s", path, strerror(errno));
    }
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) {
        close(fd);
        return fs_fail(err, FS_ENOMEM, "out of memory");
    }
    fs_sha256_ctx c;
    fs_sha256_init(&c);
    uint64_t sz = (uint64_t)st.st_size;
    fs_sha256_update(&c, &sz, sizeof sz);
    off_t offs[2] = {0, st.st_size > CHUNK ? st.st_size - CHUNK : 0};
    int rc = FS_OK;
    for (int i = 0; i < 2 && rc == FS_OK; i++) {
        ssize_t n = pread(fd, buf, CHUNK, offs[i]);
        if (n < 0)
            rc = fs_fail(err, FS_EIO, "%s: %s", path, strerror(errno));
        else
            fs_sha256_update(&c, buf, (size_t)n);
    }
    free(buf);
    close(fd);
    uint8_t d[32];
    fs_sha256_final(&c, d);
    fs_sha256_hex(d, hex);
    *size = sz;
    return rc;
}

int fs_index_sidecar_write(const char *path, const fs_index_info *in, fs_error *err)
{
    char text[4096];
    int n = snprintf(text, sizeof text,
            "{\n  \"format\": \"facesearch-index-sidecar/1\",\n"
            "  \"factory\": \"%s\",\n  \"model\": \"%s\",\n  \"faiss_build\": \"%s\",\n"
            "  \"dim\": %d,\n  \"count\": %llu,\n  \"db_next_face\": %llu,\n"
            "  \"db_faces_removed\": %llu,\n  \"db_generation\": %llu,\n"
            "  \"train_size\": %llu,\n  \"built_ns\": %lld,\n  \"build_s\": %.3f,\n"
            "  \"train_s\": %.3f,\n  \"add_s\": %.3f,\n  \"incremental\": %d,\n"
            "  \"file_bytes\": %llu,\n  \"fingerprint\": \"%s\",\n  \"trained\": \"%s\",\n"
            "  \"merge_s\": %.3f\n}\n",
            in->factory, in->model_id, in->faiss_build, in->dim,
            (unsigned long long)in->count, (unsigned long long)in->db_next_face,
            (unsigned long long)in->db_faces_removed, (unsigned long long)in->db_generation,
            (unsigned long long)in->train_size, (long long)in->built_ns, in->build_s,
            in->train_s, in->add_s, in->incremental, (unsigned long long)in->file_bytes,
            in->fingerprint, in->trained, in->merge_s);
    if (n < 0 || (size_t)n >= sizeof text)
        return fs_fail(err, FS_EINTERNAL, "%s: sidecar text too long", path);
    return fs_write_file_atomic(path, text, (size_t)n, err);
}

static void copy_str(const fs_json *j, const char *key, char *out, size_t cap)
{
    const char *s = fs_json_string(fs_json_get(j, key));
    snprintf(out, cap, "%s", s ? s : "");
}

/* A whole number field in [0, max] (absent: 0).  Anything else (negative,
 * fractional, huge, not a number) marks the sidecar as damaged: converting
 * it would be undefined, and its figures would be wrong anyway. */
static double count_field(const fs_json *j, const char *key, double max, int *bad)
{
    const fs_json *v = fs_json_get(j, key);
    if (!v)
        return 0;
    double d = fs_json_number(v, -1);
    if (!(d >= 0 && d <= max && d == (double)(uint64_t)d)) {
        *bad = 1;
        return 0;
    }
    return d;
}

int fs_index_sidecar_read(const char *path, fs_index_info *out, fs_error *err)
{
    uint8_t *buf;
    size_t len;
    int rc = fs_read_file(path, 1 << 20, &buf, &len, err);
    if (rc != FS_OK)
        return rc == FS_EIO && errno == ENOENT ? FS_ENOTFOUND : rc;
    fs_json *j;
    rc = fs_json_parse((const char *)buf, len, path, &j, err);
    free(buf);
    if (rc != FS_OK)
        return fs_fail(err, FS_EINDEX, "%s", err ? err->msg : path);
    memset(out, 0, sizeof *out);
    const char *fmt = fs_json_string(fs_json_get(j, "format"));
    if (!fmt || strcmp(fmt, "facesearch-index-sidecar/1") != 0) {
        fs_json_free(j);
        return fs_fail(err, FS_EINDEX, "%s: not a facesearch index sidecar", path);
    }
    copy_str(j, "factory", out->factory, sizeof out->factory);
    copy_str(j, "model", out->model_id, sizeof out->model_id);
    copy_str(j, "faiss_build", out->faiss_build, sizeof out->faiss_build);
    copy_str(j, "fingerprint", out->fingerprint, sizeof out->fingerprint);
    /* Counts stay below 2^63 so that every one converts exactly. */
    const double big = 9.2e18;
    int bad = 0;
    out->dim = (int)count_field(j, "dim", 65536, &bad);
    out->count = (uint64_t)count_field(j, "count", big, &bad);
    out->db_next_face = (uint64_t)count_field(j, "db_next_face", big, &bad);
    out->db_faces_removed = (uint64_t)count_field(j, "db_faces_removed", big, &bad);
    out->db_generation = (uint64_t)count_field(j, "db_generation", big, &bad);
    out->train_size = (uint64_t)count_field(j, "train_size", big, &bad);
    out->built_ns = (int64_t)count_field(j, "built_ns", big, &bad);
    out->incremental = (int)count_field(j, "incremental", 1, &bad);
    out->file_bytes = (uint64_t)count_field(j, "file_bytes", big, &bad);
    out->build_s = fs_json_number(fs_json_get(j, "build_s"), 0);
    out->train_s = fs_json_number(fs_json_get(j, "train_s"), 0);
    out->add_s = fs_json_number(fs_json_get(j, "add_s"), 0);
    out->merge_s = fs_json_number(fs_json_get(j, "merge_s"), 0);
    copy_str(j, "trained", out->trained, sizeof out->trained);
    fs_json_free(j);
    if (bad)
        return fs_fail(err, FS_EINDEX, "%s: damaged sidecar (a count out of range); rebuild with "
                       "facesearch build", path);
    return FS_OK;
}
