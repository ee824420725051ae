/* test_hash.c - FNV-1a and SipHash-2-4 against their published values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hash.h"

static void test_fnv(void **state)
{
	(void)state;
	/* the FNV authors' test values for FNV-1a 64 */
	assert_true(hash_bytes(HASH_SEED, "", 0) == 0xcbf29ce484222325ull);
	assert_true(hash_bytes(HASH_SEED, "a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(hash_bytes(HASH_SEED, "foobar", 6) == 0x85944171f73967e8ull);
	/* continuing from a previous value is hashing the concatenation */
	assert_true(hash_bytes(hash_bytes(HASH_SEED, "foo", 3), "bar", 3) ==
	            hash_bytes(HASH_SEED, "foobar", 6));
}

static void test_siphash(void **state)
{
	(void)state;
	/* the reference vectors of the SipHash paper (appendix A): key 00..0f, messages 00..n-1 */
	struct hash_key key;
	unsigned char m[64];
	for (int i = 0; i < 64; i++)
		m[i] = (unsigned char)i;
	key.k0 = 0x0706050403020100ull;
	key.k1 = 0x0f0e0d0c0b0a0908ull;
	assert_true(hash_keyed(&key, m, 0) == 0x726fdb47dd0e0e31ull);
	assert_true(hash_keyed(&key, m, 1) == 0x74f839c593dc67fdull);
	assert_true(hash_keyed(&key, m, 7) == 0xab0200f58b01d137ull);
	assert_true(hash_keyed(&key, m, 8) == 0x93f5f5799a932462ull);
	assert_true(hash_keyed(&key, m, 15) == 0xa129ca6149be45e5ull);
	assert_true(hash_keyed(&key, m, 63) == 0x958a324ceb064572ull);
	/* another key, another hash */
	struct hash_key other = key;
	other.k1 ^= 1;
	assert_true(hash_keyed(&other, m, 15) != hash_keyed(&key, m, 15));
	/* random keys differ */
	struct hash_key r1, r2;
	hash_key_random(&r1);
	hash_key_random(&r2);
	assert_true(r1.k0 != r2.k0 || r1.k1 != r2.k1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fnv),
	    cmocka_unit_test(test_siphash),
	};
	return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
