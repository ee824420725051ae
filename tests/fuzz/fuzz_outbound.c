/* fuzz_outbound.c - libFuzzer target: any bytes as a webhook's fields (a request body), as a
 * host to classify and as a tag or handle to name in a Surrogate-Key. Nothing resolves a name
 * here (webhooks.allow_private on; the host check is numeric only), so no traffic leaves. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "address.h"
#include "buf.h"
#include "fuzz.h"
#include "mem.h"
#include "outbox.h"
#include "surrogate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);

	json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL), *clean = NULL;
	if (in) {
		for (int partial = 0; partial < 2; partial++) {
			char why[256] = "";
			int rc = outbox_webhook_fields(NULL, in, partial, true, &clean, why,
			                               sizeof(why));
			if (rc < 0) {
				fuzz_check(!clean && *why, "a refusal names no field");
				continue;
			}
			const char *k;
			json_t *v;
			json_object_foreach(clean, k, v)
			{
				fuzz_check(strcmp(k, "url") == 0 || strcmp(k, "events") == 0 ||
				               strcmp(k, "secret") == 0 || strcmp(k, "active") == 0,
				           "field %s let through", k);
			}
			const char *url = json_string_value(json_object_get(clean, "url"));
			fuzz_check(partial || url, "a new webhook without a url");
			json_decref(clean);
			clean = NULL;
		}
		json_decref(in);
	}

	char why[128];
	int pub = address_text_is_public(s, why, sizeof(why));
	fuzz_check(pub >= -1 && pub <= 1, "address check gave %d", pub);

	struct buf keys = BUF_INIT;
	surrogate_tag(&keys, s);
	surrogate_author(&keys, s);
	fuzz_check(surrogate_valid(buf_str(&keys)), "'%s' named as '%s'", s, buf_str(&keys));
	buf_cleanup(&keys);
	free(s);
	return 0;
}
