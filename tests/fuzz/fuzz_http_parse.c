/* fuzz_http_parse.c - libFuzzer target: any bytes as request fields for every parser of
 * http_parse.h. Dates that parse must format back to the same moment; framing decisions are
 * 0, 400 or 501 with a message; an address taken from X-Forwarded-For is an address. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http_parse.h"
#include "mem.h"

/* The input's lines as "name: value" header fields. */
static void framing(const char *s)
{
	struct http_framing f;
	memset(&f, 0, sizeof(f));
	char *copy = xstrdup(s), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		http_framing_add(&f, line, v);
	}
	for (int http11 = 0; http11 < 2; http11++) {
		const char *msg = NULL;
		unsigned st = http_framing_check(&f, http11, &msg);
		fuzz_check(st == 0 || st == 400 || st == 501, "framing status %u", st);
		fuzz_check(st == 0 || (msg && *msg), "status %u without a message", st);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);

	time_t t;
	if (http_date_parse(s, &t) && t >= 0 && t < 253402300800LL) {
		char out[HTTP_DATE_SIZE], again[HTTP_DATE_SIZE];
		http_date_format(t, out);
		time_t u;
		fuzz_check(http_date_parse(out, &u) && u == t, "'%s' -> %lld -> '%s'", s,
		           (long long)t, out);
		http_date_format(u, again);
		fuzz_check(strcmp(out, again) == 0, "'%s' formats two ways", s);
	}

	/* a list always matches an entity-tag it names as the first element */
	(void)http_etag_match(s, "\"0123456789abcdef\"");
	if (size < 60 && s[0] == '"' && strchr(s + 1, '"') == s + strlen(s) - 1 && strlen(s) > 1)
		fuzz_check(http_etag_match(s, s), "'%s' does not match itself", s);

	(void)http_accepts_gzip(s);
	(void)http_query_args(s);

	char addr[INET6_ADDRSTRLEN];
	memset(addr, 'x', sizeof(addr));
	if (http_forwarded_for(s, addr, sizeof(addr))) {
		fuzz_check(memchr(addr, '\0', sizeof(addr)) != NULL, "unterminated address");
		unsigned char bin[16];
		fuzz_check(inet_pton(AF_INET, addr, bin) == 1 ||
		               inet_pton(AF_INET6, addr, bin) == 1,
		           "'%s' is no address", addr);
	}
	framing(s);
	free(s);
	return 0;
}
