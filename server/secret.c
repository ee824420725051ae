/* secret.c - tokens, digests, signatures and password hashes (nettle, libargon2). */
#include "secret.h"

#include <argon2.h>
#include <nettle/base64.h>
#include <nettle/hmac.h>
#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mem.h"

/* Fills buf with n bytes of the kernel's random source. */
static int random_bytes(void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom((char *)buf + got, n - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void to_hex(const uint8_t *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

int secret_token_new(char out[SECRET_TOKEN_LEN + 1])
{
	uint8_t raw[32];
	if (random_bytes(raw, sizeof(raw)) < 0)
		return -1;
	char enc[BASE64_ENCODE_LENGTH(32) + BASE64_ENCODE_FINAL_LENGTH];
	struct base64_encode_ctx ctx;
	base64url_encode_init(&ctx);
	size_t n = base64_encode_update(&ctx, enc, sizeof(raw), raw);
	n += base64_encode_final(&ctx, enc + n);
	while (n && enc[n - 1] == '=')
		n--; /* 43 characters: no padding */
	memcpy(out, "gz_", 3);
	memcpy(out + 3, enc, n);
	out[3 + n] = '\0';
	memset(raw, 0, sizeof(raw));
	return n == SECRET_TOKEN_LEN - 3 ? 0 : -1;
}

bool secret_token_shaped(const char *s, size_t len)
{
	if (len != SECRET_TOKEN_LEN || strncmp(s, "gz_", 3) != 0)
		return false;
	for (size_t i = 3; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

void secret_sha256_hex(const void *data, size_t len, char out[SECRET_HEX_LEN + 1])
{
	struct sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];
	sha256_init(&ctx);
	sha256_update(&ctx, len, data);
	sha256_digest(&ctx, sizeof(d), d);
	to_hex(d, sizeof(d), out);
}

void secret_hmac_hex(const char *key, size_t key_len, const char *msg, size_t msg_len,
                     char out[SECRET_HEX_LEN + 1])
{
	struct hmac_sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];
	hmac_sha256_set_key(&ctx, key_len, (const uint8_t *)key);
	hmac_sha256_update(&ctx, msg_len, (const uint8_t *)msg);
	hmac_sha256_digest(&ctx, sizeof(d), d);
	to_hex(d, sizeof(d), out);
}

int secret_random_hex(size_t n, char *out)
{
	uint8_t *raw = xmalloc(n ? n : 1);
	int rc = random_bytes(raw, n);
	if (rc == 0)
		to_hex(raw, n, out);
	memset(raw, 0, n);
	free(raw);
	return rc;
}

bool secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen > blen ? alen : blen;
	unsigned char diff = (unsigned char)(alen != blen);
	for (size_t i = 0; i < n; i++) {
		unsigned char x = i < alen ? (unsigned char)a[i] : 0;
		unsigned char y = i < blen ? (unsigned char)b[i] : 0;
		diff |= x ^ y;
	}
	return diff == 0;
}

/* OWASP's Argon2id minimum: 19 MiB, 2 passes, one lane. */
#define ARGON_T    2
#define ARGON_M    19456
#define ARGON_P    1
#define ARGON_SALT 16
#define ARGON_HASH 32

char *secret_password_hash(const char *password)
{
	uint8_t salt[ARGON_SALT];
	if (random_bytes(salt, sizeof(salt)) < 0)
		return NULL;
	size_t len =
	    argon2_encodedlen(ARGON_T, ARGON_M, ARGON_P, ARGON_SALT, ARGON_HASH, Argon2_id);
	char *out = xmalloc(len);
	if (argon2id_hash_encoded(ARGON_T, ARGON_M, ARGON_P, password, strlen(password), salt,
	                          sizeof(salt), ARGON_HASH, out, len) != ARGON2_OK) {
		free(out);
		return NULL;
	}
	return out;
}

bool secret_password_check(const char *encoded, const char *password)
{
	return encoded && *encoded &&
	       argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}
