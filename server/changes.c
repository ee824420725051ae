/* changes.c - counts what moves the content: local commits, other processes, the clock
 * passing a publication time, template reloads. */
#include "changes.h"

#include <stdatomic.h>
#include <stdbool.h>

#include "mem.h"
#include "render.h"
#include "store.h"

struct changes {
	struct store *store;
	struct render *render;
	atomic_uint_fast64_t moves; /* commits here, writes elsewhere, publications */
	atomic_bool schedule_stale; /* a commit may have scheduled or moved a story */
	/* changes_poll's own, on its one thread */
	int64_t external_version;
	int64_t polled_at;        /* the now of the last poll */
	int64_t next_publication; /* INT64_MAX: none known */
};

static void on_commit(void *arg)
{
	struct changes *c = arg;
	atomic_fetch_add(&c->moves, 1);
	atomic_store(&c->schedule_stale, true);
}

struct changes *changes_new(struct store *store, struct render *render)
{
	struct changes *c = xcalloc(1, sizeof(*c));
	c->store = store;
	c->render = render;
	atomic_init(&c->moves, 1);
	atomic_init(&c->schedule_stale, true);
	c->external_version = store_external_version(store);
	c->next_publication = INT64_MAX;
	store_on_commit(store, on_commit, c);
	return c;
}

void changes_free(struct changes *c)
{
	if (!c)
		return;
	store_on_commit(c->store, NULL, NULL);
	free(c);
}

uint64_t changes_generation(const struct changes *c)
{
	return atomic_load(&c->moves) + (c->render ? render_version(c->render) : 0);
}

void changes_poll(struct changes *c, int64_t now)
{
	bool moved = false;
	int64_t v = store_external_version(c->store);
	if (v != c->external_version) {
		c->external_version = v;
		moved = true; /* another process wrote */
		atomic_store(&c->schedule_stale, true);
	}
	/* the next publication after the last poll, not after now: one due in this very second
	 * may be missing from a page built in the second before, and must still be announced */
	int64_t since = c->polled_at;
	c->polled_at = now;
	if (atomic_exchange(&c->schedule_stale, false)) {
		int64_t next = store_next_publication(c->store, since);
		c->next_publication = next < 0 ? INT64_MAX : next;
		if (next < 0)
			atomic_store(&c->schedule_stale, true); /* look again next time */
	}
	if (now >= c->next_publication) {
		/* a scheduled story is public now: pages that list it must be rebuilt */
		moved = true;
		c->next_publication = INT64_MAX;
		atomic_store(&c->schedule_stale, true);
	}
	if (moved)
		atomic_fetch_add(&c->moves, 1);
}
