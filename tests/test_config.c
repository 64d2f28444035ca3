/* Configuration: defaults, files, overrides and every kind of error. */
#include <stdlib.h>

#include "facesearch/config.h"
#include "harness.h"

static const char *write_tmp(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fs_test_tmpdir(), name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

TEST(config_defaults_match_default_conf)
{
    /* configs/default.conf must spell out exactly the built-in defaults. */
    fs_config *file = fs_config_create(), *dflt = fs_config_create();
    fs_error e = {0};
    REQUIRE(file && dflt);
    CHECK_OK(fs_config_load(file, "configs/default.conf", &e), &e);
    for (int i = 0; i < fs_config_key_count(); i++) {
        const char *k = fs_config_key_at(i)->name;
        CHECK_STR(fs_config_text(file, k), fs_config_text(dflt, k));
    }
    /* ... and every key in the schema appears in the file. */
    uint8_t *buf;
    size_t len;
    REQUIRE(fs_read_file("configs/default.conf", 0, &buf, &len, &e) == FS_OK);
    char *text = realloc(buf, len + 1);
    REQUIRE(text);
    text[len] = '\0';
    for (int i = 0; i < fs_config_key_count(); i++) {
        const char *k = fs_config_key_at(i)->name;
        const char *dot = strchr(k, '.');
        char needle[128];
        snprintf(needle, sizeof needle, "\n%s = ", dot + 1);
        CHECK_MSG(strstr(text, needle) != NULL, "default.conf lacks key %s", k);
    }
    free(text);
    fs_config_destroy(file);
    fs_config_destroy(dflt);
}

TEST(config_file_and_override)
{
    fs_config *cfg = fs_config_create();
    fs_error e = {0};
    REQUIRE(cfg);
    const char *p = write_tmp("ok.conf",
                              "# comment\n[decode]\nmax_pixels = 1234   # trailing\n"
                              "apply_orientation = off\n\n[run]\n threads=3 \n");
    CHECK_OK(fs_config_load(cfg, p, &e), &e);
    CHECK_INT(fs_config_int(cfg, "decode.max_pixels"), 1234);
    CHECK_INT(fs_config_bool(cfg, "decode.apply_orientation"), 0);
    CHECK_INT(fs_config_int(cfg, "run.threads"), 3);
    CHECK_OK(fs_config_set(cfg, "run.threads", "2", "--threads", &e), &e);
    CHECK_INT(fs_config_int(cfg, "run.threads"), 2);
    fs_config_destroy(cfg);
}

static void expect_error(const char *text, const char *needle)
{
    fs_config *cfg = fs_config_create();
    fs_error e = {0};
    const char *p = write_tmp("bad.conf", text);
    int rc = fs_config_load(cfg, p, &e);
    CHECK_INT(rc, FS_EUSAGE);
    CHECK_MSG(strstr(e.msg, needle) != NULL, "message '%s' lacks '%s'", e.msg, needle);
    fs_config_destroy(cfg);
}

TEST(config_errors_name_file_and_line)
{
    expect_error("[decode]\nmax_pixels = 10\nbogus = 1\n", "bad.conf:3: unknown key 'decode.bogus'");
    expect_error("[decode]\nmax_pixels = ten\n", "bad.conf:2: decode.max_pixels: 'ten' is not an integer");
    expect_error("[decode]\nmax_pixels = 0\n", "bad.conf:2: decode.max_pixels: 0 is outside");
    expect_error("[decode]\napply_orientation = maybe\n", "bad.conf:2:");
    expect_error("[decode\n", "bad.conf:1: bad section header");
    expect_error("[run]\nthreads\n", "bad.conf:2: expected 'name = value'");

    fs_config *cfg = fs_config_create();
    fs_error e = {0};
    CHECK_INT(fs_config_load(cfg, "/nonexistent/x.conf", &e), FS_EIO);
    CHECK(strstr(e.msg, "/nonexistent/x.conf") != NULL);
    CHECK_INT(fs_config_set(cfg, "nope.key", "1", "--nope", &e), FS_EUSAGE);
    CHECK(strstr(e.msg, "--nope: unknown key 'nope.key'") != NULL);
    fs_config_destroy(cfg);
}
