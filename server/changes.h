/* changes.h - the content generation: one number that moves whenever anything a cached answer
 * shows may have changed (SPEC §9). */
#ifndef GAZETTE_CHANGES_H
#define GAZETTE_CHANGES_H

#include <stdint.h>

struct render;
struct store;

struct changes;

/* Watches store (its commits, from the moment this is made) and render (template reloads;
 * NULL: none). Never returns NULL; free with changes_free before the store closes. */
struct changes *changes_new(struct store *store, struct render *render);
void changes_free(struct changes *c);

/* The generation now: it moves with every commit of this process, every write of another
 * process seen by changes_poll, every scheduled publication time changes_poll passed, and
 * every template reload. */
uint64_t changes_generation(const struct changes *c);

/* Looks for writes by other processes and for scheduled stories that became public since the
 * last call. Call it every few hundred ms, from one thread. */
void changes_poll(struct changes *c, int64_t now);

#endif
