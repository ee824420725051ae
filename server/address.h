/* address.h - which network addresses an outbound delivery may reach (SPEC §13): the guard
 * against webhooks that point back into the server's own network. */
#ifndef GAZETTE_ADDRESS_H
#define GAZETTE_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Whether sa (AF_INET or AF_INET6; anything else is refused) is a public unicast address:
 * false for loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local, shared
 * (100.64/10), unspecified, multicast, broadcast, documentation and benchmark ranges, and
 * for an IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4) whose IPv4
 * address is not public. When it returns false, why (why_len bytes; may be NULL) names the
 * range. */
bool address_is_public(const struct sockaddr *sa, char *why, size_t why_len);

/* The same for a numeric host as a URL may spell it ("127.0.0.1", "0x7f.1", "2130706433",
 * "[::ffff:127.0.0.1]", "::1"), read as the resolver reads it. Returns 1 public, 0 not
 * public (why filled), -1 when text is not a numeric address (a name to resolve). */
int address_text_is_public(const char *text, char *why, size_t why_len);

/* The address in sa as text (IPv6 in brackets), for messages. */
void address_text(const struct sockaddr *sa, char *out, size_t out_len);

#endif
