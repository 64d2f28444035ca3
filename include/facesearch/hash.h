/*
 * facesearch/hash.h — SHA-256 (FIPS 180-4), for content hashes of photos and
 * decoded pixels.  Plain C, no global state; a context may be reused after
 * fs_sha256_init.
 */
#ifndef FACESEARCH_HASH_H
#define FACESEARCH_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FS_SHA256_SIZE 32

typedef struct fs_sha256_ctx {
    uint32_t state[8];
    uint64_t total;       /* bytes hashed so far */
    uint8_t block[64];    /* pending partial block */
    size_t fill;          /* bytes in block */
} fs_sha256_ctx;

/* Starts a new hash. */
void fs_sha256_init(fs_sha256_ctx *ctx);

/* Hashes len more bytes of data (data may be NULL when len is 0). */
void fs_sha256_update(fs_sha256_ctx *ctx, const void *data, size_t len);

/* Writes the 32-byte digest to out; the context must be re-initialised
 * before it is used again. */
void fs_sha256_final(fs_sha256_ctx *ctx, uint8_t out[FS_SHA256_SIZE]);

/* One-shot digest of a buffer. */
void fs_sha256(const void *data, size_t len, uint8_t out[FS_SHA256_SIZE]);

/* Writes the digest as 64 lowercase hex digits plus a NUL into hex. */
void fs_sha256_hex(const uint8_t digest[FS_SHA256_SIZE], char hex[65]);

#endif
