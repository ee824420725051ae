/* test_auth.c - the bearer token check and the brake on wrong tokens: exact clients, IPv6 by
 * /64, no count for a request without credentials, a bounded table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>

#include "auth.h"

#define NOW 1700000000

static enum auth_result check(struct auth *a, const char *header, const char *client, int64_t now)
{
	unsigned retry = 0;
	enum auth_result r = auth_check(a, header, client, now, &retry);
	if (r == AUTH_LIMITED)
		assert_true(retry >= 1 && retry <= AUTH_WINDOW_S);
	return r;
}

static void test_results(void **state)
{
	(void)state;
	struct auth *a = auth_new("s3cret");
	assert_int_equal(check(a, "Bearer s3cret", "192.0.2.1", NOW), AUTH_OK);
	assert_int_equal(check(a, "bearer   s3cret  ", "192.0.2.1", NOW), AUTH_OK);
	assert_int_equal(check(a, "Bearer s3cre", "192.0.2.1", NOW), AUTH_WRONG);
	assert_int_equal(check(a, "Bearer s3cret!", "192.0.2.1", NOW), AUTH_WRONG);
	assert_int_equal(check(a, "Bearer ", "192.0.2.1", NOW), AUTH_WRONG);
	assert_int_equal(check(a, NULL, "192.0.2.1", NOW), AUTH_MISSING);
	assert_int_equal(check(a, "Basic czNjcmV0", "192.0.2.1", NOW), AUTH_MISSING);
	auth_free(a);
	a = auth_new("");
	assert_int_equal(check(a, "Bearer anything", "192.0.2.1", NOW), AUTH_DISABLED);
	auth_free(a);
	auth_free(NULL);
}

static void test_limit(void **state)
{
	(void)state;
	struct auth *a = auth_new("s3cret");
	for (int i = 0; i < AUTH_MAX_FAILURES; i++)
		assert_int_equal(check(a, "Bearer guess", "192.0.2.1", NOW), AUTH_WRONG);
	assert_int_equal(check(a, "Bearer guess", "192.0.2.1", NOW + 1), AUTH_LIMITED);
	/* the right token too: the brake is per client, not per guess */
	assert_int_equal(check(a, "Bearer s3cret", "192.0.2.1", NOW + 1), AUTH_LIMITED);
	/* other clients are not held */
	assert_int_equal(check(a, "Bearer s3cret", "192.0.2.2", NOW + 1), AUTH_OK);
	/* until the window is over */
	assert_int_equal(check(a, "Bearer s3cret", "192.0.2.1", NOW + AUTH_WINDOW_S), AUTH_OK);
	auth_free(a);
}

static void test_missing_credentials_do_not_count(void **state)
{
	(void)state;
	struct auth *a = auth_new("s3cret");
	for (int i = 0; i < 100; i++)
		assert_int_equal(check(a, NULL, "192.0.2.1", NOW), AUTH_MISSING);
	assert_int_equal(check(a, "Bearer s3cret", "192.0.2.1", NOW), AUTH_OK);
	auth_free(a);
}

static void test_ipv6_by_prefix(void **state)
{
	(void)state;
	char key[AUTH_KEY_SIZE];
	auth_client_key("2001:db8:1:2:3:4:5:6", key);
	assert_string_equal(key, "2001:db8:1:2::/64");
	auth_client_key("::1", key);
	assert_string_equal(key, "::/64");
	auth_client_key("192.0.2.1", key);
	assert_string_equal(key, "192.0.2.1");
	auth_client_key("-", key);
	assert_string_equal(key, "-");

	struct auth *a = auth_new("s3cret");
	/* one host walking through the addresses of its /64 is one client */
	char client[64];
	for (int i = 0; i < AUTH_MAX_FAILURES; i++) {
		snprintf(client, sizeof(client), "2001:db8:1:2::%x", i + 1);
		assert_int_equal(check(a, "Bearer guess", client, NOW), AUTH_WRONG);
	}
	assert_int_equal(check(a, "Bearer s3cret", "2001:db8:1:2:ffff::1", NOW), AUTH_LIMITED);
	assert_int_equal(check(a, "Bearer s3cret", "2001:db8:1:3::1", NOW), AUTH_OK);
	auth_free(a);
}

/* The old table hashed clients into 256 slots, and a client landing in another's slot reset
 * its count. Here 1,000 clients guess in turn: every one of them is held at its tenth. */
static void test_no_client_resets_another(void **state)
{
	(void)state;
	struct auth *a = auth_new("s3cret");
	char client[32];
	for (int round = 0; round < AUTH_MAX_FAILURES; round++) {
		for (int c = 0; c < 1000; c++) {
			snprintf(client, sizeof(client), "10.0.%d.%d", c / 256, c % 256);
			assert_int_equal(check(a, "Bearer guess", client, NOW), AUTH_WRONG);
		}
	}
	for (int c = 0; c < 1000; c++) {
		snprintf(client, sizeof(client), "10.0.%d.%d", c / 256, c % 256);
		assert_int_equal(check(a, "Bearer guess", client, NOW), AUTH_LIMITED);
	}
	auth_free(a);
}

/* Bounded: past AUTH_CLIENTS the least recent client is forgotten, the others kept. */
static void test_bounded_table(void **state)
{
	(void)state;
	struct auth *a = auth_new("s3cret");
	for (int i = 0; i < AUTH_MAX_FAILURES; i++) {
		assert_int_equal(check(a, "Bearer guess", "192.0.2.1", NOW), AUTH_WRONG);
		assert_int_equal(check(a, "Bearer guess", "192.0.2.2", NOW), AUTH_WRONG);
	}
	char client[32];
	/* 192.0.2.2 stays recent (each of its tries is refused, and seen); .1 is not */
	for (int c = 0; c < AUTH_CLIENTS; c++) {
		snprintf(client, sizeof(client), "10.%d.%d.1", c / 256, c % 256);
		assert_int_equal(check(a, "Bearer guess", client, NOW), AUTH_WRONG);
		if (c % 512 == 0)
			assert_int_equal(check(a, "Bearer x", "192.0.2.2", NOW), AUTH_LIMITED);
	}
	assert_int_equal(check(a, "Bearer x", "192.0.2.2", NOW), AUTH_LIMITED);
	assert_int_equal(check(a, "Bearer s3cret", "192.0.2.1", NOW), AUTH_OK);
	auth_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_results),
	    cmocka_unit_test(test_limit),
	    cmocka_unit_test(test_missing_credentials_do_not_count),
	    cmocka_unit_test(test_ipv6_by_prefix),
	    cmocka_unit_test(test_no_client_resets_another),
	    cmocka_unit_test(test_bounded_table),
	};
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
