/* secret.h - the newsroom's secrets (SPEC §11): API tokens, their SHA-256, signed links and
 * password hashes, over nettle and libargon2. Nothing here keeps a secret in memory longer
 * than its call. */
#ifndef GAZETTE_SECRET_H
#define GAZETTE_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECRET_TOKEN_LEN  46 /* "gz_" and 43 base64url characters (32 random bytes) */
#define SECRET_PREFIX_LEN 8  /* what lists show of a token: "gz_" and 5 characters */
#define SECRET_HEX_LEN    64 /* a SHA-256 or HMAC-SHA256 in lowercase hex */

/* A new token from 32 bytes of getrandom. Returns 0, or -1 when the kernel gave none. */
int secret_token_new(char out[SECRET_TOKEN_LEN + 1]);

/* Whether s has a token's shape ("gz_" and 43 base64url characters). */
bool secret_token_shaped(const char *s, size_t len);

/* SHA-256 of len bytes of data, in hex. */
void secret_sha256_hex(const void *data, size_t len, char out[SECRET_HEX_LEN + 1]);

/* HMAC-SHA256 of msg under key, in hex. */
void secret_hmac_hex(const char *key, size_t key_len, const char *msg, size_t msg_len,
                     char out[SECRET_HEX_LEN + 1]);

/* n random bytes as 2n hex characters (out holds 2n + 1). Returns 0 or -1. */
int secret_random_hex(size_t n, char *out);

/* Compares two strings in a time that depends only on their lengths. */
bool secret_equal(const char *a, size_t alen, const char *b, size_t blen);

/* An Argon2id hash of password in its encoded form ($argon2id$v=19$...), caller frees; NULL
 * on failure. */
char *secret_password_hash(const char *password);
bool secret_password_check(const char *encoded, const char *password);

#endif
