/* worker.h - named worker threads for work that must not run on a request thread (image
 * renditions), with a bounded queue and an ordered shutdown (SPEC §9). */
#ifndef GAZETTE_WORKER_H
#define GAZETTE_WORKER_H

struct worker_pool;

/* threads workers named name (at most 15 bytes, for ps and gdb), and at most queue_max jobs
 * waiting beyond the ones running. Free with worker_pool_free. */
struct worker_pool *worker_pool_new(const char *name, unsigned threads, unsigned queue_max);

/* Hands fn(arg) to a worker. Returns 0 (fn will run exactly once), -EAGAIN when the queue is
 * full or -ESHUTDOWN once the pool is stopping (fn will not run; arg stays the caller's). */
int worker_submit(struct worker_pool *p, void (*fn)(void *arg), void *arg);

/* Stops taking jobs, runs every job already taken, then joins the threads and frees p.
 * worker_pool_free(NULL) does nothing. */
void worker_pool_free(struct worker_pool *p);

#endif
