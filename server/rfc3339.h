/* rfc3339.h - RFC 3339 timestamps: strict parsing with offsets, and formatting. */
#ifndef GAZETTE_RFC3339_H
#define GAZETTE_RFC3339_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* A moment and the offset it was written with. */
struct rfc3339 {
	int64_t utc;    /* seconds since 1970-01-01T00:00:00Z */
	int offset_min; /* minutes east of UTC */
	int zulu;       /* written as Z (or -00:00): format back as Z */
};

/* Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" exactly: real calendar dates only,
 * hours 00-23, no leap seconds, an offset required, nothing after it, and a moment whose UTC
 * is within the years 0000-9999. Fractions are accepted and dropped. Returns 0, or -1 with out
 * untouched. */
int rfc3339_parse(const char *s, struct rfc3339 *out);

/* Appends t as "YYYY-MM-DDTHH:MM:SS" plus "Z" or its offset. */
void rfc3339_format(struct buf *out, const struct rfc3339 *t);

/* Appends utc seconds as "YYYY-MM-DDTHH:MM:SSZ". */
void rfc3339_format_utc(struct buf *out, int64_t utc);

/* Days since the epoch of a proleptic Gregorian date (month 1-12). */
int64_t rfc3339_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
