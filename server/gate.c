/* gate.c - a counting semaphore with a timed wait on the monotonic clock. */
#include "gate.h"

#include <errno.h>
#include <time.h>

void gate_init(struct gate *g, unsigned places, unsigned wait_ms)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->freed, &ca);
	pthread_condattr_destroy(&ca);
	g->places = places;
	g->taken = 0;
	g->wait_ms = wait_ms;
}

void gate_cleanup(struct gate *g)
{
	pthread_cond_destroy(&g->freed);
	pthread_mutex_destroy(&g->lock);
}

int gate_enter(struct gate *g)
{
	if (!g->places)
		return 0;
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)(g->wait_ms % 1000) * 1000000L;
	until.tv_sec += g->wait_ms / 1000 + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	int rc = 0;
	pthread_mutex_lock(&g->lock);
	while (g->taken >= g->places && rc == 0)
		rc = pthread_cond_timedwait(&g->freed, &g->lock, &until);
	if (g->taken < g->places) {
		g->taken++;
		rc = 0;
	} else {
		rc = -EAGAIN;
	}
	pthread_mutex_unlock(&g->lock);
	return rc;
}

void gate_leave(struct gate *g)
{
	if (!g->places)
		return;
	pthread_mutex_lock(&g->lock);
	g->taken--;
	pthread_cond_signal(&g->freed);
	pthread_mutex_unlock(&g->lock);
}
