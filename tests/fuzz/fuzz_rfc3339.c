/* fuzz_rfc3339.c - libFuzzer target: any bytes as an RFC 3339 time; what parses must format
 * back to text that parses to the same moment and offset. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "mem.h"
#include "rfc3339.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	struct rfc3339 t, sentinel, u;
	memset(&sentinel, 0x5a, sizeof(sentinel));
	t = sentinel;
	if (rfc3339_parse(s, &t) < 0) {
		fuzz_check(memcmp(&t, &sentinel, sizeof(t)) == 0, "'%s' failed but wrote out", s);
		free(s);
		return 0;
	}
	fuzz_check(t.offset_min > -24 * 60 && t.offset_min < 24 * 60, "offset %d", t.offset_min);

	struct buf b = BUF_INIT;
	rfc3339_format(&b, &t);
	fuzz_check(rfc3339_parse(buf_str(&b), &u) == 0,
	           "'%s' formats as '%s', which does not parse", s, buf_str(&b));
	fuzz_check(u.utc == t.utc && u.offset_min == t.offset_min && u.zulu == t.zulu,
	           "'%s' -> '%s' -> utc %lld offset %d zulu %d, was %lld %d %d", s, buf_str(&b),
	           (long long)u.utc, u.offset_min, u.zulu, (long long)t.utc, t.offset_min, t.zulu);

	/* the UTC form (created_at, updated_at) must read back too */
	buf_reset(&b);
	rfc3339_format_utc(&b, t.utc);
	fuzz_check(rfc3339_parse(buf_str(&b), &u) == 0, "'%s' in UTC is '%s', which does not parse",
	           s, buf_str(&b));
	fuzz_check(u.utc == t.utc && u.offset_min == 0 && u.zulu, "'%s' -> '%s'", s, buf_str(&b));
	buf_cleanup(&b);
	free(s);
	return 0;
}
