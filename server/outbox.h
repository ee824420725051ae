/* outbox.h - durable outbound deliveries (SPEC §13): webhooks (signed), WebSub pings and
 * cache purges, claimed from the store's outbox by one sender thread, sent with libcurl,
 * retried with backoff, logged, stopped in order. */
#ifndef GAZETTE_OUTBOX_H
#define GAZETTE_OUTBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct config;
struct store;

#define OUTBOX_TIMEOUT_MS   5000  /* one try's whole time, connecting included */
#define OUTBOX_LEASE_MS     15000 /* a claimed row is another worker's again after this */
#define OUTBOX_TRANSFERS    16    /* tries in flight at once */
#define OUTBOX_SCHEDULE_MAX 16    /* steps of a retry schedule */

/* How deliveries are made: from the configuration (config.h), copied by outbox_start. */
struct outbox_options {
	const char *base_url;    /* the feed's address for WebSub pings */
	const char *purge_url;   /* "" for none */
	const char *websub_hub;  /* "" for none */
	bool allow_private;      /* webhooks may reach loopback and private addresses */
	const unsigned *retry_s; /* seconds before each retry; the last repeats */
	size_t nretry;
	unsigned give_up_s; /* no retry later than this after the first try */
};

struct outbox;

/* Starts the sender thread over s: it claims due rows (when told by outbox_kick, and every
 * 250 ms for other instances' and scheduled ones) and delivers them. NULL with err filled
 * when libcurl cannot start. */
struct outbox *outbox_start(struct store *s, const struct outbox_options *o, struct buf *err);
/* Rows were written: look now (any thread; arg is the outbox, for store_on_outbox). */
void outbox_kick(void *arg);
/* Claims no more, lets tries in flight end (each within its timeout), gives back the rows
 * claimed and not tried, joins the thread and frees o. outbox_stop(NULL) does nothing. */
void outbox_stop(struct outbox *o);

/* --- the rules, public for their tests --- */

/* How long after a failed try (attempts tries made so far, 1 or more) the next one comes:
 * schedule[attempts - 1] seconds (the last step repeats), times 1 + 0.2 * jitter, jitter in
 * [-1, 1]. In milliseconds. */
int64_t outbox_backoff_ms(const unsigned *schedule, size_t n, int attempts, double jitter);

/* The Gazette-Signature header's value for body sent at unix time t under secret:
 * "t=T,v1=HEX", HEX = HMAC-SHA256(secret, "T." + body) in lowercase hex. */
void outbox_signature(const char *secret, int64_t t, const char *body, size_t len, struct buf *out);

/* Whether url may be a webhook's: http or https, a host, no user name or password, and,
 * unless allow_private, a host whose every address is public (address.h), a name resolved
 * on ob's resolver thread within 2 s (ob NULL: here, as long as the resolver takes). 0, or
 * -1 with why filled. */
int outbox_url_check(struct outbox *ob, const char *url, bool allow_private, char *why,
                     size_t why_len);

/* A webhook's fields from a request body: {"url", "events", "secret", "active"}. A new one
 * (partial false) needs url; events default to all of them, a secret is made when none is
 * given (at least 16 bytes when given). An edit (partial) takes any of them. Returns 0 with
 * *clean (the caller's) holding the checked fields, or -1 with why naming the field. */
int outbox_webhook_fields(struct outbox *ob, const json_t *in, bool partial, bool allow_private,
                          json_t **clean, char *why, size_t why_len);

/* Whether the webhook hook (as stored) is on and takes event: the one rule, for the rows a
 * change writes and for what a sender still sends. */
bool outbox_webhook_takes(const json_t *hook, const char *event);

/* Whether name is one of the events a webhook may take. */
bool outbox_event_known(const char *name);

#endif
