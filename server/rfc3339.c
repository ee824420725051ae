/* rfc3339.c - RFC 3339 parsing and formatting without the C library's locale or time zone. */
#include "rfc3339.h"

#include <stdbool.h>
#include <stdio.h>

/* Howard Hinnant's days_from_civil: exact for every Gregorian date. */
int64_t rfc3339_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

int rfc3339_parse(const char *s, struct rfc3339 *out)
{
	int y, mo, d, h, mi, sec;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		const char *start = p;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p == start || p - start > 9)
			return -1;
	}
	int offset = 0;
	bool zulu = false;
	if (*p == 'Z' || *p == 'z') {
		zulu = true;
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 ||
		    om > 59)
			return -1;
		offset = (oh * 60 + om) * (*p == '-' ? -1 : 1);
		/* RFC 3339 4.3: -00:00 means the offset is unknown; UTC is what it denotes */
		if (*p == '-' && offset == 0)
			zulu = true;
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	int64_t days = rfc3339_days_from_civil(y, (unsigned)mo, (unsigned)d);
	int64_t utc = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset * 60;
	/* an offset can carry the moment past year 0000 or 9999, and its UTC form (created_at,
	 * updated_at) would then not be RFC 3339 */
	if (utc < rfc3339_days_from_civil(0, 1, 1) * 86400 ||
	    utc >= rfc3339_days_from_civil(10000, 1, 1) * 86400)
		return -1;
	out->utc = utc;
	out->offset_min = offset;
	out->zulu = zulu;
	return 0;
}

static void format_at(struct buf *out, int64_t local)
{
	int64_t days = local / 86400, rem = local % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	buf_printf(out, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, m, d, (int)(rem / 3600),
	           (int)(rem / 60 % 60), (int)(rem % 60));
}

void rfc3339_format(struct buf *out, const struct rfc3339 *t)
{
	if (t->zulu) {
		rfc3339_format_utc(out, t->utc);
		return;
	}
	format_at(out, t->utc + (int64_t)t->offset_min * 60);
	int off = t->offset_min < 0 ? -t->offset_min : t->offset_min;
	buf_printf(out, "%c%02d:%02d", t->offset_min < 0 ? '-' : '+', off / 60, off % 60);
}

void rfc3339_format_utc(struct buf *out, int64_t utc)
{
	format_at(out, utc);
	buf_putc(out, 'Z');
}
