/* test_outbox.c - the outbound rules as values: the retry schedule with its jitter, the
 * signature (against Python's hmac), a webhook's fields, the URL check (names resolved from
 * /etc/hosts only, never sent to), and the Surrogate-Keys of pages and changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "article.h"
#include "buf.h"
#include "mem.h"
#include "outbox.h"
#include "surrogate.h"

static void test_backoff(void **state)
{
	(void)state;
	const unsigned sched[] = {10, 30, 120, 600, 3600, 10800};
	assert_int_equal(outbox_backoff_ms(sched, 6, 1, 0), 10000);
	assert_int_equal(outbox_backoff_ms(sched, 6, 2, 0), 30000);
	assert_int_equal(outbox_backoff_ms(sched, 6, 5, 0), 3600000);
	assert_int_equal(outbox_backoff_ms(sched, 6, 6, 0), 10800000);
	assert_int_equal(outbox_backoff_ms(sched, 6, 40, 0), 10800000); /* the last repeats */
	/* +-20% at the ends of the jitter, and never beyond */
	assert_int_equal(outbox_backoff_ms(sched, 6, 1, 1), 12000);
	assert_int_equal(outbox_backoff_ms(sched, 6, 1, -1), 8000);
	assert_int_equal(outbox_backoff_ms(sched, 6, 1, 7), 12000);
	assert_int_equal(outbox_backoff_ms(sched, 6, 3, -0.5), 108000);
	assert_int_equal(outbox_backoff_ms(sched, 6, 0, 0), 10000);
	assert_int_equal(outbox_backoff_ms(sched, 0, 3, 0), 0);
	/* the whole default schedule over 24 hours: the number of tries it makes */
	int64_t t = 0;
	int tries = 1;
	while (t + outbox_backoff_ms(sched, 6, tries, 0) <= 86400000) {
		t += outbox_backoff_ms(sched, 6, tries, 0);
		tries++;
	}
	assert_int_equal(tries, 13); /* 10 s, 30 s, 2 min, 10 min, 1 h, then every 3 h */
}

static void test_signature(void **state)
{
	(void)state;
	struct buf sig = BUF_INIT;
	outbox_signature("whsec_test", 1700000000, "{\"a\":1}", 7, &sig);
	/* hmac.new(b"whsec_test", b'1700000000.{"a":1}', hashlib.sha256).hexdigest() */
	assert_string_equal(
	    buf_str(&sig),
	    "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
	buf_reset(&sig);
	outbox_signature("whsec_test", 1700000001, "{\"a\":1}", 7, &sig);
	assert_null(strstr(buf_str(&sig), "38877139"));
	buf_cleanup(&sig);
}

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	return j;
}

static void refused(const char *body, bool partial, const char *start)
{
	json_t *in = parse(body), *clean = NULL;
	char why[256] = "";
	assert_int_equal(outbox_webhook_fields(NULL, in, partial, false, &clean, why, sizeof(why)),
	                 -1);
	assert_null(clean);
	if (strncmp(why, start, strlen(start)) != 0)
		fail_msg("%s: want '%s...', got '%s'", body, start, why);
	json_decref(in);
}

static void test_fields(void **state)
{
	(void)state;
	json_t *in = parse("{\"url\": \"https://93.184.216.34/hook\"}"), *clean = NULL;
	char why[256];
	assert_int_equal(outbox_webhook_fields(NULL, in, false, false, &clean, why, sizeof(why)),
	                 0);
	assert_int_equal(json_array_size(json_object_get(clean, "events")), 5);
	const char *secret = json_string_value(json_object_get(clean, "secret"));
	assert_int_equal(strlen(secret), 70);
	assert_memory_equal(secret, "whsec_", 6);
	json_decref(clean);
	json_decref(in);
	/* an edit takes what it names, nothing more */
	in = parse("{\"active\": false}");
	assert_int_equal(outbox_webhook_fields(NULL, in, true, false, &clean, why, sizeof(why)), 0);
	assert_int_equal(json_object_size(clean), 1);
	json_decref(clean);
	json_decref(in);
	refused("[]", false, "the body");
	refused("{}", false, "url: is required");
	refused("{\"url\": 5}", false, "url:");
	refused("{\"url\": \"gopher://93.184.216.34/\"}", false, "url: only http and https");
	refused("{\"url\": \"file:///etc/passwd\"}", false, "url:");
	refused("{\"url\": \"http://u:p@93.184.216.34/\"}", false, "url: must not hold");
	refused("{\"url\": \"http:///x\"}", false, "url:");
	refused("{\"url\": \"http://127.0.0.1:8080/\"}", false, "url: 127.0.0.1 is a loopback");
	refused("{\"url\": \"http://[::1]/\"}", false, "url: [::1] is a loopback");
	refused("{\"url\": \"http://0x7f.1/\"}", true, "url:");
	refused("{\"url\": \"http://localhost:9/\"}", false, "url: localhost resolves to");
	refused("{\"url\": \"http://192.168.0.10/\"}", true, "url: 192.168.0.10 is a private");
	refused("{\"events\": \"article.published\"}", true, "events:");
	refused("{\"events\": []}", true, "events:");
	refused("{\"events\": [\"article.published\", \"story.eaten\"]}", true, "events: item 1");
	refused("{\"secret\": \"short\"}", true, "secret:");
	refused("{\"active\": \"yes\"}", true, "active:");
	refused("{\"colour\": \"red\"}", true, "colour: not a field");
	/* allowed: loopback and private addresses pass */
	in = parse("{\"url\": \"http://127.0.0.1:8080/\"}");
	assert_int_equal(outbox_webhook_fields(NULL, in, false, true, &clean, why, sizeof(why)), 0);
	json_decref(clean);
	json_decref(in);
	assert_true(outbox_event_known("media.created"));
	assert_false(outbox_event_known("media.deleted"));
}

static void test_surrogate(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	surrogate_tag(&b, "经济");
	assert_string_equal(buf_str(&b), "tag-%E7%BB%8F%E6%B5%8E");
	surrogate_author(&b, "ann-lee");
	surrogate_article(&b, 42);
	assert_string_equal(buf_str(&b), "tag-%E7%BB%8F%E6%B5%8E author-ann-lee article-42");
	assert_true(surrogate_valid(buf_str(&b)));
	buf_reset(&b);
	surrogate_account(&b, "ann-lee");
	assert_string_equal(buf_str(&b), "feed author-ann-lee byline-ann-lee");
	buf_reset(&b);
	surrogate_tag(&b, "a b|c.*");
	assert_string_equal(buf_str(&b), "tag-a%20b%7Cc%2E%2A");
	assert_true(surrogate_valid(buf_str(&b)));
	assert_false(surrogate_valid(""));
	assert_false(surrogate_valid("front  feed"));
	assert_false(surrogate_valid("front|.*"));
	assert_false(surrogate_valid(" front"));
	assert_false(surrogate_valid("front "));
	buf_reset(&b);

	/* a change names the listings, the story, and the tags and authors of both versions */
	struct article old, new_;
	article_init(&old);
	article_init(&new_);
	old.id = new_.id = 7;
	char *old_tags[] = {"port", "city"}, *new_tags[] = {"port", "farm"};
	char *old_authors[] = {"ann"}, *new_authors[] = {"bob"};
	old.tags = old_tags;
	old.ntags = 2;
	new_.tags = new_tags;
	new_.ntags = 2;
	old.authors = old_authors;
	old.nauthors = 1;
	new_.authors = new_authors;
	new_.nauthors = 1;
	surrogate_change(&b, &old, &new_);
	assert_string_equal(buf_str(&b), "front search feed sitemap article-7 tag-port tag-farm "
	                                 "author-bob tag-city author-ann");
	buf_reset(&b);
	surrogate_change(&b, NULL, &new_);
	assert_string_equal(buf_str(&b),
	                    "front search feed sitemap article-7 tag-port tag-farm author-bob");
	buf_reset(&b);
	surrogate_change(&b, &old, NULL);
	assert_string_equal(buf_str(&b),
	                    "front search feed sitemap article-7 tag-port tag-city author-ann");
	assert_true(surrogate_valid(buf_str(&b)));
	buf_cleanup(&b);
	old.tags = new_.tags = old.authors = new_.authors = NULL;
	old.ntags = new_.ntags = old.nauthors = new_.nauthors = 0;
	article_cleanup(&old);
	article_cleanup(&new_);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_signature),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_surrogate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
