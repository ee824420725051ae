/* auth.h - bearer tokens: constant-time checks and a brake on repeated wrong tokens. */
#ifndef GAZETTE_AUTH_H
#define GAZETTE_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#define AUTH_MAX_FAILURES 10 /* wrong tokens per client within AUTH_WINDOW_S */
#define AUTH_WINDOW_S     60
#define AUTH_CLIENTS      4096 /* clients remembered; past it the least recent is forgotten */
#define AUTH_KEY_SIZE     56   /* an address, or an IPv6 prefix with "/64" */

struct auth;

/* token may be "" (writes disabled). Never returns NULL; free with auth_free. */
struct auth *auth_new(const char *token);
void auth_free(struct auth *a);

enum auth_result {
	AUTH_OK,
	AUTH_DISABLED, /* no token configured: 403 */
	AUTH_MISSING,  /* no or malformed Authorization header: 401 */
	AUTH_WRONG,    /* a token that does not match: 401 */
	AUTH_LIMITED,  /* too many wrong tokens from this client: 429 */
};

/* Checks an Authorization header value (may be NULL) from client at time now. Compares in
 * time independent of where the tokens differ. A wrong token counts against the client (its
 * exact address; an IPv6 address by its /64); no credentials at all never count. On
 * AUTH_LIMITED, *retry_after is the number of seconds to wait. */
enum auth_result auth_check(struct auth *a, const char *header, const char *client, int64_t now,
                            unsigned *retry_after);

/* Writes the key a client address is counted under: IPv4 and anything else as given, IPv6 as
 * its /64 prefix ("2001:db8:1:2::/64"). */
void auth_client_key(const char *client, char out[AUTH_KEY_SIZE]);

#endif
