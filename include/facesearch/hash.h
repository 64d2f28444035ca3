/*
 * facesearch/hash.h — SHA-256 (FIPS 180-4), for content hashes of photos,
 * weight-file checksums and long-path keys.
 */
#ifndef FACESEARCH_HASH_H
#define FACESEARCH_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Incremental hashing state; initialise with fs_sha256_init. */
typedef struct fs_sha256_ctx {
    uint32_t h[8];
    uint64_t len;        /* bytes hashed so far */
    uint8_t buf[64];
    size_t fill;
} fs_sha256_ctx;

void fs_sha256_init(fs_sha256_ctx *c);
void fs_sha256_update(fs_sha256_ctx *c, const void *data, size_t len);
void fs_sha256_final(fs_sha256_ctx *c, uint8_t out[32]);

/* One-shot hash of len bytes. */
void fs_sha256(const void *data, size_t len, uint8_t out[32]);

/* Writes the 64 lower-case hex digits of a digest plus a NUL into hex. */
void fs_sha256_hex(const uint8_t digest[32], char hex[65]);

#endif
