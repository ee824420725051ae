/* bench_auth.c - what a token check costs a request (SPEC §11): auth_check of an account's token
 * when its hash is cached (the generation did not move), and when it must be looked up in the
 * store (the generation moved: a write happened), timed over a real store.
 *
 * usage: bench_auth DATABASE [N]   (DATABASE: an SQLite path or a postgresql:// URL; it gets
 * an account "bench" and a token) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "buf.h"
#include "secret.h"
#include "store.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_auth DATABASE [N]\n");
		return 2;
	}
	long n = argc > 2 ? atol(argv[2]) : 200000;
	struct buf err = BUF_INIT;
	struct store *s = store_open(argv[1], 2, &err);
	if (!s) {
		fprintf(stderr, "bench_auth: %s\n", buf_str(&err));
		return 1;
	}
	json_t *acct = json_pack("{s:s, s:s, s:s, s:s, s:b}", "handle", "bench", "name", "Bench",
	                         "role", "editor", "bio", "", "disabled", 0);
	store_account_add(s, NULL, acct, (int64_t)time(NULL)); /* there already: fine */
	json_decref(acct);
	char token[SECRET_TOKEN_LEN + 1], hash[SECRET_HEX_LEN + 1];
	secret_token_new(token);
	secret_sha256_hex(token, SECRET_TOKEN_LEN, hash);
	json_t *t = NULL;
	if (store_token_add(s, NULL, "bench", hash, "bench", "gz_bench", 0, (int64_t)time(NULL),
	                    &t) < 0) {
		fprintf(stderr, "bench_auth: cannot make a token\n");
		return 1;
	}
	json_decref(t);
	char header[80];
	snprintf(header, sizeof(header), "Bearer %s", token);
	struct auth *a = auth_new("", s);
	struct principal who;
	unsigned retry;
	int64_t now = (int64_t)time(NULL);
	/* cached: one generation throughout */
	auth_check(a, header, "127.0.0.1", now, 1, &who, &retry);
	double t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (auth_check(a, header, "127.0.0.1", now, 1, &who, &retry) != AUTH_OK)
			return 1;
	double cached = (now_ns() - t0) / (double)n;
	/* looked up: a new generation every time */
	long m = n / 20 > 0 ? n / 20 : 1;
	t0 = now_ns();
	for (long i = 0; i < m; i++)
		if (auth_check(a, header, "127.0.0.1", now, (uint64_t)i + 2, &who, &retry) !=
		    AUTH_OK)
			return 1;
	double looked_up = (now_ns() - t0) / (double)m;
	printf("{\"checks\": %ld, \"cached_ns\": %.0f, \"lookups\": %ld, \"lookup_us\": %.1f}\n", n,
	       cached, m, looked_up / 1000.0);
	auth_free(a);
	store_close(s);
	buf_cleanup(&err);
	return 0;
}
