/* address.h - which network addresses an outbound delivery may reach (SPEC §13): the guard
 * against webhooks that point back into the server's own network; and the ranges of client
 * addresses an allow-list names (metrics.allow, SPEC §16). */
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

/* A range of client addresses, as metrics.allow lists them (SPEC §16). */
struct address_range {
	unsigned char bytes[16]; /* host bits cleared */
	size_t len;              /* 4 (IPv4, and IPv6 that maps one) or 16 */
	unsigned bits;           /* of the prefix */
};

/* Parses "127.0.0.0/8", "::1", "fd00::/8", "192.0.2.7" (all of it) into r; an IPv4-mapped
 * IPv6 range ("::ffff:10.0.0.0/104") is the IPv4 one. Returns 0, or -1 when text is not one
 * (a name, a prefix longer than the address). */
int address_range_parse(const char *text, struct address_range *r);

/* Whether the numeric address text (a client's, IPv6 without brackets; IPv4-mapped IPv6 is
 * its IPv4 address) is in one of the n ranges. False for anything that is not an address. */
bool address_in_ranges(const char *text, const struct address_range *ranges, size_t n);

#endif
