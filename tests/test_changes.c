/* test_changes.c - the content generation: local commits, writes of another process,
 * scheduled publications passing, with no write. */
#include "store_fixture.h"

#include "changes.h"

/* Polls until the generation moves past g, for at most 5 s: another process's write reaches a
 * PostgreSQL listener a moment after its commit (SQLite's data_version shows it at once). */
static void poll_moved(struct changes *c, int64_t now, uint64_t g)
{
	for (int i = 0; i < 500; i++) {
		changes_poll(c, now);
		if (changes_generation(c) > g)
			return;
		usleep(10000);
	}
	fail_msg("the generation did not move");
}

static void test_generation_and_poll(void **state)
{
	struct fixture *f = *state;
	struct changes *c = changes_new(f->s, NULL);
	uint64_t g = changes_generation(c);
	changes_poll(c, NOW);
	assert_int_equal(changes_generation(c), g);

	/* every write of this process */
	must_create(f->s, "{'title':'One','body':'x'}");
	assert_true(changes_generation(c) > g);
	g = changes_generation(c);
	/* our own write is no news (on PostgreSQL its notification comes a moment later) */
	for (int i = 0; i < 30; i++) {
		changes_poll(c, NOW);
		assert_int_equal(changes_generation(c), g);
		usleep(10000);
	}

	/* reads change nothing */
	struct article a;
	article_init(&a);
	assert_int_equal(store_get(f->s, "one", true, NOW, &a), 0);
	article_cleanup(&a);
	assert_int_equal(store_count(f->s, true, NOW), 1);
	assert_int_equal(changes_generation(c), g);

	/* a write by another process (another connection to the same file) */
	struct store *other = open_store(f->path);
	changes_poll(c, NOW);
	assert_int_equal(changes_generation(c), g);
	must_create(other, "{'title':'From import','body':'x'}");
	poll_moved(c, NOW, g);
	g = changes_generation(c);
	changes_poll(c, NOW);
	assert_int_equal(changes_generation(c), g);
	assert_int_equal(store_get(f->s, "from-import", true, NOW, &a), 0);
	article_cleanup(&a);
	assert_int_equal(store_delete(other, "from-import"), 0);
	poll_moved(c, NOW, g);
	g = changes_generation(c);

	/* a scheduled article becoming public, with no write */
	must_create(f->s, "{'title':'Soon','body':'x','published_at':'2023-01-12T06:33:01Z'}");
	g = changes_generation(c);
	changes_poll(c, NOW);
	assert_int_equal(changes_generation(c), g);
	assert_int_equal(store_get(f->s, "soon", true, NOW, &a), -ENOENT);
	changes_poll(c, NOW + 2);
	assert_true(changes_generation(c) > g);
	g = changes_generation(c);
	assert_int_equal(store_get(f->s, "soon", true, NOW + 2, &a), 0);
	article_cleanup(&a);
	changes_poll(c, NOW + 3);
	changes_poll(c, NOW + 4);
	assert_int_equal(changes_generation(c), g);

	/* a future draft is not a scheduled publication */
	must_create(f->s, "{'title':'Draft','body':'x','status':'draft',"
	                  "'published_at':'2023-01-12T06:33:10Z'}");
	g = changes_generation(c);
	changes_poll(c, NOW + 5);
	changes_poll(c, NOW + 20);
	assert_int_equal(changes_generation(c), g);

	/* scheduled by the other process: its write, then its time */
	must_create(other, "{'title':'Later','body':'x','published_at':'2023-01-12T06:34:00Z'}");
	poll_moved(c, NOW + 30, g);
	g = changes_generation(c);
	changes_poll(c, NOW + 59);
	assert_int_equal(changes_generation(c), g);
	changes_poll(c, NOW + 60);
	assert_true(changes_generation(c) > g);
	g = changes_generation(c);
	changes_poll(c, NOW + 61);
	assert_int_equal(changes_generation(c), g);
	store_close(other);
	changes_free(c);
}

/* A story due in the very second when the schedule is looked up again (an unrelated write
 * in the second before marked it stale) is still announced: pages built in that second before
 * may not show it. */
static void test_publication_in_the_second_of_a_lookup(void **state)
{
	struct fixture *f = *state;
	struct changes *c = changes_new(f->s, NULL);
	must_create(f->s, "{'title':'Due','body':'x','published_at':'2023-01-12T06:33:01Z'}");
	changes_poll(c, NOW - 10);
	changes_poll(c, NOW); /* NOW + 1 is still to come */
	must_create(f->s, "{'title':'Unrelated','body':'x','published_at':'2020-01-01T00:00:00Z'}");
	uint64_t g = changes_generation(c);
	changes_poll(c, NOW + 1);
	assert_true(changes_generation(c) > g);
	g = changes_generation(c);
	changes_poll(c, NOW + 1);
	changes_poll(c, NOW + 2);
	assert_int_equal(changes_generation(c), g); /* announced once */
	changes_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_generation_and_poll, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_publication_in_the_second_of_a_lookup, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests_name("changes", tests, NULL, NULL);
}
