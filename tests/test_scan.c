/* Photo-path sources: directory walks, manifests, path normalisation. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "facesearch/scan.h"
#include "harness.h"

static void touch(const char *root, const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    if (f)
        fclose(f);
}

static void mkd(const char *root, const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    mkdir(p, 0755);
}

/* Collects every path a scan yields into a sorted, newline-joined string
 * relative to root; errors are listed as "!path". */
static void collect(fs_scan *s, const char *root, char *out, size_t cap)
{
    char *items[256];
    int n = 0;
    const char *p;
    for (;;) {
        fs_error e = {0};
        int rc = fs_scan_next(s, &p, &e);
        if (rc == FS_OK && !p)
            break;
        char buf[1100];
        const char *rel = strncmp(p, root, strlen(root)) == 0 ? p + strlen(root) : p;
        snprintf(buf, sizeof buf, "%s%s", rc == FS_OK ? "" : "!", rel);
        if (n < 256)
            items[n++] = strdup(buf);
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(items[j - 1], items[j]) > 0; j--) {
            char *t = items[j];
            items[j] = items[j - 1];
            items[j - 1] = t;
        }
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        strncat(out, items[i], cap - strlen(out) - 2);
        strcat(out, "\n");
        free(items[i]);
    }
}

TEST(scan_walk_rules)
{
    char root[512];
    snprintf(root, sizeof root, "%s/walk", fs_test_tmpdir());
    mkdir(root, 0755);
    mkd(root, "a");
    mkd(root, "a/b");
    mkd(root, ".hidden");
    touch(root, "x.jpg");
    touch(root, "Y.JPEG");
    touch(root, "notes.txt");
    touch(root, "clip.mov");
    touch(root, ".dot.jpg");
    touch(root, ".hidden/h.jpg");
    touch(root, "a/p.png");
    touch(root, "a/b/deep.jpg");
    touch(root, "a/b/raw.xmp");
    char lnk[600], tgt[600];
    /* A loop back to the root and a link to a file. */
    snprintf(lnk, sizeof lnk, "%s/a/b/loop", root);
    CHECK(symlink(root, lnk) == 0);
    snprintf(lnk, sizeof lnk, "%s/a/link.jpg", root);
    snprintf(tgt, sizeof tgt, "%s/x.jpg", root);
    CHECK(symlink(tgt, lnk) == 0);
    snprintf(lnk, sizeof lnk, "%s/a/dangling.jpg", root);
    CHECK(symlink("/nonexistent/zz.jpg", lnk) == 0);

    static char got[8192];
    fs_scan *s;
    char *roots[1] = {root};
    fs_scan_opts o = {0};
    REQUIRE(fs_scan_open_paths(roots, 1, &o, &s, NULL) == FS_OK);
    collect(s, root, got, sizeof got);
    fs_scan_close(s);
    CHECK_STR(got, "/Y.JPEG\n/a/b/deep.jpg\n/a/link.jpg\n/a/p.png\n/x.jpg\n");

    /* Following links: the loop is entered once (from the link) but the
     * directory already on the walk path is not re-entered. */
    fs_scan_opts all = {.include_hidden = 1, .all_files = 1, .follow_links = 1};
    REQUIRE(fs_scan_open_paths(roots, 1, &all, &s, NULL) == FS_OK);
    collect(s, root, got, sizeof got);
    fs_scan_close(s);
    CHECK_STR(got, "/.dot.jpg\n/.hidden/h.jpg\n/Y.JPEG\n/a/b/deep.jpg\n/a/b/raw.xmp\n"
                   "/a/link.jpg\n/a/p.png\n/clip.mov\n/notes.txt\n/x.jpg\n");
    CHECK_INT(fs_scan_count(roots, 1, &o, NULL), 5);

    /* Explicit files are taken whatever their name; a missing root is an
     * error naming it, and the walk goes on. */
    char f1[600], f2[600];
    snprintf(f1, sizeof f1, "%s/notes.txt", root);
    snprintf(f2, sizeof f2, "%s/missing.jpg", root);
    char *two[2] = {f1, f2};
    REQUIRE(fs_scan_open_paths(two, 2, &o, &s, NULL) == FS_OK);
    collect(s, root, got, sizeof got);
    fs_scan_close(s);
    CHECK_STR(got, "!/missing.jpg\n/notes.txt\n");
}

TEST(scan_manifest)
{
    char path[512];
    snprintf(path, sizeof path, "%s/list.txt", fs_test_tmpdir());
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs("/a/b.jpg\r\n\n# comment\n/c/../d/./e.png\nrel/x.jpg", f);
    fclose(f);
    fs_scan *s;
    REQUIRE(fs_scan_open_manifest(path, &s, NULL) == FS_OK);
    const char *p;
    char cwd[1024], want[1100];
    REQUIRE(getcwd(cwd, sizeof cwd));
    CHECK_INT(fs_scan_next(s, &p, NULL), FS_OK);
    CHECK_STR(p, "/a/b.jpg");
    CHECK_INT(fs_scan_next(s, &p, NULL), FS_OK);
    CHECK_STR(p, "/d/e.png");
    CHECK_INT(fs_scan_next(s, &p, NULL), FS_OK);
    snprintf(want, sizeof want, "%s/rel/x.jpg", cwd);
    CHECK_STR(p, want);
    CHECK_INT(fs_scan_next(s, &p, NULL), FS_OK);
    CHECK(p == NULL);
    fs_scan_close(s);
    fs_error e = {0};
    CHECK_INT(fs_scan_open_manifest("/nonexistent/m.txt", &s, &e), FS_EIO);
    CHECK(strstr(e.msg, "/nonexistent/m.txt") != NULL);
}

TEST(scan_normalize)
{
    char out[64];
    CHECK_INT(fs_path_normalize("/a//b/./c/../d/", out, sizeof out), FS_OK);
    CHECK_STR(out, "/a/b/d");
    CHECK_INT(fs_path_normalize("/../..", out, sizeof out), FS_OK);
    CHECK_STR(out, "/");
    CHECK_INT(fs_path_normalize("/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", out, sizeof out),
              FS_ELIMIT);
}
