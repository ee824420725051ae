/* outbox.c - the sender: one thread, libcurl's multi interface, rows claimed from the store
 * and settled back in batches. What a try's outcome means (retry, give up, turn a webhook
 * off) is decided here; store.c applies it in one transaction. */
#include "outbox.h"

#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "log.h"
#include "mem.h"
#include "rfc3339.h"
#include "secret.h"
#include "store.h"
#include "worker.h"

#ifndef GAZETTE_VERSION
#define GAZETTE_VERSION "0.0.0"
#endif

#define POLL_MS       250 /* how often rows due elsewhere (other instances, scheduled) are looked for */
#define STOP_MS       (OUTBOX_TIMEOUT_MS + 1000) /* tries in flight at a stop get this long */
#define WHY_SIZE      200
#define RESOLVE_MS    2000 /* a webhook's name must resolve within this at its creation */
#define RETRY_SOON_MS 5000 /* a row the store could not prepare is given back for this long */

static const char *const events[] = {STORE_EVENT_PUBLISHED, STORE_EVENT_UPDATED,
                                     STORE_EVENT_UNPUBLISHED, STORE_EVENT_DELETED,
                                     STORE_EVENT_MEDIA};
#define NEVENTS (sizeof(events) / sizeof(events[0]))

/* One try in flight. */
struct transfer {
	struct store_outbox_row row; /* owned */
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	bool guarded; /* a webhook's: every address is checked before connecting */
	bool allow_private;
	char refused[WHY_SIZE * 2]; /* set by the guard */
	char error[CURL_ERROR_SIZE];
	int64_t started_ms;
	char delivery[40], event_id[40], event[40];
};

struct outbox {
	struct store *store;
	struct outbox_options o;
	unsigned retry_s[OUTBOX_SCHEDULE_MAX];
	CURLM *multi;
	struct worker_pool *thread;
	struct worker_pool *resolver; /* webhooks' names at their creation */
	atomic_bool stopping, kicked;
	struct transfer *active[OUTBOX_TRANSFERS];
	unsigned nactive;
	/* what ended, to be settled in one transaction */
	struct store_settle settle[OUTBOX_TRANSFERS * 2];
	char *settle_keys[OUTBOX_TRANSFERS * 2]; /* the webhook ids the settles point to */
	size_t nsettle;
};

/* --- rules --- */

int64_t outbox_backoff_ms(const unsigned *schedule, size_t n, int attempts, double jitter)
{
	if (n == 0)
		return 0;
	size_t step = attempts < 1 ? 0 : (size_t)attempts - 1;
	if (step >= n)
		step = n - 1;
	if (jitter < -1)
		jitter = -1;
	if (jitter > 1)
		jitter = 1;
	return (int64_t)((double)schedule[step] * 1000.0 * (1.0 + 0.2 * jitter));
}

void outbox_signature(const char *secret, int64_t t, const char *body, size_t len, struct buf *out)
{
	struct buf msg = BUF_INIT;
	buf_printf(&msg, "%lld.", (long long)t);
	buf_append(&msg, body, len);
	char hex[SECRET_HEX_LEN + 1];
	secret_hmac_hex(secret, strlen(secret), msg.data, msg.len, hex);
	buf_printf(out, "t=%lld,v1=%s", (long long)t, hex);
	buf_cleanup(&msg);
}

bool outbox_event_known(const char *name)
{
	for (size_t i = 0; i < NEVENTS; i++)
		if (strcmp(events[i], name) == 0)
			return true;
	return false;
}

/* A name being resolved on the outbox's resolver thread: the asker and the thread each hold
 * a reference, so that an asker that stops waiting leaves the lookup to the thread. */
struct lookup {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	bool done;
	int refs;
	char *host;
	struct addrinfo *res; /* NULL: the name has no address */
};

static void lookup_release(struct lookup *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	bool last = --l->refs == 0;
	pthread_mutex_unlock(&l->lock);
	if (!last)
		return;
	if (l->res)
		freeaddrinfo(l->res);
	free(l->host);
	pthread_cond_destroy(&l->done_cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static void lookup_run(void *arg)
{
	struct lookup *l = arg;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	if (getaddrinfo(l->host, NULL, &hints, &res) != 0)
		res = NULL;
	pthread_mutex_lock(&l->lock);
	l->res = res;
	l->done = true;
	pthread_cond_signal(&l->done_cond);
	pthread_mutex_unlock(&l->lock);
	lookup_release(l);
}

/* host's addresses: on ob's resolver thread, waited for at most timeout_ms (a request thread
 * never waits longer on a resolver that does not answer), or here when ob is NULL. The
 * lookup (release it; its res NULL when the name has none), or NULL when the time ran out or
 * the resolver was busy. */
static struct lookup *resolve(struct outbox *ob, const char *host, unsigned timeout_ms)
{
	struct lookup *l = xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->done_cond, NULL);
	l->host = xstrdup(host);
	l->refs = 2;
	if (!ob) {
		lookup_run(l);
		return l;
	}
	if (worker_submit(ob->resolver, lookup_run, l) < 0) {
		l->refs = 1;
		lookup_release(l);
		return NULL;
	}
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline); /* pthread_cond_timedwait's clock */
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&l->lock);
	int rc = 0;
	while (!l->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&l->done_cond, &l->lock, &deadline);
	bool done = l->done;
	pthread_mutex_unlock(&l->lock);
	if (!done) {
		lookup_release(l);
		return NULL;
	}
	return l;
}

int outbox_url_check(struct outbox *ob, const char *url, bool allow_private, char *why,
                     size_t why_len)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL;
	int rc = -1;
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		snprintf(why, why_len, "url: not an absolute URL");
		goto out;
	}
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_get(u, CURLUPART_PASSWORD, &password, 0);
	if (!scheme || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		snprintf(why, why_len, "url: only http and https URLs are delivered to");
		goto out;
	}
	if (!host || !*host) {
		snprintf(why, why_len, "url: has no host");
		goto out;
	}
	if (user || password) {
		snprintf(
		    why, why_len,
		    "url: must not hold a user name or password (the signature proves the sender)");
		goto out;
	}
	if (allow_private) {
		rc = 0;
		goto out;
	}
	char range[WHY_SIZE / 2];
	int pub = address_text_is_public(host, range, sizeof(range));
	if (pub == 1) {
		rc = 0;
	} else if (pub == 0) {
		snprintf(why, why_len, "url: %s is a %s address (webhooks.allow_private is off)",
		         host, range);
	} else {
		/* a name: every address it has now must be public (and each is checked again when
		 * a try connects, since names change) */
		struct lookup *l = resolve(ob, host, RESOLVE_MS);
		struct addrinfo *res = l ? l->res : NULL;
		if (!res) {
			snprintf(why, why_len, "url: the host %s cannot be resolved%s", host,
			         l ? "" : " within 2 s");
			lookup_release(l);
			goto out;
		}
		rc = 0;
		for (struct addrinfo *ai = res; ai && rc == 0; ai = ai->ai_next)
			if (!address_is_public(ai->ai_addr, range, sizeof(range))) {
				char text[64];
				address_text(ai->ai_addr, text, sizeof(text));
				snprintf(why, why_len,
				         "url: %s resolves to %s, a %s address "
				         "(webhooks.allow_private is "
				         "off)",
				         host, text, range);
				rc = -1;
			}
		lookup_release(l);
	}
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(password);
	curl_url_cleanup(u);
	return rc;
}

int outbox_webhook_fields(struct outbox *ob, const json_t *in, bool partial, bool allow_private,
                          json_t **clean, char *why, size_t why_len)
{
	*clean = NULL;
	if (!json_is_object(in)) {
		snprintf(why, why_len, "the body must be a JSON object");
		return -1;
	}
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)in, k, v)
	{
		if (strcmp(k, "url") == 0) {
			const char *url = json_string_value(v);
			if (!url || strlen(url) > 2000) {
				snprintf(why, why_len,
				         "url: must be a string of at most 2000 bytes");
				goto bad;
			}
			if (outbox_url_check(ob, url, allow_private, why, why_len) < 0)
				goto bad;
			json_object_set(out, "url", v);
		} else if (strcmp(k, "events") == 0) {
			size_t i;
			json_t *e;
			if (!json_is_array(v) || json_array_size(v) == 0) {
				snprintf(why, why_len,
				         "events: must be a non-empty array of event names");
				goto bad;
			}
			json_array_foreach(v, i, e)
			{
				if (!json_is_string(e) ||
				    !outbox_event_known(json_string_value(e))) {
					snprintf(
					    why, why_len,
					    "events: item %zu is not one of article.published, "
					    "article.updated, article.unpublished, "
					    "article.deleted, "
					    "media.created",
					    i);
					goto bad;
				}
			}
			json_object_set(out, "events", v);
		} else if (strcmp(k, "secret") == 0) {
			const char *sec = json_string_value(v);
			size_t len = sec ? strlen(sec) : 0;
			if (!sec || len < 16 || len > 256) {
				snprintf(why, why_len,
				         "secret: must be a string of 16 to 256 bytes");
				goto bad;
			}
			json_object_set(out, "secret", v);
		} else if (strcmp(k, "active") == 0) {
			if (!json_is_boolean(v)) {
				snprintf(why, why_len, "active: must be true or false");
				goto bad;
			}
			json_object_set(out, "active", v);
		} else {
			snprintf(why, why_len,
			         "%s: not a field of a webhook (url, events, secret, active)", k);
			goto bad;
		}
	}
	if (!partial && !json_object_get(out, "url")) {
		snprintf(why, why_len, "url: is required");
		goto bad;
	}
	if (!partial && !json_object_get(out, "events")) {
		json_t *all = json_array();
		for (size_t i = 0; i < NEVENTS; i++)
			json_array_append_new(all, json_string(events[i]));
		json_object_set_new(out, "events", all);
	}
	if (!partial && !json_object_get(out, "secret")) {
		char hex[65];
		if (secret_random_hex(32, hex) < 0) {
			snprintf(why, why_len, "secret: none could be made");
			goto bad;
		}
		char *sec = xasprintf("whsec_%s", hex);
		json_object_set_new(out, "secret", json_string(sec));
		free(sec);
	}
	*clean = out;
	return 0;
bad:
	json_decref(out);
	return -1;
}

/* --- the sender --- */

static double jitter(void)
{
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return 0;
	return (double)r / (double)UINT32_MAX * 2.0 - 1.0;
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
	return size * n;
}

/* libcurl's socket for each address it is about to connect to: a webhook's must be public
 * unless allowed. This is the address connected to, after any resolution, so a name that
 * changes its answer between the check and the connection (DNS rebinding) gains nothing. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct transfer *t = arg;
	if (t->guarded && !t->allow_private) {
		char range[WHY_SIZE / 2], text[64];
		if (!address_is_public(&a->addr, range, sizeof(range))) {
			address_text(&a->addr, text, sizeof(text));
			snprintf(t->refused, sizeof(t->refused),
			         "refused to connect to %s, a %s address (webhooks.allow_private "
			         "is off)",
			         text, range);
			return CURL_SOCKET_BAD;
		}
	}
	return socket(a->family, a->socktype, a->protocol);
}

static void transfer_free(struct transfer *t)
{
	if (!t)
		return;
	if (t->easy)
		curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->headers);
	free(t->body);
	free(t->row.kind);
	free(t->row.target);
	free(t->row.hold);
	free(t->row.doc);
	free(t);
}

static void header(struct transfer *t, const char *fmt, const char *value)
{
	char *line = xasprintf(fmt, value);
	t->headers = curl_slist_append(t->headers, line);
	free(line);
}

/* A settle for row, its webhook's id copied so that it outlives the row. */
static struct store_settle *settle_add(struct outbox *ob, const struct store_outbox_row *row)
{
	struct store_settle *x = &ob->settle[ob->nsettle];
	memset(x, 0, sizeof(*x));
	x->row = row->id;
	x->lease_ms = row->lease_ms;
	if (strcmp(row->kind, STORE_OUTBOX_WEBHOOK) == 0) {
		ob->settle_keys[ob->nsettle] = xstrdup(row->target);
		x->webhook = ob->settle_keys[ob->nsettle];
	}
	ob->nsettle++;
	return x;
}

static void settle_flush(struct outbox *ob)
{
	if (!ob->nsettle)
		return;
	int rc = store_outbox_settle(ob->store, ob->settle, ob->nsettle, store_clock_ms() / 1000);
	if (rc < 0)
		log_warn(
		    "outbox: %zu outcomes could not be stored (%s); their rows are tried again "
		    "once their claim runs out",
		    ob->nsettle, strerror(-rc));
	for (size_t i = 0; i < ob->nsettle; i++) {
		json_decref(ob->settle[i].entry);
		free(ob->settle_keys[i]);
		ob->settle_keys[i] = NULL;
		free((char *)ob->settle[i].disable);
	}
	ob->nsettle = 0;
}

/* Sets up the try of row; NULL when there is nothing to send (its webhook is gone or off,
 * its document unreadable), with the row settled away. Takes row's strings. */
static const char *text_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

bool outbox_webhook_takes(const json_t *hook, const char *event)
{
	if (!json_is_true(json_object_get(hook, "active")))
		return false;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(hook, "events"), i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), event) == 0)
			return true;
	}
	return false;
}

static struct transfer *prepare(struct outbox *ob, struct store_outbox_row *row)
{
	struct transfer *t = xcalloc(1, sizeof(*t));
	t->row = *row;
	memset(row, 0, sizeof(*row));
	json_t *doc = json_loads(t->row.doc, 0, NULL);
	json_t *hook = NULL;
	const char *url = NULL;
	bool ok = doc != NULL, later = false;
	t->easy = curl_easy_init();
	if (!t->easy) {
		ok = false;
		later = true;
	}
	if (ok && strcmp(t->row.kind, STORE_OUTBOX_WEBHOOK) == 0) {
		char *end;
		long long id = strtoll(t->row.target, &end, 10);
		int rc = *end ? -ENOENT : store_webhook_get(ob->store, id, &hook);
		json_t *ev = json_object_get(doc, "event");
		if (rc < 0 && rc != -ENOENT)
			later = true; /* the store failed, not the webhook: try again in a moment */
		/* gone, turned off, or no longer taking this event (a scheduled one was written
		 * before an edit of the webhook): nothing to send */
		ok = rc == 0 && outbox_webhook_takes(hook, text_of(ev, "event"));
		if (ok) {
			url = json_string_value(json_object_get(hook, "url"));
			t->body = json_dumps(ev, JSON_COMPACT);
			snprintf(t->delivery, sizeof(t->delivery), "%s", text_of(doc, "delivery"));
			snprintf(t->event_id, sizeof(t->event_id), "%s", text_of(ev, "id"));
			snprintf(t->event, sizeof(t->event), "%s", text_of(ev, "event"));
			ok = url && t->body;
		}
		if (ok) {
			struct buf sig = BUF_INIT;
			outbox_signature(text_of(hook, "secret"), store_clock_ms() / 1000, t->body,
			                 strlen(t->body), &sig);
			header(t, "Content-Type: %s", "application/json");
			header(t, "Gazette-Event: %s", t->event);
			header(t, "Gazette-Delivery: %s", t->delivery);
			header(t, "Gazette-Signature: %s", buf_str(&sig));
			buf_cleanup(&sig);
			curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body);
			curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(t->body));
			t->guarded = true;
			t->allow_private = ob->o.allow_private;
		}
	} else if (ok && strcmp(t->row.kind, STORE_OUTBOX_PURGE) == 0) {
		url = ob->o.purge_url;
		const char *keys = json_string_value(json_object_get(doc, "keys"));
		ok = *url && keys;
		if (ok) {
			header(t, "Surrogate-Key: %s", keys);
			curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, "BAN");
		}
	} else if (ok && strcmp(t->row.kind, STORE_OUTBOX_WEBSUB) == 0) {
		url = ob->o.websub_hub;
		ok = *url;
		if (ok) {
			char *feed = xasprintf("%s/feed.xml", ob->o.base_url);
			char *esc = curl_easy_escape(t->easy, feed, 0);
			t->body = xasprintf("hub.mode=publish&hub.url=%s", esc ? esc : "");
			curl_free(esc);
			free(feed);
			header(t, "Content-Type: %s", "application/x-www-form-urlencoded");
			curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body);
			curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(t->body));
		}
	} else {
		ok = false;
	}
	if (ok) {
		header(t, "User-Agent: %s", "Gazette/" GAZETTE_VERSION);
		header(t, "%s", "Expect:"); /* no 100-continue round trip */
		curl_easy_setopt(t->easy, CURLOPT_URL, url);
		curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
		curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, (long)OUTBOX_TIMEOUT_MS);
		curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
		/* never through a proxy from the environment: the guard checks what is connected to
		 */
		curl_easy_setopt(t->easy, CURLOPT_PROXY, "");
		curl_easy_setopt(t->easy, CURLOPT_NOPROXY, "*");
		curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(t->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
		curl_easy_setopt(t->easy, CURLOPT_OPENSOCKETDATA, t);
		curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->error);
		curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	}
	json_decref(doc);
	json_decref(hook);
	if (!ok) {
		/* nothing to deliver to any more: the row goes without a try; or it is given back
		 * for a moment, its tries not counted */
		struct store_settle *x = settle_add(ob, &t->row);
		if (later) {
			x->retry = true;
			x->due_ms = store_clock_ms() + RETRY_SOON_MS;
			x->attempts = t->row.attempts;
		}
		transfer_free(t);
		return NULL;
	}
	t->started_ms = store_clock_ms();
	return t;
}

static json_t *time_json_ms(int64_t ms)
{
	struct buf b = BUF_INIT;
	rfc3339_format_utc(&b, ms / 1000);
	json_t *j = json_string(buf_str(&b));
	buf_cleanup(&b);
	return j;
}

/* What the try's outcome means, as a settle (and a log line for a webhook). */
static void finished(struct outbox *ob, struct transfer *t, CURLcode result)
{
	int64_t now = store_clock_ms();
	long status = 0;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	char error[WHY_SIZE * 2 + CURL_ERROR_SIZE + 4] = "";
	if (result != CURLE_OK && *t->refused)
		/* an address refused, and no other one worked */
		snprintf(error, sizeof(error), "%s; %s", t->refused,
		         *t->error ? t->error : curl_easy_strerror(result));
	else if (result == CURLE_OPERATION_TIMEDOUT)
		snprintf(error, sizeof(error), "timed out after %d ms", OUTBOX_TIMEOUT_MS);
	else if (result != CURLE_OK)
		snprintf(error, sizeof(error), "%s",
		         *t->error ? t->error : curl_easy_strerror(result));
	else if (status >= 300 && status < 400)
		snprintf(error, sizeof(error), "answered %ld: redirects are not followed", status);
	else if (status < 200 || status >= 300)
		snprintf(error, sizeof(error), "answered %ld", status);
	bool ok = !*error;
	struct store_settle *x = settle_add(ob, &t->row);
	int attempts = t->row.attempts + 1;
	const char *outcome = "delivered";
	int64_t next = 0;
	bool webhook = x->webhook != NULL;
	if (!ok && webhook && status == 410) {
		outcome = "disabled";
		x->disable = xstrdup("the receiver answered 410 Gone");
	} else if (!ok) {
		next = now + outbox_backoff_ms(ob->retry_s, ob->o.nretry, attempts, jitter());
		if (next > t->row.first_ms + (int64_t)ob->o.give_up_s * 1000) {
			outcome = webhook ? "disabled" : "failed";
			if (webhook)
				x->disable =
				    xasprintf("no try succeeded in %u s (%d tries); the last: %s",
				              ob->o.give_up_s, attempts, error);
			next = 0;
		} else {
			outcome = "retrying";
			x->retry = true;
			x->due_ms = next;
			x->attempts = attempts;
		}
	}
	if (!ok && !webhook)
		log_warn("outbox: %s to %s: %s (try %d, %s)", t->row.kind,
		         strcmp(t->row.kind, STORE_OUTBOX_PURGE) == 0 ? "purge.url"
		                                                      : "feeds.websub_hub",
		         error, attempts, outcome);
	if (webhook) {
		x->entry =
		    json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:I, s:s, s:o}", "delivery",
		              t->delivery, "event", t->event, "event_id", t->event_id, "attempt",
		              attempts, "at", time_json_ms(t->started_ms), "status",
		              status ? json_integer(status) : json_null(), "error",
		              ok ? json_null() : json_string(error), "duration_ms",
		              (json_int_t)(now - t->started_ms), "outcome", outcome, "next_at",
		              next ? time_json_ms(next) : json_null());
	}
}

/* Claims what is due, as many as there is room for, and starts their tries. */
static void claim(struct outbox *ob)
{
	unsigned room = OUTBOX_TRANSFERS - ob->nactive;
	/* settles are batched to at most two per slot: flush before taking more */
	if (room == 0 || ob->nsettle + room > sizeof(ob->settle) / sizeof(ob->settle[0]))
		return;
	struct store_outbox_rows rows;
	int rc = store_outbox_claim(ob->store, store_clock_ms(), OUTBOX_LEASE_MS, room, &rows);
	if (rc < 0)
		return; /* the store said why in the log; the next poll tries again */
	for (size_t i = 0; i < rows.n; i++) {
		/* a try of ours that outlived its lease (a slow store) was claimed again: it is
		 * still the one in flight, under the new lease */
		struct transfer *mine = NULL;
		for (unsigned j = 0; j < ob->nactive && !mine; j++)
			if (ob->active[j]->row.id == rows.items[i].id)
				mine = ob->active[j];
		if (mine) {
			mine->row.lease_ms = rows.items[i].lease_ms;
			continue;
		}
		struct transfer *t = prepare(ob, &rows.items[i]);
		if (!t)
			continue;
		if (curl_multi_add_handle(ob->multi, t->easy) != CURLM_OK) {
			/* given back at once */
			struct store_settle *x = settle_add(ob, &t->row);
			x->retry = true;
			x->due_ms = store_clock_ms();
			x->attempts = t->row.attempts;
			transfer_free(t);
			continue;
		}
		ob->active[ob->nactive++] = t;
	}
	if (rows.n == room)
		atomic_store(&ob->kicked, true); /* there may be more */
	store_outbox_rows_cleanup(&rows);
}

static void drop_active(struct outbox *ob, struct transfer *t)
{
	for (unsigned i = 0; i < ob->nactive; i++)
		if (ob->active[i] == t) {
			ob->active[i] = ob->active[--ob->nactive];
			break;
		}
	curl_multi_remove_handle(ob->multi, t->easy);
	transfer_free(t);
}

static void run(void *arg)
{
	struct outbox *ob = arg;
	int64_t polled = 0, stop_deadline = 0;
	for (;;) {
		bool stopping = atomic_load(&ob->stopping);
		int64_t now = store_clock_ms();
		if (stopping && !stop_deadline)
			stop_deadline = now + STOP_MS;
		if (!stopping && (atomic_exchange(&ob->kicked, false) || now - polled >= POLL_MS)) {
			polled = now;
			claim(ob);
		}
		int running = 0;
		curl_multi_perform(ob->multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(ob->multi, &left)) != NULL) {
			if (m->msg != CURLMSG_DONE)
				continue;
			struct transfer *t = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			CURLcode result = m->data.result;
			finished(ob, t, result);
			drop_active(ob, t);
		}
		if (stopping && (ob->nactive == 0 || store_clock_ms() >= stop_deadline)) {
			/* what is still in flight is given back, due at once, its try not counted
			 */
			while (ob->nactive) {
				struct transfer *t = ob->active[0];
				if (ob->nsettle == sizeof(ob->settle) / sizeof(ob->settle[0]))
					settle_flush(ob);
				struct store_settle *x = settle_add(ob, &t->row);
				x->retry = true;
				x->due_ms = store_clock_ms();
				x->attempts = t->row.attempts;
				drop_active(ob, t);
			}
			settle_flush(ob);
			return;
		}
		settle_flush(ob);
		curl_multi_poll(ob->multi, NULL, 0, ob->nactive ? 50 : POLL_MS, NULL);
	}
}

struct outbox *outbox_start(struct store *s, const struct outbox_options *o, struct buf *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		buf_puts(err, "outbox: libcurl could not start");
		return NULL;
	}
	struct outbox *ob = xcalloc(1, sizeof(*ob));
	ob->store = s;
	ob->o = *o;
	ob->o.base_url = xstrdup(o->base_url ? o->base_url : "");
	ob->o.purge_url = xstrdup(o->purge_url ? o->purge_url : "");
	ob->o.websub_hub = xstrdup(o->websub_hub ? o->websub_hub : "");
	ob->o.nretry = o->nretry > OUTBOX_SCHEDULE_MAX ? OUTBOX_SCHEDULE_MAX : o->nretry;
	memcpy(ob->retry_s, o->retry_s, ob->o.nretry * sizeof(unsigned));
	ob->o.retry_s = ob->retry_s;
	atomic_init(&ob->stopping, false);
	atomic_init(&ob->kicked, true);
	ob->multi = curl_multi_init();
	if (!ob->multi) {
		buf_puts(err, "outbox: libcurl could not start");
		outbox_stop(ob);
		return NULL;
	}
	ob->resolver = worker_pool_new("resolver", 1, 8);
	ob->thread = worker_pool_new("outbox", 1, 1);
	if (worker_submit(ob->thread, run, ob) < 0) {
		buf_puts(err, "outbox: its thread could not start");
		outbox_stop(ob);
		return NULL;
	}
	return ob;
}

void outbox_kick(void *arg)
{
	struct outbox *ob = arg;
	if (!ob)
		return;
	atomic_store(&ob->kicked, true);
	curl_multi_wakeup(ob->multi);
}

void outbox_stop(struct outbox *ob)
{
	if (!ob)
		return;
	atomic_store(&ob->stopping, true);
	if (ob->multi)
		curl_multi_wakeup(ob->multi);
	worker_pool_free(ob->thread); /* the loop ends: in flight finished or given back */
	worker_pool_free(ob->resolver);
	if (ob->multi)
		curl_multi_cleanup(ob->multi);
	free((char *)ob->o.base_url);
	free((char *)ob->o.purge_url);
	free((char *)ob->o.websub_hub);
	free(ob);
	curl_global_cleanup();
}
