/* gate.h - a bound on work running at once: a few places, and a short wait for one. */
#ifndef GAZETTE_GATE_H
#define GAZETTE_GATE_H

#include <pthread.h>

/* Shared by threads. Zero places means no bound. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	unsigned places, taken, wait_ms;
};

/* places at once; one more waits up to wait_ms. Pair with gate_cleanup. */
void gate_init(struct gate *g, unsigned places, unsigned wait_ms);
void gate_cleanup(struct gate *g);

/* Takes a place, waiting up to wait_ms for one. Returns 0, or -EAGAIN when none came free. */
int gate_enter(struct gate *g);
/* Gives back a place gate_enter took. */
void gate_leave(struct gate *g);

#endif
