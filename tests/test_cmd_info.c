/* `facesearch info`: the built binary on real and damaged photos. */
#include <stdlib.h>

#include "harness.h"
#include "image_util.h"

TEST(cmd_info_samples_and_truncated_file)
{
    char sample[1024], cmd[4096], out[8192];
    snprintf(sample, sizeof sample, "%s/demo/sample1.jpg", fs_test_models_dir());
    /* Human output. */
    snprintf(cmd, sizeof cmd, "'%s' info '%s' 2>&1", fs_test_bin(), sample);
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 0);
    CHECK_MSG(strstr(out, "jpeg 1920x1280") != NULL, "output: %s", out);
    /* JSON output, one object per photo. */
    snprintf(cmd, sizeof cmd, "'%s' info --json '%s' '%s' 2>/dev/null", fs_test_bin(), sample, sample);
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "\"width\":1920,\"height\":1280") != NULL);
    CHECK(strstr(out, "\"format\":\"jpeg\"") != NULL);
    int lines = 0;
    for (const char *s = out; *s; s++)
        lines += *s == '\n';
    CHECK_INT(lines, 2);

    /* A truncated copy: exit 2, one line on stderr naming the file. */
    size_t len;
    uint8_t *buf = tu_read_sample(1, &len);
    REQUIRE(buf);
    const char *t = tu_write_tmp("truncated.jpg", buf, 5000);
    REQUIRE(t);
    char trunc[1024];
    snprintf(trunc, sizeof trunc, "%s", t);
    snprintf(cmd, sizeof cmd, "'%s' info '%s' 2>&1 >/dev/null", fs_test_bin(), trunc);
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 2);
    char want[1200];
    snprintf(want, sizeof want, "%s: truncated JPEG", trunc);
    CHECK_MSG(strstr(out, want) != NULL, "stderr: %s", out);
    CHECK_MSG(strchr(out, '\n') == out + strlen(out) - 1, "not one line: %s", out);
    /* Good and bad together: the good one is still reported, exit 2. */
    snprintf(cmd, sizeof cmd, "'%s' info '%s' '%s' 2>/dev/null", fs_test_bin(), trunc, sample);
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 2);
    CHECK(strstr(out, "1920x1280") != NULL);
    /* Not an image, and a missing file. */
    const char *txt = tu_write_tmp("notes.jpg", "just text\n", 10);
    REQUIRE(txt);
    snprintf(cmd, sizeof cmd, "'%s' info '%s' 2>&1", fs_test_bin(), txt);
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 2);
    CHECK(strstr(out, "notes.jpg: not an image format facesearch reads") != NULL);
    snprintf(cmd, sizeof cmd, "'%s' info '%s/does-not-exist.jpg' 2>&1", fs_test_bin(), fs_test_tmpdir());
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 2);
    CHECK(strstr(out, "does-not-exist.jpg") != NULL);
    /* The pixel limit flag. */
    snprintf(cmd, sizeof cmd, "'%s' info --max-pixels 1000000 '%s' 2>&1", fs_test_bin(), sample);
    CHECK_INT(fs_test_sh(cmd, out, sizeof out), 2);
    CHECK(strstr(out, "decode.max_pixels") != NULL);
    free(buf);
}
