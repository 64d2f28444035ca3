/* SHA-256 against FIPS 180-4 / NIST test vectors and sha256sum. */
#include <stdlib.h>

#include "facesearch/hash.h"
#include "harness.h"

static void check_hex(const void *data, size_t len, const char *want)
{
    uint8_t d[32];
    char hex[65];
    fs_sha256(data, len, d);
    fs_sha256_hex(d, hex);
    CHECK_STR(hex, want);
}

TEST(sha256_vectors)
{
    check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_hex(m, strlen(m), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* One million 'a', fed in uneven pieces through the incremental API. */
    char *a = malloc(1000000);
    REQUIRE(a);
    memset(a, 'a', 1000000);
    fs_sha256_ctx c;
    fs_sha256_init(&c);
    for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 3 % 997 + 1)
        fs_sha256_update(&c, a + off, off + step > 1000000 ? 1000000 - off : step);
    uint8_t d[32];
    char hex[65];
    fs_sha256_final(&c, d);
    fs_sha256_hex(d, hex);
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}
