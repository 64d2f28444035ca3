/* Streaming photo-path sources: directory walks and manifests (see scan.h). */
#include "facesearch/scan.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PATH 4096

typedef struct frame {
    DIR *dir;
    size_t len;   /* length of the directory's path in scan->path */
    dev_t dev;
    ino_t ino;
} frame;

struct fs_scan {
    fs_scan_opts o;
    char **roots;
    int n_roots, next_root;
    FILE *manifest;
    char *line;
    size_t line_cap;
    frame *stack;
    int depth, cap;
    char path[MAX_PATH];
    char *extensions; /* owned copy of o.extensions */
};

int fs_scan_is_photo_name(const char *name, const char *extensions)
{
    const char *dot = strrchr(name, '.');
    if (!dot || !dot[1])
        return 0;
    size_t n = strlen(dot + 1);
    for (const char *p = extensions ? extensions : FS_SCAN_EXTENSIONS; *p;) {
        size_t k = strcspn(p, " ,\t");
        if (k == n && strncasecmp(p, dot + 1, n) == 0)
            return 1;
        p += k;
        p += strspn(p, " ,\t");
    }
    return 0;
}

int fs_path_normalize(const char *in, char *out, size_t cap)
{
    char buf[MAX_PATH * 2];
    if (in[0] == '/') {
        if (strlen(in) >= sizeof buf)
            return FS_ELIMIT;
        strcpy(buf, in);
    } else {
        char cwd[MAX_PATH];
        if (!getcwd(cwd, sizeof cwd))
            return FS_ELIMIT;
        if ((size_t)snprintf(buf, sizeof buf, "%s/%s", cwd, in) >= sizeof buf)
            return FS_ELIMIT;
    }
    /* Rebuild component by component, resolving "." and ".." lexically. */
    size_t n = 0;
    char *save, *tok;
    for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (strcmp(tok, ".") == 0)
            continue;
        if (strcmp(tok, "..") == 0) {
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--;
            continue;
        }
        size_t tl = strlen(tok);
        if (n + 1 + tl + 1 > cap)
            return FS_ELIMIT;
        out[n++] = '/';
        memcpy(out + n, tok, tl);
        n += tl;
    }
    if (n == 0) {
        if (cap < 2)
            return FS_ELIMIT;
        out[n++] = '/';
    }
    out[n] = '\0';
    return FS_OK;
}

int fs_scan_open_paths(char *const *paths, int n, const fs_scan_opts *opts, fs_scan **out,
                       fs_error *err)
{
    fs_scan *s = calloc(1, sizeof *s);
    if (!s || !(s->roots = calloc((size_t)(n > 0 ? n : 1), sizeof *s->roots))) {
        free(s);
        return fs_fail(err, FS_ENOMEM, "out of memory");
    }
    if (opts)
        s->o = *opts;
    if (s->o.extensions && !(s->o.extensions = s->extensions = strdup(s->o.extensions))) {
        fs_scan_close(s);
        return fs_fail(err, FS_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        if (!(s->roots[i] = strdup(paths[i]))) {
            s->n_roots = i;
            fs_scan_close(s);
            return fs_fail(err, FS_ENOMEM, "out of memory");
        }
    }
    s->n_roots = n;
    *out = s;
    return FS_OK;
}

int fs_scan_open_manifest(const char *manifest, fs_scan **out, fs_error *err)
{
    fs_scan *s = calloc(1, sizeof *s);
    if (!s)
        return fs_fail(err, FS_ENOMEM, "out of memory");
    s->manifest = strcmp(manifest, "-") == 0 ? stdin : fopen(manifest, "r");
    if (!s->manifest) {
        free(s);
        return fs_open_fail(err, manifest, "open manifest", errno);
    }
    *out = s;
    return FS_OK;
}

static void pop(fs_scan *s)
{
    closedir(s->stack[--s->depth].dir);
    s->path[s->depth ? s->stack[s->depth - 1].len : 0] = '\0';
}

/* Enters directory s->path (of length len).  Returns FS_OK, FS_ENOTFOUND
 * when it is already on the walk path (a symlink loop), or an error. */
static int push(fs_scan *s, size_t len, fs_error *err)
{
    if (s->depth == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        frame *st = realloc(s->stack, (size_t)cap * sizeof *st);
        if (!st)
            return fs_fail(err, FS_ENOMEM, "%s: out of memory", s->path);
        s->stack = st;
        s->cap = cap;
    }
    DIR *d = opendir(s->path);
    if (!d)
        return fs_open_fail(err, s->path, "read directory", errno);
    struct stat st;
    if (fstat(dirfd(d), &st) != 0) {
        closedir(d);
        return fs_fail(err, FS_EIO, "%s: cannot stat: %s", s->path, strerror(errno));
    }
    for (int i = 0; i < s->depth; i++)
        if (s->stack[i].dev == st.st_dev && s->stack[i].ino == st.st_ino) {
            closedir(d);
            return FS_ENOTFOUND;
        }
    s->stack[s->depth++] = (frame){d, len, st.st_dev, st.st_ino};
    return FS_OK;
}

static int next_manifest(fs_scan *s, const char **path, fs_error *err)
{
    for (;;) {
        ssize_t n = getline(&s->line, &s->line_cap, s->manifest);
        if (n < 0) {
            if (ferror(s->manifest))
                return fs_fail(err, FS_EIO, "manifest: read error: %s", strerror(errno));
            *path = NULL;
            return FS_OK;
        }
        while (n > 0 && (s->line[n - 1] == '\n' || s->line[n - 1] == '\r'))
            s->line[--n] = '\0';
        if (n == 0 || s->line[0] == '#')
            continue;
        if (fs_path_normalize(s->line, s->path, sizeof s->path) != FS_OK) {
            snprintf(s->path, sizeof s->path, "%.200s...", s->line);
            *path = s->path;
            return fs_fail(err, FS_ELIMIT, "%s: path too long", s->path);
        }
        *path = s->path;
        return FS_OK;
    }
}

static int next_walk(fs_scan *s, const char **path, fs_error *err)
{
    for (;;) {
        if (s->depth == 0) {
            if (s->next_root >= s->n_roots) {
                *path = NULL;
                return FS_OK;
            }
            const char *root = s->roots[s->next_root++];
            *path = s->path;
            if (fs_path_normalize(root, s->path, sizeof s->path) != FS_OK) {
                snprintf(s->path, sizeof s->path, "%.200s", root);
                return fs_fail(err, FS_ELIMIT, "%s: path too long", root);
            }
            struct stat st;
            if (stat(s->path, &st) != 0)
                return fs_fail(err, FS_EIO, "%s: %s", s->path, strerror(errno));
            if (!S_ISDIR(st.st_mode))
                return FS_OK; /* named explicitly: always taken */
            int rc = push(s, strlen(s->path), err);
            if (rc != FS_OK && rc != FS_ENOTFOUND)
                return rc;
            continue;
        }
        frame *f = &s->stack[s->depth - 1];
        errno = 0;
        struct dirent *e = readdir(f->dir);
        if (!e) {
            int eno = errno;
            pop(s);
            if (eno) {
                *path = s->path;
                return fs_fail(err, FS_EIO, "%s: error reading directory: %s", s->path,
                               strerror(eno));
            }
            continue;
        }
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        if (name[0] == '.' && !s->o.include_hidden)
            continue;
        size_t nl = strlen(name);
        *path = s->path;
        if (f->len + 1 + nl + 1 > sizeof s->path) {
            s->path[f->len] = '\0';
            return fs_fail(err, FS_ELIMIT, "%s/%s: path too long", s->path, name);
        }
        s->path[f->len] = '/';
        memcpy(s->path + f->len + 1, name, nl + 1);
        size_t len = f->len + 1 + nl;
        int is_dir = e->d_type == DT_DIR, is_file = e->d_type == DT_REG;
        if (e->d_type == DT_LNK || e->d_type == DT_UNKNOWN) {
            struct stat st;
            if (stat(s->path, &st) != 0) {
                /* A dangling link is not a photo; anything else is worth a record. */
                if (e->d_type == DT_LNK && errno == ENOENT) {
                    s->path[f->len] = '\0';
                    continue;
                }
                return fs_fail(err, FS_EIO, "%s: %s", s->path, strerror(errno));
            }
            is_dir = S_ISDIR(st.st_mode) && (e->d_type != DT_LNK || s->o.follow_links);
            is_file = S_ISREG(st.st_mode);
        }
        if (is_dir) {
            int rc = push(s, len, err);
            if (rc == FS_OK || rc == FS_ENOTFOUND) {
                if (rc == FS_ENOTFOUND)
                    s->path[f->len] = '\0';
                continue;
            }
            return rc; /* unreadable directory: reported, walk goes on */
        }
        if (is_file && (s->o.all_files || fs_scan_is_photo_name(name, s->o.extensions)))
            return FS_OK;
        s->path[f->len] = '\0';
    }
}

int fs_scan_next(fs_scan *s, const char **path, fs_error *err)
{
    return s->manifest ? next_manifest(s, path, err) : next_walk(s, path, err);
}

void fs_scan_close(fs_scan *s)
{
    if (!s)
        return;
    while (s->depth)
        pop(s);
    if (s->manifest && s->manifest != stdin)
        fclose(s->manifest);
    for (int i = 0; i < s->n_roots; i++)
        free(s->roots[i]);
    free(s->roots);
    free(s->extensions);
    free(s->stack);
    free(s->line);
    free(s);
}

long long fs_scan_count(char *const *paths, int n, const fs_scan_opts *opts,
                        const volatile int *stop)
{
    fs_scan *s;
    if (fs_scan_open_paths(paths, n, opts, &s, NULL) != FS_OK)
        return -1;
    long long count = 0;
    const char *p;
    for (;;) {
        if (stop && *stop) {
            count = -1;
            break;
        }
        int rc = fs_scan_next(s, &p, NULL);
        if (rc == FS_OK && !p)
            break;
        count++; /* errors become records too */
    }
    fs_scan_close(s);
    return count;
}
