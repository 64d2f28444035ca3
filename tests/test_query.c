/*
 * build, query and dedup end to end on the sample photos (real engine): every
 * query face finds itself first; stored-face queries; output formats; stale
 * and missing index; the HTML report renders every thumbnail in headless
 * Chromium.
 */
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

static char db[512];
static char out[1 << 20];

static int fsr(const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", fs_test_bin(), args);
    return fs_test_sh(cmd, out, sizeof out);
}

/* Ingests the samples and builds once per run. */
static int setup(void)
{
    static int done = -1;
    if (done >= 0)
        return done;
    char args[2048];
    snprintf(db, sizeof db, "%s/query-db", fs_test_tmpdir());
    snprintf(args, sizeof args, "ingest --db %s --quiet %s/demo", db, fs_test_models_dir());
    done = fsr(args) == 0;
    snprintf(args, sizeof args, "build --db %s", db);
    done = done && fsr(args) == 0;
    return done;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

TEST(query_finds_each_face_itself_first)
{
    REQUIRE(setup());
    char args[2048], sample[1024];
    snprintf(sample, sizeof sample, "%s/demo/sample1.jpg", fs_test_models_dir());
    snprintf(args, sizeof args, "query --db %s --json -k 3 %s", db, sample);
    CHECK_INT(fsr(args), 0);
    /* sample1 holds 3 faces: 3 queries, 3 matches each, rank 1 at ~0. */
    CHECK_INT(count(out, "\"face\":"), 3);
    CHECK_INT(count(out, "\"rank\":1,\"similarity\":1.0000"), 3);
    CHECK_INT(count(out, "\"rank\":3,"), 3);
    CHECK(strstr(out, "\"factory\":\"IDMap,Flat\"") != NULL);
    CHECK(strstr(out, "\"stale\":false") != NULL);

    /* The stored face that photo face #2 found first is that face: queried
     * by id (TSV output) it keeps its number within the photo. */
    const char *f2 = strstr(out, "\"face\":2,");
    const char *id = f2 ? strstr(f2, "\"face_id\":") : NULL;
    REQUIRE(id);
    long long fid = atoll(id + strlen("\"face_id\":"));
    snprintf(args, sizeof args, "query --db %s --tsv -k 2 --face-id %lld", db, fid);
    CHECK_INT(fsr(args), 0);
    CHECK(strncmp(out, "query\tquery_face\trank\tsimilarity\t", 33) == 0);
    char want[96];
    snprintf(want, sizeof want, "face:%lld\t2\t1\t1.00000\t1\t%lld\t", fid, fid);
    CHECK_MSG(strstr(out, want) != NULL, "no line %s in %.200s", want, out);
    CHECK_INT(count(out, "\n"), 3);
    /* --threshold keeps only more similar matches: here just the face itself. */
    snprintf(args, sizeof args, "query --db %s --tsv --threshold 0.99 --face-id 7", db);
    CHECK_INT(fsr(args), 0);
    CHECK_INT(count(out, "\n"), 2);
    snprintf(args, sizeof args, "query --db %s --face-id 999999", db);
    CHECK_INT(fsr(args), 2);
    CHECK(strstr(out, "no face with id 999999") != NULL);
}

TEST(query_reports_stale_and_missing_index)
{
    REQUIRE(setup());
    char args[2048], db2[600];
    snprintf(db2, sizeof db2, "%s/query-db2", fs_test_tmpdir());
    snprintf(args, sizeof args, "ingest --db %s --quiet %s/demo/sample2.jpg", db2,
             fs_test_models_dir());
    CHECK_INT(fsr(args), 0);
    snprintf(args, sizeof args, "query --db %s --face-id 0", db2);
    CHECK_INT(fsr(args), 2);
    CHECK_MSG(strstr(out, "no index (run facesearch build)") != NULL, "%s", out);
    snprintf(args, sizeof args, "build --db %s", db2);
    CHECK_INT(fsr(args), 0);
    snprintf(args, sizeof args, "ingest --db %s --quiet %s/demo/sample3.jpg", db2,
             fs_test_models_dir());
    CHECK_INT(fsr(args), 0);
    snprintf(args, sizeof args, "query --db %s --face-id 0", db2);
    CHECK_INT(fsr(args), 0);
    CHECK_MSG(strstr(out, "warning: the index lacks") != NULL, "%s", out);
    /* An incremental build catches up. */
    snprintf(args, sizeof args, "build --db %s --incremental --json", db2);
    CHECK_INT(fsr(args), 0);
    CHECK(strstr(out, "\"incremental\": 1") != NULL);
    snprintf(args, sizeof args, "query --db %s --face-id 0", db2);
    CHECK_INT(fsr(args), 0);
    CHECK(strstr(out, "warning") == NULL);
}

TEST(query_html_report_renders_in_chromium)
{
    REQUIRE(setup());
    const char *chromium = access("/usr/bin/chromium", X_OK) == 0 ? "/usr/bin/chromium" : NULL;
    /* make test installs Chromium first, so there it is a failure to lack it;
     * a bare run-tests may skip. */
    if (!chromium && getenv("FS_TEST_NEED_CHROMIUM")) {
        CHECK_MSG(0, "/usr/bin/chromium missing though make test's set-up installs it");
        return;
    }
    if (!chromium)
        SKIP("chromium not installed (make deps --tests / make test install it)");
    char args[2048], html[600], profile[600];
    /* How many faces the query photo holds decides the thumbnail count. */
    snprintf(args, sizeof args, "query --db %s -k 4 --json %s/demo/sample5.jpg", db,
             fs_test_models_dir());
    REQUIRE(fsr(args) == 0);
    int faces = count(out, "\"face\":"), thumbs = faces * 5;
    REQUIRE(faces >= 3);
    snprintf(html, sizeof html, "%s/report.html", fs_test_tmpdir());
    snprintf(args, sizeof args, "query --db %s -k 4 --html %s %s/demo/sample5.jpg", db, html,
             fs_test_models_dir());
    CHECK_INT(fsr(args), 0);
    snprintf(profile, sizeof profile, "%s/chromium-profile", fs_test_tmpdir());
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "timeout 120 %s --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
             "--disable-background-networking --disable-component-update --disable-sync "
             "--user-data-dir='%s' --virtual-time-budget=10000 --dump-dom 'file://%s' 2>/dev/null",
             chromium, profile, html);
    REQUIRE(fs_test_sh(cmd, out, sizeof out) == 0);
    /* A query thumbnail per face + 4 matches each, all decoded by the browser. */
    char want[64];
    snprintf(want, sizeof want, "data-rendered=\"%d/%d\"", thumbs, thumbs);
    CHECK_MSG(strstr(out, want) != NULL, "page reports: %.40s",
              strstr(out, "data-rendered=\"") ? strstr(out, "data-rendered=\"") : "nothing");
    CHECK_INT(count(out, "data-rendered=\"1\""), thumbs);
    CHECK_INT(count(out, "data-rendered=\"0\""), 0);
}

TEST(dedup_groups_and_formats)
{
    REQUIRE(setup());
    char args[2048];
    snprintf(args, sizeof args, "dedup --db %s --json --threshold 0.5", db);
    CHECK_INT(fsr(args), 0);
    CHECK(strstr(out, "\"faces\":22") != NULL);
    long groups = atol(strstr(out, "\"groups_shown\":") + 15);
    CHECK(groups >= 1);
    CHECK_INT(count(out, "\"representative\":true"), groups);
    snprintf(args, sizeof args, "dedup --db %s --tsv --threshold 0.5 --min-faces 1", db);
    CHECK_INT(fsr(args), 0);
    CHECK_INT(count(out, "\n"), 23); /* header + every face in some group */
}
