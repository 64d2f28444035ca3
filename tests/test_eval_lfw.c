/*
 * LFW evaluation: the pairs-file reader (header or not, LFW's folds, errors
 * naming file:line), k-fold on given folds, and `facesearch eval lfw` end to
 * end on an LFW-like folder made from the sample photos' faces (so it runs
 * without ../shared).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "facesearch/eval.h"
#include "facesearch/face.h"
#include "facesearch/nn.h"
#include "harness.h"
#include "image_util.h"

static const char *write_text(const char *name, const char *text)
{
    return tu_write_tmp(name, text, strlen(text));
}

TEST(lfw_pairs_with_and_without_header)
{
    fs_lfw_pairs p;
    fs_error e = {0};
    /* header: 2 folds of 1 same + 1 different */
    const char *path = write_text("pairs_h.txt", "2\t1\nAl_Bo\t1\t2\nAl_Bo\t1\tCy_Do\t3\n"
                                                 "\nCy_Do 2 4\r\nAl_Bo 2 Cy_Do 1\n");
    REQUIRE(fs_lfw_pairs_load(path, &p, &e) == FS_OK);
    CHECK_INT(p.n, 4);
    CHECK_INT(p.folds, 2);
    CHECK_STR(p.fold_source, "header");
    CHECK_STR(p.pairs[0].a, "Al_Bo/Al_Bo_0001.jpg");
    CHECK_STR(p.pairs[0].b, "Al_Bo/Al_Bo_0002.jpg");
    CHECK_INT(p.pairs[1].same, 0);
    CHECK_STR(p.pairs[1].b, "Cy_Do/Cy_Do_0003.jpg");
    CHECK_STR(p.pairs[2].b, "Cy_Do/Cy_Do_0004.jpg"); /* CRLF tolerated */
    CHECK_INT(p.pairs[3].fold, 1);
    fs_lfw_pairs_free(&p);
    /* no header (lfw_am): folds start where a same pair follows different ones */
    path = write_text("pairs_n.txt", "A 1 2\nB 1 2\nA 1 B 2\nC 1 2\nC 1 D 1\nD 1 E 1\nE 1 2\n"
                                     "F 1 E 1\n");
    REQUIRE(fs_lfw_pairs_load(path, &p, &e) == FS_OK);
    CHECK_INT(p.folds, 3);
    CHECK_STR(p.fold_source, "runs");
    static const int fold[8] = {0, 0, 0, 1, 1, 1, 2, 2};
    for (int i = 0; i < 8; i++)
        CHECK_INT(p.pairs[i].fold, fold[i]);
    fs_lfw_pairs_free(&p);
    /* a header that does not describe the file is ignored */
    path = write_text("pairs_x.txt", "10 300\nA 1 2\nA 1 B 2\nC 1 2\nC 1 D 1\n");
    REQUIRE(fs_lfw_pairs_load(path, &p, &e) == FS_OK);
    CHECK_STR(p.fold_source, "runs");
    CHECK_INT(p.folds, 2);
    fs_lfw_pairs_free(&p);
    /* one run only: an even split */
    path = write_text("pairs_e.txt", "A 1 2\nB 1 2\nA 1 B 2\nC 1 D 1\n");
    REQUIRE(fs_lfw_pairs_load(path, &p, &e) == FS_OK);
    CHECK_STR(p.fold_source, "even");
    CHECK_INT(p.folds, 4);
    fs_lfw_pairs_free(&p);
}

static void expect_bad(const char *text, const char *needle)
{
    fs_lfw_pairs p;
    fs_error e = {0};
    const char *path = write_text("bad_pairs.txt", text);
    CHECK_INT(fs_lfw_pairs_load(path, &p, &e), FS_ECORRUPT);
    CHECK_MSG(strstr(e.msg, needle) != NULL, "'%s' lacks '%s'", e.msg, needle);
    CHECK(p.pairs == NULL && p.n == 0);
}

TEST(lfw_pairs_errors_name_file_and_line)
{
    expect_bad("A 1 2\nB 1\n", "bad_pairs.txt:2: expected 'name i j' or 'name1 i name2 j', got 2");
    expect_bad("A 1 2\nA 1 B 2 C\n", "bad_pairs.txt:2:");
    expect_bad("A 1 2 3 4 5 6\n", "got more than 5 fields");
    expect_bad("A 1 x\n", "bad_pairs.txt:1: photo numbers must be integers");
    expect_bad("A 0 2\n", "bad_pairs.txt:1: photo numbers");
    expect_bad("10 x\nA 1 2\n", "bad_pairs.txt:1: expected a header");
    expect_bad("../etc 1 2\n", "bad_pairs.txt:1: a name may not start with '.'");
    expect_bad("A 1 B/C 2\n", "bad_pairs.txt:1: a name");
    expect_bad("\n\n", "bad_pairs.txt: no pairs");
    fs_lfw_pairs p;
    fs_error e = {0};
    CHECK_INT(fs_lfw_pairs_load("/nonexistent/pairs.txt", &p, &e), FS_EIO);
    CHECK(strstr(e.msg, "/nonexistent/pairs.txt: cannot open") != NULL);
}

TEST(eval_kfold_on_given_folds)
{
    /* Folds 0,1,0,1,...: equals the contiguous split of the reordered data. */
    float d[20], dc[20];
    int s[20], f[20], sc[20];
    for (int i = 0; i < 20; i++) {
        s[i] = i % 4 < 2;
        d[i] = s[i] ? 0.3f + 0.01f * i : 0.5f + 0.01f * i;
        f[i] = i % 2;
    }
    d[0] = 0.9f; /* one error, in fold 0 */
    for (int i = 0; i < 10; i++) {
        dc[i] = d[2 * i];
        sc[i] = s[2 * i];
        dc[10 + i] = d[2 * i + 1];
        sc[10 + i] = s[2 * i + 1];
    }
    fs_kfold a, b;
    REQUIRE(fs_eval_kfold_folds(d, s, f, 20, 2, &a) == 0);
    REQUIRE(fs_eval_kfold(dc, sc, 20, 2, &b) == 0);
    CHECK_NEAR(a.accuracy, b.accuracy, 1e-12);
    CHECK_NEAR(a.std, b.std, 1e-12);
    CHECK_NEAR(a.threshold, b.threshold, 1e-6);
    CHECK_NEAR(a.accuracy, (0.9 + 1.0) / 2, 1e-12);
    f[3] = 5; /* out of range */
    CHECK_INT(fs_eval_kfold_folds(d, s, f, 20, 2, &a), -1);
    for (int i = 0; i < 20; i++)
        f[i] = 0; /* fold 1 empty */
    CHECK_INT(fs_eval_kfold_folds(d, s, f, 20, 2, &a), -1);
}

/* ---- eval lfw end to end ------------------------------------------------ */

/* Frontal faces of the samples (golden boxes): sample, x, y, w, h. */
static const int faces[10][5] = {
    {1, 414, 355, 177, 240},  {1, 838, 421, 186, 228},  {1, 1476, 199, 203, 241},
    {2, 1447, 153, 194, 242}, {2, 902, 220, 151, 233},  {3, 585, 329, 199, 271},
    {3, 1514, 292, 170, 280}, {3, 1075, 215, 220, 299}, {4, 989, 180, 169, 227},
    {4, 1277, 144, 145, 244},
};
/* The other face of the same photo each person's different pair uses
 * (people in one photo are certainly different people). */
static const int other[10] = {1, 2, 0, 4, 3, 6, 7, 5, 9, 8};

/* An LFW-style 250x250 photo of face k: a square around it of `scale`
 * times its size, moved by (dx, dy) of that square, kept in the photo. */
static int lfw_photo(const fs_image *src, int k, double scale, double dx, double dy, int number)
{
    int side = (int)(scale * (faces[k][3] > faces[k][4] ? faces[k][3] : faces[k][4]));
    int x = faces[k][1] + faces[k][3] / 2 - side / 2 + (int)(dx * side);
    int y = faces[k][2] + faces[k][4] / 2 - side / 2 + (int)(dy * side);
    x = x < 0 ? 0 : x + side > src->width ? src->width - side : x;
    y = y < 0 ? 0 : y + side > src->height ? src->height - side : y;
    fs_image c = {0}, r = {0};
    fs_error e = {0};
    uint8_t *jpg = NULL;
    size_t len = 0;
    int ok = fs_image_crop(src, x, y, side, side, &c, &e) == FS_OK &&
             fs_image_resize(&c, 250, 250, &r, &e) == FS_OK &&
             fs_image_encode_jpeg(&r, 90, &jpg, &len, &e) == FS_OK;
    char name[256];
    snprintf(name, sizeof name, "lfw/P%d/P%d_%04d.jpg", k, k, number);
    ok = ok && tu_write_tmp(name, jpg, len) != NULL;
    free(jpg);
    fs_image_free(&c);
    fs_image_free(&r);
    return ok ? 0 : -1;
}

/* The folder (once per run): P<k>/P<k>_0001.jpg and _0002.jpg for the ten
 * faces, Nobody/Nobody_0001.jpg a flat grey photo; and the pairs file:
 * ten folds of one same and one different pair, fold 9 with an extra
 * different pair against Nobody.  Returns the pairs text (static). */
static const char *make_lfw(void)
{
    static char pairs[2048];
    static int made;
    if (made)
        return made > 0 ? pairs : NULL;
    made = -1;
    char dir[700];
    snprintf(dir, sizeof dir, "%s/lfw", fs_test_tmpdir());
    mkdir(dir, 0755);
    for (int k = 0; k <= 10; k++) {
        if (k < 10)
            snprintf(dir, sizeof dir, "%s/lfw/P%d", fs_test_tmpdir(), k);
        else
            snprintf(dir, sizeof dir, "%s/lfw/Nobody", fs_test_tmpdir());
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return NULL;
    }
    int loaded = 0;
    fs_image img = {0};
    for (int k = 0; k < 10; k++) {
        if (faces[k][0] != loaded) {
            char path[512];
            fs_error e = {0};
            fs_image_free(&img);
            snprintf(path, sizeof path, "%s/demo/sample%d.jpg", fs_test_models_dir(), faces[k][0]);
            if (fs_image_decode_file(path, NULL, &img, NULL, &e) != FS_OK)
                return NULL;
            loaded = faces[k][0];
        }
        if (lfw_photo(&img, k, 2.2, 0, 0, 1) || lfw_photo(&img, k, 2.6, 0.06, -0.04, 2))
            return NULL;
    }
    fs_image_free(&img);
    fs_image grey = {0};
    fs_error e = {0};
    uint8_t *jpg = NULL;
    size_t len;
    if (fs_image_alloc(&grey, 250, 250, &e) != FS_OK)
        return NULL;
    memset(grey.data, 128, 250 * 250 * 3);
    int ok = fs_image_encode_jpeg(&grey, 90, &jpg, &len, &e) == FS_OK &&
             tu_write_tmp("lfw/Nobody/Nobody_0001.jpg", jpg, len);
    free(jpg);
    fs_image_free(&grey);
    if (!ok)
        return NULL;
    size_t n = 0;
    for (int k = 0; k < 10; k++) {
        n += (size_t)snprintf(pairs + n, sizeof pairs - n, "P%d\t1\t2\nP%d\t1\tP%d\t2\n", k, k,
                              other[k]);
        if (k == 9)
            n += (size_t)snprintf(pairs + n, sizeof pairs - n, "P%d\t1\tNobody\t1\n", k);
    }
    made = 1;
    return pairs;
}

static fs_json *parse(const char *text)
{
    fs_json *j = NULL;
    fs_error e = {0};
    if (fs_json_parse(text, strlen(text), "eval output", &j, &e) != FS_OK)
        fs_test_fail(__FILE__, __LINE__, "%s", e.msg);
    return j;
}

TEST(cli_eval_lfw_on_sample_faces)
{
    const char *pairs = make_lfw();
    REQUIRE(pairs);
    const char *pf = write_text("lfw/pairs.txt", pairs);
    REQUIRE(pf);
    char cmd[4096], report[600];
    static char out[1 << 16];
    snprintf(report, sizeof report, "%s/lfw_report.tsv", fs_test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "%s eval lfw --json --threads 2 --models '%s' --root '%s/lfw' --pairs '%s' "
             "--report '%s'",
             fs_test_bin(), fs_test_models_dir(), fs_test_tmpdir(), pf, report);
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 0);
    fs_json *j = parse(out);
    REQUIRE(j);
    /* Every same pair (two crops of one face) is closer than every
     * different pair, except the one against a photo without a face, which
     * is an error: fold 9 scores 2/3, the others 1. */
    CHECK_INT(fs_json_number(fs_json_get(j, "pairs"), 0), 21);
    CHECK_INT(fs_json_number(fs_json_get(j, "no_face_pairs"), -1), 1);
    CHECK_INT(fs_json_number(fs_json_get(j, "no_face_photos"), -1), 1);
    CHECK_INT(fs_json_number(fs_json_get(j, "photos"), 0), 21);
    CHECK_INT(fs_json_number(fs_json_get(j, "folds"), 0), 10);
    CHECK_NEAR(fs_json_number(fs_json_get(j, "accuracy"), 0), 100 * (9 + 2.0 / 3) / 10, 1e-3);
    CHECK_NEAR(fs_json_number(fs_json_get(j, "std"), 0), 10.0, 1e-3);
    double t = fs_json_number(fs_json_get(j, "threshold"), 0);
    CHECK(t > 0.2 && t < 0.9);
    CHECK(fs_json_number(fs_json_get(j, "tar_at_far_1e-3"), -1) == 100.0);
    CHECK_STR(fs_json_string(fs_json_get(j, "descriptor_mode")), "mfn512/arcface");
    fs_json_free(j);
    /* the report: a line per pair, nan for the no-face one */
    char rcmd[1400];
    snprintf(rcmd, sizeof rcmd, "wc -l < '%s'; grep -c nan '%s'", report, report);
    CHECK_INT(fs_test_sh(rcmd, out, sizeof out), 0);
    CHECK(strcmp(out, "22\n1\n") == 0);

    /* the same pairs with the official header line give the same figures,
     * here with the header's folds; human output */
    char with_header[2100];
    snprintf(with_header, sizeof with_header, "10 1\n%s", pairs);
    /* (fold 9's extra line makes the header not describe the file: LFW's
     * runs are used, as without it) */
    pf = write_text("lfw/pairs_header.txt", with_header);
    REQUIRE(pf);
    snprintf(cmd, sizeof cmd,
             "%s eval lfw --threads 1 --models '%s' --root '%s/lfw' --pairs '%s' 2>&1",
             fs_test_bin(), fs_test_models_dir(), fs_test_tmpdir(), pf);
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "LFW verification: 21 pairs, 10 folds (LFW's own), 21 photos") != NULL);
    CHECK(strstr(out, "accuracy   96.67 % +- 10.00") != NULL);
    CHECK(strstr(out, "no face    1 pairs (1 photos), counted as errors") != NULL);
}

TEST(cli_eval_errors)
{
    static char out[8192];
    char cmd[4096];
    const char *bad = write_text("lfw_bad_pairs.txt", "A 1 2\nA 1 B\n");
    REQUIRE(bad);
    snprintf(cmd, sizeof cmd, "%s eval lfw --models '%s' --root /nonexistent --pairs '%s' 2>&1",
             fs_test_bin(), fs_test_models_dir(), bad);
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 2);
    CHECK(strstr(out, "lfw_bad_pairs.txt:2: photo numbers must be integers") != NULL);
    /* readable pairs, wrong root: every photo unreadable */
    const char *good = write_text("lfw_good_pairs.txt", "A 1 2\nA 1 B 1\n");
    snprintf(cmd, sizeof cmd,
             "%s eval lfw --models '%s' --root /nonexistent --pairs '%s' 2>&1", fs_test_bin(),
             fs_test_models_dir(), good);
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 2);
    CHECK(strstr(out, "/nonexistent/A/A_0001.jpg: cannot open") != NULL);
    CHECK(strstr(out, "no photo of the pairs could be read") != NULL);
    snprintf(cmd, sizeof cmd, "%s eval lfw --pairs x 2>&1", fs_test_bin());
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 1);
    CHECK(strstr(out, "--root and --pairs are required") != NULL);
    snprintf(cmd, sizeof cmd, "%s eval 2>&1; %s eval bogus 2>&1", fs_test_bin(), fs_test_bin());
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 1);
    CHECK(strstr(out, "no kind given") != NULL && strstr(out, "unknown kind 'bogus'") != NULL);
    snprintf(cmd, sizeof cmd, "%s eval --help && %s eval lfw --help && %s eval detect --help",
             fs_test_bin(), fs_test_bin(), fs_test_bin());
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "usage: facesearch eval lfw") && strstr(out, "usage: facesearch eval detect"));
}

TEST(cli_eval_detect_tiny_against_reference)
{
    static char out[8192];
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s eval detect --json --detector tiny --threads 2 --models '%s' '%s/demo'",
             fs_test_bin(), fs_test_models_dir(), fs_test_models_dir());
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 0);
    fs_json *j = parse(out);
    REQUIRE(j);
    /* golden: the tiny detector at 416 finds 19 of the SSD's 22 faces */
    CHECK_INT(fs_json_number(fs_json_get(j, "photos"), 0), 6);
    CHECK_INT(fs_json_number(fs_json_get(j, "baseline_faces"), 0), 22);
    CHECK_INT(fs_json_number(fs_json_get(j, "matched"), 0), 19);
    CHECK_NEAR(fs_json_number(fs_json_get(j, "recall"), 0), 100.0 * 19 / 22, 0.01);
    CHECK_STR(fs_json_string(fs_json_get(j, "baseline")), "ssd 512");
    fs_json_free(j);
}
