/* address.c - the outbound address guard: public unicast or not, by the IANA special-purpose
 * registries (RFC 6890 and its updates). */
#include "address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct range {
	uint8_t prefix[16];
	unsigned bits;
	const char *name;
};

static const struct range v4_ranges[] = {
    {{0}, 8, "this network (0.0.0.0/8)"},
    {{10}, 8, "private (10.0.0.0/8)"},
    {{100, 64}, 10, "shared address space (100.64.0.0/10)"},
    {{127}, 8, "loopback (127.0.0.0/8)"},
    {{169, 254}, 16, "link-local (169.254.0.0/16)"},
    {{172, 16}, 12, "private (172.16.0.0/12)"},
    {{192, 0, 0}, 24, "IETF protocol assignments (192.0.0.0/24)"},
    {{192, 0, 2}, 24, "documentation (192.0.2.0/24)"},
    {{192, 88, 99}, 24, "6to4 relay anycast (192.88.99.0/24)"},
    {{192, 168}, 16, "private (192.168.0.0/16)"},
    {{198, 18}, 15, "benchmarking (198.18.0.0/15)"},
    {{198, 51, 100}, 24, "documentation (198.51.100.0/24)"},
    {{203, 0, 113}, 24, "documentation (203.0.113.0/24)"},
    {{224}, 4, "multicast (224.0.0.0/4)"},
    {{240}, 4, "reserved (240.0.0.0/4)"},
};

static const struct range v6_ranges[] = {
    {{0}, 128, "unspecified (::)"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback (::1)"},
    {{0x01, 0x00}, 64, "discard-only (100::/64)"},
    {{0x20, 0x01, 0x00, 0x00}, 32, "Teredo (2001::/32)"},
    {{0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48, "benchmarking (2001:2::/48)"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation (2001:db8::/32)"},
    {{0x20, 0x01, 0x00, 0x10}, 28, "ORCHID (2001:10::/28)"},
    {{0xfc}, 7, "unique local (fc00::/7)"},
    {{0xfe, 0x80}, 10, "link-local (fe80::/10)"},
    {{0xfe, 0xc0}, 10, "site-local (fec0::/10)"},
    {{0xff}, 8, "multicast (ff00::/8)"},
};

static bool in_range(const uint8_t *addr, const struct range *r)
{
	unsigned full = r->bits / 8, rest = r->bits % 8;
	if (memcmp(addr, r->prefix, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (addr[full] & mask) == (r->prefix[full] & mask);
}

static void say(char *why, size_t why_len, const char *what)
{
	if (why && why_len)
		snprintf(why, why_len, "%s", what);
}

static bool v4_public(const uint8_t a[4], char *why, size_t why_len)
{
	if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255) {
		say(why, why_len, "broadcast (255.255.255.255)");
		return false;
	}
	for (size_t i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++)
		if (in_range(a, &v4_ranges[i])) {
			say(why, why_len, v4_ranges[i].name);
			return false;
		}
	return true;
}

/* IPv6 forms that carry an IPv4 address in them, and where it sits. */
static const struct range v6_carriers[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, "IPv4-mapped"},
    {{0}, 96, "IPv4-compatible"},
    {{0x00, 0x64, 0xff, 0x9b}, 96, "NAT64 (64:ff9b::/96)"},
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, "local NAT64 (64:ff9b:1::/48)"},
};

static bool v6_public(const uint8_t a[16], char *why, size_t why_len)
{
	for (size_t i = 0; i < sizeof(v6_ranges) / sizeof(v6_ranges[0]); i++)
		if (in_range(a, &v6_ranges[i])) {
			say(why, why_len, v6_ranges[i].name);
			return false;
		}
	for (size_t i = 0; i < sizeof(v6_carriers) / sizeof(v6_carriers[0]); i++)
		if (in_range(a, &v6_carriers[i])) {
			if (v6_carriers[i].bits == 48) {
				say(why, why_len, v6_carriers[i].name);
				return false;
			}
			return v4_public(a + 12, why, why_len);
		}
	/* 6to4 (2002::/16): the IPv4 address of its relay follows the prefix */
	if (a[0] == 0x20 && a[1] == 0x02)
		return v4_public(a + 2, why, why_len);
	if ((a[0] & 0xe0) != 0x20) {
		/* only 2000::/3 is global unicast */
		say(why, why_len, "not global unicast (outside 2000::/3)");
		return false;
	}
	return true;
}

bool address_is_public(const struct sockaddr *sa, char *why, size_t why_len)
{
	if (!sa) {
		say(why, why_len, "no address");
		return false;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return v4_public((const uint8_t *)&in->sin_addr, why, why_len);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		return v6_public(in6->sin6_addr.s6_addr, why, why_len);
	}
	say(why, why_len, "not an internet address");
	return false;
}

int address_text_is_public(const char *text, char *why, size_t why_len)
{
	char host[256];
	size_t len = strlen(text);
	if (len >= sizeof(host))
		return -1;
	/* a URL writes an IPv6 address in brackets */
	if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
		memcpy(host, text + 1, len - 2);
		host[len - 2] = '\0';
	} else {
		memcpy(host, text, len + 1);
	}
	/* an IPv6 zone ("fe80::1%eth0") names an interface: never a public address */
	if (strchr(host, '%') && strchr(host, ':')) {
		say(why, why_len, "an address with a zone (link-local)");
		return 0;
	}
	/* getaddrinfo reads numbers as the resolver does, inet_aton's spellings included
	 * (octal "0177.0.0.1", hexadecimal "0x7f.1", one number "2130706433", "127.1") */
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST, .ai_family = AF_UNSPEC};
	struct addrinfo *res = NULL;
	if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
		return -1;
	int rc = 1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		if (!address_is_public(ai->ai_addr, why, why_len)) {
			rc = 0;
			break;
		}
	freeaddrinfo(res);
	return rc;
}

void address_text(const struct sockaddr *sa, char *out, size_t out_len)
{
	char text[INET6_ADDRSTRLEN] = "?";
	if (sa && sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, text, sizeof(text));
		snprintf(out, out_len, "%s", text);
	} else if (sa && sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, text,
		          sizeof(text));
		snprintf(out, out_len, "[%s]", text);
	} else {
		snprintf(out, out_len, "%s", text);
	}
}

/* text as 4 (IPv4, or IPv6 that maps one) or 16 bytes; the length, or 0 when it is no
 * address. Only the plain spellings inet_pton takes: a configuration, not a URL. */
static size_t address_bytes(const char *text, unsigned char out[16])
{
	if (inet_pton(AF_INET, text, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, text, out) != 1)
		return 0;
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(out, mapped, sizeof(mapped)) == 0) {
		memmove(out, out + 12, 4);
		return 4;
	}
	return 16;
}

int address_range_parse(const char *text, struct address_range *r)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	if (len == 0 || len >= sizeof(addr))
		return -1;
	memcpy(addr, text, len);
	addr[len] = '\0';
	memset(r, 0, sizeof(*r));
	r->len = address_bytes(addr, r->bytes);
	if (r->len == 0)
		return -1;
	bool mapped = r->len == 4 && strchr(addr, ':');
	unsigned max = mapped ? 128 : (unsigned)r->len * 8, bits = max;
	if (slash) {
		const char *p = slash + 1;
		if (*p < '0' || *p > '9' || strlen(p) > 3)
			return -1;
		bits = 0;
		for (; *p >= '0' && *p <= '9'; p++)
			bits = bits * 10 + (unsigned)(*p - '0');
		if (*p || bits > max)
			return -1;
	}
	/* an IPv4-mapped prefix counts its bits in the IPv6 address */
	if (mapped) {
		if (bits < 96)
			return -1;
		bits -= 96;
	}
	r->bits = bits;
	/* the host bits are cleared: 10.1.2.3/8 is 10.0.0.0/8 */
	for (unsigned i = 0; i < r->len; i++) {
		unsigned keep = bits >= 8 ? 8 : bits;
		r->bytes[i] &= (unsigned char)(0xff00u >> keep);
		bits -= keep;
	}
	return 0;
}

bool address_in_ranges(const char *text, const struct address_range *ranges, size_t n)
{
	unsigned char a[16];
	size_t len = address_bytes(text, a);
	if (len == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct address_range *r = &ranges[i];
		if (r->len != len)
			continue;
		unsigned bits = r->bits;
		bool in = true;
		for (size_t j = 0; j < len && bits && in; j++) {
			unsigned keep = bits >= 8 ? 8 : bits;
			unsigned char mask = (unsigned char)(0xff00u >> keep);
			in = (a[j] & mask) == r->bytes[j];
			bits -= keep;
		}
		if (in)
			return true;
	}
	return false;
}
