/* worker.c - a fixed set of threads running queued jobs, bounded, drained on shutdown. */
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"

struct job {
	struct job *next;
	void (*fn)(void *arg);
	void *arg;
};

struct worker_pool {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	struct job *head, *tail;
	unsigned queued, queue_max;
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
};

static void *run(void *arg)
{
	struct worker_pool *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stopping)
			pthread_cond_wait(&p->ready, &p->lock);
		struct job *j = p->head;
		if (!j)
			break; /* stopping, and nothing left to run */
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->lock);
		j->fn(j->arg);
		free(j);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct worker_pool *worker_pool_new(const char *name, unsigned threads, unsigned queue_max)
{
	struct worker_pool *p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->ready, NULL);
	p->queue_max = queue_max;
	p->threads = xcalloc(threads ? threads : 1, sizeof(pthread_t));
	for (unsigned i = 0; i < (threads ? threads : 1); i++) {
		int rc = pthread_create(&p->threads[i], NULL, run, p);
		if (rc != 0) {
			log_error("worker %s: thread %u: %s", name, i, strerror(rc));
			break;
		}
		char label[24];
		snprintf(label, sizeof(label), "%.11s-%u", name, i % 100);
		label[15] = '\0';
		pthread_setname_np(p->threads[i], label);
		p->nthreads++;
	}
	return p;
}

int worker_submit(struct worker_pool *p, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&p->lock);
	int rc = p->stopping || p->nthreads == 0 ? -ESHUTDOWN
	         : p->queued >= p->queue_max     ? -EAGAIN
	                                         : 0;
	if (rc == 0) {
		struct job *j = xcalloc(1, sizeof(*j));
		j->fn = fn;
		j->arg = arg;
		if (p->tail)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		p->queued++;
		pthread_cond_signal(&p->ready);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void worker_pool_free(struct worker_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->ready);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	pthread_cond_destroy(&p->ready);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
