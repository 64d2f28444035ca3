/* SHA-256 against the FIPS 180-4 / NIST example vectors. */
#include <stdlib.h>

#include "facesearch/hash.h"
#include "harness.h"

static void hex_of(const void *data, size_t len, char hex[65])
{
    uint8_t d[FS_SHA256_SIZE];
    fs_sha256(data, len, d);
    fs_sha256_hex(d, hex);
}

TEST(sha256_nist_vectors)
{
    char hex[65];
    hex_of("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(m448, strlen(m448), hex);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    hex_of(m896, strlen(m896), hex);
    CHECK_STR(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(sha256_million_a_in_odd_pieces)
{
    /* One million 'a', fed in pieces that straddle block boundaries. */
    char *a = malloc(1000000);
    REQUIRE(a);
    memset(a, 'a', 1000000);
    fs_sha256_ctx ctx;
    fs_sha256_init(&ctx);
    size_t done = 0, step = 1;
    while (done < 1000000) {
        size_t n = step < 1000000 - done ? step : 1000000 - done;
        fs_sha256_update(&ctx, a + done, n);
        done += n;
        step = step * 7 % 1013 + 1;
    }
    uint8_t d[FS_SHA256_SIZE];
    char hex[65];
    fs_sha256_final(&ctx, d);
    fs_sha256_hex(d, hex);
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* Lengths around the padding boundary agree between one-shot and split. */
    for (size_t n = 50; n < 70; n++) {
        uint8_t d1[FS_SHA256_SIZE], d2[FS_SHA256_SIZE];
        fs_sha256(a, n, d1);
        fs_sha256_init(&ctx);
        fs_sha256_update(&ctx, a, n / 2);
        fs_sha256_update(&ctx, a + n / 2, n - n / 2);
        fs_sha256_final(&ctx, d2);
        CHECK(memcmp(d1, d2, sizeof d1) == 0);
    }
    free(a);
}
