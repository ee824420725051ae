/* test_gate.c - the bound on work at once: places, the short wait, no bound at zero. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "gate.h"

static void test_places(void **state)
{
	(void)state;
	struct gate g;
	gate_init(&g, 2, 0);
	assert_int_equal(gate_enter(&g), 0);
	assert_int_equal(gate_enter(&g), 0);
	assert_int_equal(gate_enter(&g), -EAGAIN);
	gate_leave(&g);
	assert_int_equal(gate_enter(&g), 0);
	assert_int_equal(gate_enter(&g), -EAGAIN);
	gate_leave(&g);
	gate_leave(&g);
	assert_int_equal(g.taken, 0);
	gate_cleanup(&g);
	gate_init(&g, 0, 0); /* no bound */
	for (int i = 0; i < 100; i++)
		assert_int_equal(gate_enter(&g), 0);
	gate_cleanup(&g);
}

static void *leave_soon(void *arg)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	gate_leave(arg);
	return NULL;
}

static void test_wait(void **state)
{
	(void)state;
	struct gate g;
	gate_init(&g, 1, 5000);
	assert_int_equal(gate_enter(&g), 0);
	pthread_t t;
	pthread_create(&t, NULL, leave_soon, &g);
	/* the place comes free while this one waits */
	assert_int_equal(gate_enter(&g), 0);
	pthread_join(t, NULL);
	gate_leave(&g);
	gate_cleanup(&g);
	/* and a short wait ends with -EAGAIN */
	gate_init(&g, 1, 30);
	assert_int_equal(gate_enter(&g), 0);
	assert_int_equal(gate_enter(&g), -EAGAIN);
	gate_leave(&g);
	gate_cleanup(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_places),
	    cmocka_unit_test(test_wait),
	};
	return cmocka_run_group_tests_name("gate", tests, NULL, NULL);
}
