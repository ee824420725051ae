/* test_auth.c - who a request is (SPEC §11): the bootstrap token, account tokens (revoked,
 * expired, disabled), the roles' rules, signed preview links, account input; and the brake on
 * wrong tokens: exact clients, IPv6 by /64, no count for a request without credentials, a
 * bounded table. Accounts live in a real SQLite store in a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "mem.h"
#include "secret.h"
#include "store.h"
#include "testutil.h"

#define NOW 1700000000

static struct store *store;     /* without accounts, unless a test adds them */
static uint64_t generation = 1; /* moved by every test that writes */

static enum auth_result check_who(struct auth *a, const char *header, const char *client,
                                  int64_t now, struct principal *who)
{
	unsigned retry = 0;
	enum auth_result r = auth_check(a, header, client, now, generation, who, &retry);
	if (r == AUTH_LIMITED)
		assert_true(retry >= 1 && retry <= AUTH_WINDOW_S);
	return r;
}

static enum auth_result check(struct auth *a, const char *header, const char *client, int64_t now)
{
	struct principal who;
	return check_who(a, header, client, now, &who);
}

static void test_results(void **state)
{
	(void)state;
	struct auth *a = auth_new("s3cret", store);
	assert_int_equal(check(a, "Bearer s3cret", "192.0.2.1", NOW), AUTH_OK);
	assert_int_equal(check(a, "bearer   s3cret  ", "192.0.2.1", NOW), AUTH_OK);
	assert_int_equal(check(a, "Bearer s3cre", "192.0.2.1", NOW), AUTH_WRONG);
	assert_int_equal(check(a, "Bearer s3cret!", "192.0.2.1", NOW), AUTH_WRONG);
	assert_int_equal(check(a, "Bearer ", "192.0.2.1", NOW), AUTH_WRONG);
	assert_int_equal(check(a, NULL, "192.0.2.1", NOW), AUTH_MISSING);
	assert_int_equal(check(a, "Basic czNjcmV0", "192.0.2.1", NOW), AUTH_MISSING);
	auth_free(a);
	a = auth_new("", store);
	assert_int_equal(check(a, "Bearer anything", "192.0.2.1", NOW), AUTH_DISABLED);
	auth_free(a);
	auth_free(NULL);
}

static void test_limit(void **state)
{
	(void)state;
	struct auth *a = auth_new("s3cret", store);
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
	struct auth *a = auth_new("s3cret", store);
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
	auth_client_key("::ffff:192.0.2.7", key); /* IPv4, as a dual-stack proxy writes it */
	assert_string_equal(key, "192.0.2.7");

	struct auth *a = auth_new("s3cret", store);
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
	struct auth *a = auth_new("s3cret", store);
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
	struct auth *a = auth_new("s3cret", store);
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

static void test_secrets(void **state)
{
	(void)state;
	char t1[SECRET_TOKEN_LEN + 1], t2[SECRET_TOKEN_LEN + 1];
	assert_int_equal(secret_token_new(t1), 0);
	assert_int_equal(secret_token_new(t2), 0);
	assert_int_equal(strlen(t1), 46);
	assert_memory_equal(t1, "gz_", 3);
	assert_true(secret_token_shaped(t1, strlen(t1)));
	assert_string_not_equal(t1, t2);
	assert_false(secret_token_shaped("gz_short", 8));
	char bad[] = "gz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+A";
	assert_false(secret_token_shaped(bad, strlen(bad)));
	char hex[SECRET_HEX_LEN + 1];
	secret_sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* RFC 4231 test case 2 */
	secret_hmac_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
	assert_string_equal(hex,
	                    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	char *h = secret_password_hash("correct horse battery");
	assert_non_null(h);
	assert_memory_equal(h, "$argon2id$", 10);
	assert_true(secret_password_check(h, "correct horse battery"));
	assert_false(secret_password_check(h, "correct horse batterY"));
	free(h);
}

/* An account and a token of it; returns the token's id, the token in out. */
static int64_t add_account(const char *handle, const char *role, int64_t expires,
                           char out[SECRET_TOKEN_LEN + 1])
{
	char *text = xasprintf("{'handle':'%s','name':'N %s','role':'%s'}", handle, handle, role);
	json_t *in = load_json(text), *acct = NULL, *t = NULL;
	free(text);
	char why[200];
	assert_int_equal(auth_account_from_json(in, true, &acct, why, sizeof(why)), 0);
	int rc = store_account_add(store, NULL, acct, NOW);
	assert_true(rc == 0 || rc == -EEXIST);
	json_decref(acct);
	json_decref(in);
	char hash[SECRET_HEX_LEN + 1];
	assert_int_equal(secret_token_new(out), 0);
	secret_sha256_hex(out, SECRET_TOKEN_LEN, hash);
	assert_int_equal(
	    store_token_add(store, NULL, handle, hash, "test", "gz_xxxxx", expires, NOW, &t), 0);
	int64_t id = json_integer_value(json_object_get(t, "id"));
	json_decref(t);
	generation++;
	return id;
}

static char *bearer(const char *token)
{
	return xasprintf("Bearer %s", token);
}

static void test_accounts_and_tokens(void **state)
{
	(void)state;
	struct auth *a = auth_new("s3cret", store);
	struct principal who;
	/* no account token yet: auth.token is the admin "config" */
	assert_int_equal(check_who(a, "Bearer s3cret", "192.0.2.9", NOW, &who), AUTH_OK);
	assert_int_equal(who.role, ROLE_ADMIN);
	assert_string_equal(who.account, "config");
	assert_false(who.is_account);

	char tok[SECRET_TOKEN_LEN + 1], ed[SECRET_TOKEN_LEN + 1], old[SECRET_TOKEN_LEN + 1];
	int64_t id = add_account("alice", "contributor", 0, tok);
	add_account("bob", "editor", 0, ed);
	add_account("carol", "admin", NOW + 100, old);
	/* an account has a token: auth.token is no longer one */
	assert_int_equal(check(a, "Bearer s3cret", "192.0.2.9", NOW), AUTH_WRONG);
	char *h = bearer(tok);
	assert_int_equal(check_who(a, h, "192.0.2.9", NOW, &who), AUTH_OK);
	assert_int_equal(who.role, ROLE_CONTRIBUTOR);
	assert_string_equal(who.account, "alice");
	assert_true(who.is_account);
	assert_int_equal(who.token_id, id);
	/* spaces and tabs around it are not the token's */
	char *spaced = xasprintf("Bearer  \t %s \t ", tok);
	assert_int_equal(check(a, spaced, "192.0.2.9", NOW), AUTH_OK);
	free(spaced);
	/* one character off */
	tok[10] = tok[10] == 'A' ? 'B' : 'A';
	char *wrong = bearer(tok);
	assert_int_equal(check(a, wrong, "192.0.2.9", NOW), AUTH_WRONG);
	free(wrong);
	char *e = bearer(ed);
	assert_int_equal(check_who(a, e, "192.0.2.9", NOW, &who), AUTH_OK);
	assert_int_equal(who.role, ROLE_EDITOR);
	/* expired */
	char *o = bearer(old);
	assert_int_equal(check(a, o, "192.0.2.9", NOW + 99), AUTH_OK);
	assert_int_equal(check(a, o, "192.0.2.9", NOW + 100), AUTH_WRONG);
	/* revoked: seen once the generation moves */
	assert_int_equal(store_token_revoke(store, NULL, id, NOW), 0);
	assert_int_equal(store_token_revoke(store, NULL, id, NOW), -EALREADY);
	generation++;
	assert_int_equal(check(a, h, "192.0.2.9", NOW), AUTH_WRONG);
	/* a disabled account's tokens */
	json_t *off = load_json("{'disabled':true}");
	assert_int_equal(store_account_update(store, NULL, "bob", off, NOW, NULL), 0);
	json_decref(off);
	generation++;
	assert_int_equal(check(a, e, "192.0.2.9", NOW), AUTH_WRONG);
	/* last_used_at was written, once */
	json_t *list = NULL;
	assert_int_equal(store_tokens(store, &list), 0);
	json_t *first = json_array_get(json_object_get(list, "tokens"), 0);
	assert_non_null(json_string_value(json_object_get(first, "last_used_at")));
	json_decref(list);
	free(h);
	free(e);
	free(o);
	auth_free(a);
}

static struct article *story(const char *status, const char *author)
{
	struct article *a = xcalloc(1, sizeof(*a));
	article_init(a);
	a->status = xstrdup(status);
	a->status_given = true;
	a->authors = xcalloc(ARTICLE_AUTHORS_MAX, sizeof(char *));
	if (author)
		a->authors[a->nauthors++] = xstrdup(author);
	return a;
}

static void drop(struct article *a)
{
	article_cleanup(a);
	free(a);
}

static void test_roles(void **state)
{
	(void)state;
	assert_int_equal(auth_role_parse("editor"), ROLE_EDITOR);
	assert_int_equal(auth_role_parse("Editor"), ROLE_NONE);
	assert_string_equal(auth_role_name(ROLE_ADMIN), "admin");
	struct principal c = {.role = ROLE_CONTRIBUTOR, .account = "alice", .is_account = true};
	struct principal ed = {.role = ROLE_EDITOR, .account = "bob", .is_account = true};
	char why[200];
	struct article *draft = story("draft", NULL), *pub = story("published", NULL);
	struct article *mine = story("draft", "alice"), *theirs = story("draft", "bob");
	struct article *live = story("published", "alice");
	assert_int_equal(auth_may_write(&c, NULL, draft, why, sizeof(why)), 0);
	assert_int_equal(auth_may_write(&c, NULL, pub, why, sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "publish"));
	assert_int_equal(auth_may_write(&c, mine, draft, why, sizeof(why)), 0);
	assert_int_equal(auth_may_write(&c, theirs, draft, why, sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "another's draft"));
	assert_int_equal(auth_may_write(&c, live, draft, why, sizeof(why)), -EACCES);
	assert_int_equal(auth_may_write(&c, mine, NULL, why, sizeof(why)), -EACCES);
	assert_non_null(strstr(why, "delete"));
	/* a contributor's story without a status is a draft */
	struct article *open = story("published", NULL);
	open->status_given = false;
	assert_int_equal(auth_may_write(&c, NULL, open, why, sizeof(why)), 0);
	assert_string_equal(open->status, "draft");
	/* an editor does anything to articles */
	assert_int_equal(auth_may_write(&ed, live, pub, why, sizeof(why)), 0);
	assert_int_equal(auth_may_write(&ed, live, NULL, why, sizeof(why)), 0);
	assert_true(auth_may_preview(&c, mine));
	assert_false(auth_may_preview(&c, theirs));
	assert_true(auth_may_preview(&ed, theirs));
	drop(draft);
	drop(pub);
	drop(mine);
	drop(theirs);
	drop(live);
	drop(open);
}

static void test_preview_links(void **state)
{
	(void)state;
	char sig[65];
	auth_preview_sign("key", 7, "a-story", NOW + 60, sig);
	char t[24];
	snprintf(t, sizeof(t), "%d", NOW + 60);
	assert_true(auth_preview_valid("key", 7, "a-story", t, sig, NOW));
	assert_false(auth_preview_valid("key", 7, "a-story", t, sig, NOW + 60)); /* expired */
	assert_false(auth_preview_valid("key", 8, "a-story", t, sig, NOW));      /* another */
	assert_false(auth_preview_valid("key", 7, "b-story", t, sig, NOW));
	assert_false(auth_preview_valid("rotated", 7, "a-story", t, sig, NOW));
	snprintf(t, sizeof(t), "%d", NOW + 61); /* a later expiry, same signature */
	assert_false(auth_preview_valid("key", 7, "a-story", t, sig, NOW));
	sig[0] = sig[0] == 'a' ? 'b' : 'a';
	snprintf(t, sizeof(t), "%d", NOW + 60);
	assert_false(auth_preview_valid("key", 7, "a-story", t, sig, NOW));
	assert_false(auth_preview_valid("key", 7, "a-story", NULL, sig, NOW));
	assert_false(auth_preview_valid("key", 7, "a-story", "-5", sig, NOW));
}

static void expect_account_error(const char *text, bool create, const char *field)
{
	json_t *in = load_json(text), *out = NULL;
	char why[200];
	assert_int_equal(auth_account_from_json(in, create, &out, why, sizeof(why)), -1);
	assert_null(out);
	if (strncmp(why, field, strlen(field)) != 0)
		fail_msg("%s gave \"%s\", want it to name %s", text, why, field);
	json_decref(in);
}

static void test_account_input(void **state)
{
	(void)state;
	expect_account_error("{'name':'X','role':'editor'}", true, "handle");
	expect_account_error("{'handle':'Bad Handle','name':'X','role':'editor'}", true, "handle");
	expect_account_error("{'handle':'x','role':'editor'}", true, "name");
	expect_account_error("{'handle':'x','name':'X','role':'boss'}", true, "role");
	expect_account_error("{'handle':'x','name':'X','role':'editor','pw':'x'}", true, "pw");
	expect_account_error("{'handle':'x','name':'X','role':'editor','password':'short'}", true,
	                     "password");
	expect_account_error("{'handle':'y'}", false, "handle");
	expect_account_error("{'disabled':'yes'}", false, "disabled");
	json_t *in = load_json("{'handle':'x','name':' X ','role':'editor','password':'long enough "
	                       "words'}"),
	       *out = NULL;
	char why[200];
	assert_int_equal(auth_account_from_json(in, true, &out, why, sizeof(why)), 0);
	const char *pw = json_string_value(json_object_get(out, "password"));
	assert_memory_equal(pw, "$argon2id$", 10);
	assert_null(strstr(pw, "long enough"));
	json_decref(out);
	json_decref(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secrets),
	    cmocka_unit_test(test_roles),
	    cmocka_unit_test(test_preview_links),
	    cmocka_unit_test(test_account_input),
	    cmocka_unit_test(test_results),
	    cmocka_unit_test(test_limit),
	    cmocka_unit_test(test_missing_credentials_do_not_count),
	    cmocka_unit_test(test_ipv6_by_prefix),
	    cmocka_unit_test(test_no_client_resets_another),
	    cmocka_unit_test(test_bounded_table),
	    /* last: from here on the store holds accounts */
	    cmocka_unit_test(test_accounts_and_tokens),
	};
	char *dir = tmpdir_new();
	char *path = xasprintf("%s/auth.db", dir);
	struct buf err = BUF_INIT;
	store = store_open(path, 2, &err);
	if (!store) {
		fprintf(stderr, "store_open: %s\n", buf_str(&err));
		return 1;
	}
	int rc = cmocka_run_group_tests_name("auth", tests, NULL, NULL);
	store_close(store);
	buf_cleanup(&err);
	tmpdir_remove(dir);
	free(path);
	free(dir);
	return rc;
}
