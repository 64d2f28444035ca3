/*
 * LFW pairs files (pairs.txt of the LFW "View 2" protocol, or a subset of
 * it such as lfw_am's, which drops the header and the pairs of people
 * outside the subset).
 *
 * Folds: the official file is F folds of N same-person pairs followed by N
 * different-person pairs, and people do not repeat across folds, so a
 * threshold chosen on nine folds is honest on the tenth.  A subset keeps
 * that order with fewer lines per block, so a fold still starts wherever a
 * same-person line follows a different-person one: those runs are used as
 * the folds whenever there are at least two.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facesearch/eval.h"

void fs_lfw_pairs_free(fs_lfw_pairs *p)
{
    for (size_t i = 0; p->pairs && i < p->n; i++) {
        free(p->pairs[i].a);
        free(p->pairs[i].b);
    }
    free(p->pairs);
    memset(p, 0, sizeof *p);
}

/* Splits a line in place into at most 5 whitespace-separated fields. */
static int fields(char *line, char **f)
{
    int n = 0;
    for (char *s = line; *s;) {
        while (*s && isspace((unsigned char)*s))
            *s++ = '\0';
        if (!*s)
            break;
        if (n == 5)
            return 6;
        f[n++] = s;
        while (*s && !isspace((unsigned char)*s))
            s++;
    }
    return n;
}

static int number(const char *s, long *v)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (errno || *end || end == s || x < 1 || x > 99999)
        return -1;
    *v = x;
    return 0;
}

static int good_name(const char *s)
{
    return s[0] != '.' && !strchr(s, '/') && !strchr(s, '\\');
}

static char *photo(const char *name, long i)
{
    size_t len = 2 * strlen(name) + 16;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s_%04ld.jpg", name, name, i);
    return p;
}

/* Folds from the header, if it describes the file exactly. */
static int folds_from_header(fs_lfw_pairs *p, long hf, long hn)
{
    if (hf < 2 || (size_t)(hf * 2 * hn) != p->n)
        return 0;
    for (size_t i = 0; i < p->n; i++) {
        size_t in_fold = i % (size_t)(2 * hn);
        if (p->pairs[i].same != (in_fold < (size_t)hn))
            return 0;
        p->pairs[i].fold = (int)(i / (size_t)(2 * hn));
    }
    p->folds = (int)hf;
    p->fold_source = "header";
    return 1;
}

static void assign_folds(fs_lfw_pairs *p, int header, long hf, long hn)
{
    if (header && folds_from_header(p, hf, hn))
        return;
    int f = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (i > 0 && p->pairs[i].same && !p->pairs[i - 1].same)
            f++;
        p->pairs[i].fold = f;
    }
    p->folds = f + 1;
    p->fold_source = "runs";
    if (p->folds >= 2 && (size_t)p->folds <= p->n / 2)
        return;
    p->folds = p->n >= 10 ? 10 : (int)p->n;
    p->fold_source = "even";
    for (size_t i = 0; i < p->n; i++)
        p->pairs[i].fold = (int)(i * (size_t)p->folds / p->n);
}

int fs_lfw_pairs_load(const char *path, fs_lfw_pairs *out, fs_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f)
        return fs_fail(err, FS_EIO, "%s: cannot open: %s", path, strerror(errno));
    char line[1024];
    long lineno = 0, hf = 0, hn = 0;
    int header = 0, st = FS_OK;
    size_t cap = 0;
    while (st == FS_OK && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            st = fs_fail(err, FS_ECORRUPT, "%s:%ld: line too long", path, lineno);
            break;
        }
        char *fl[5];
        int nf = fields(line, fl);
        if (nf == 0)
            continue;
        long i, j;
        if (nf == 2 && out->n == 0 && !header) {
            if (number(fl[0], &hf) || number(fl[1], &hn)) {
                st = fs_fail(err, FS_ECORRUPT, "%s:%ld: expected a header 'folds pairs'",
                             path, lineno);
                break;
            }
            header = 1;
            continue;
        }
        if (nf != 3 && nf != 4) {
            st = fs_fail(err, FS_ECORRUPT,
                         "%s:%ld: expected 'name i j' or 'name1 i name2 j', got %s%d fields",
                         path, lineno, nf > 5 ? "more than " : "", nf > 5 ? 5 : nf);
            break;
        }
        const char *b = nf == 3 ? fl[0] : fl[2];
        if (number(fl[1], &i) || number(fl[nf - 1], &j)) {
            st = fs_fail(err, FS_ECORRUPT, "%s:%ld: photo numbers must be integers 1..99999",
                         path, lineno);
            break;
        }
        if (!good_name(fl[0]) || !good_name(b)) {
            st = fs_fail(err, FS_ECORRUPT, "%s:%ld: a name may not start with '.' or hold '/'",
                         path, lineno);
            break;
        }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 1024;
            fs_lfw_pair *np = realloc(out->pairs, cap * sizeof *np);
            if (!np) {
                st = fs_fail(err, FS_ENOMEM, "%s: out of memory", path);
                break;
            }
            out->pairs = np;
        }
        fs_lfw_pair *p = &out->pairs[out->n];
        p->same = nf == 3;
        p->a = photo(fl[0], i);
        p->b = photo(b, j);
        out->n++;
        if (!p->a || !p->b)
            st = fs_fail(err, FS_ENOMEM, "%s: out of memory", path);
    }
    if (st == FS_OK && ferror(f))
        st = fs_fail(err, FS_EIO, "%s: read error", path);
    fclose(f);
    if (st == FS_OK && out->n == 0)
        st = fs_fail(err, FS_ECORRUPT, "%s: no pairs", path);
    if (st != FS_OK) {
        fs_lfw_pairs_free(out);
        return st;
    }
    assign_folds(out, header, hf, hn);
    return FS_OK;
}
