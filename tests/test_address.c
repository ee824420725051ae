/* test_address.c - the outbound address guard over every spelling of the special ranges. No
 * traffic: addresses are read as numbers and classified, never connected to. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"

static void refused(const char *text, const char *range)
{
	char why[128] = "";
	int rc = address_text_is_public(text, why, sizeof(why));
	if (rc != 0)
		fail_msg("%s: expected refused (%s), got %d", text, range, rc);
	if (!strstr(why, range))
		fail_msg("%s: expected the reason to name '%s', got '%s'", text, range, why);
}

static void allowed(const char *text)
{
	char why[128] = "";
	int rc = address_text_is_public(text, why, sizeof(why));
	if (rc != 1)
		fail_msg("%s: expected public, got %d (%s)", text, rc, why);
}

static void test_ipv4(void **state)
{
	(void)state;
	refused("127.0.0.1", "loopback");
	refused("127.255.255.254", "loopback");
	refused("10.1.2.3", "private");
	refused("172.16.0.1", "private");
	refused("172.31.255.255", "private");
	refused("192.168.1.1", "private");
	refused("169.254.169.254", "link-local"); /* the cloud metadata address */
	refused("100.64.0.1", "shared");
	refused("0.0.0.0", "this network");
	refused("224.0.0.1", "multicast");
	refused("255.255.255.255", "broadcast");
	refused("240.0.0.1", "reserved");
	refused("192.0.2.1", "documentation");
	refused("198.18.0.1", "benchmarking");
	allowed("93.184.216.34");
	allowed("8.8.8.8");
	allowed("172.32.0.1");  /* just past 172.16/12 */
	allowed("100.128.0.1"); /* just past 100.64/10 */
	allowed("11.0.0.1");
}

static void test_spellings(void **state)
{
	(void)state;
	/* what inet_aton (and so a resolver, and a URL's host) reads as 127.0.0.1 */
	refused("2130706433", "loopback");
	refused("0x7f000001", "loopback");
	refused("0177.0.0.1", "loopback");
	refused("0x7f.1", "loopback");
	refused("127.1", "loopback");
	refused("017700000001", "loopback");
	refused("0xa9.0xfe.0xa9.0xfe", "link-local");
	/* IPv6 spellings, with and without a URL's brackets */
	refused("::1", "loopback");
	refused("[::1]", "loopback");
	refused("0:0:0:0:0:0:0:1", "loopback");
	refused("[0000::0001]", "loopback");
	refused("::", "unspecified");
	refused("::ffff:127.0.0.1", "loopback");
	refused("[::ffff:7f00:1]", "loopback");
	refused("::ffff:10.0.0.1", "private");
	refused("::127.0.0.1", "loopback"); /* IPv4-compatible */
	refused("64:ff9b::127.0.0.1", "loopback");
	refused("64:ff9b::a9fe:a9fe", "link-local");
	refused("2002:7f00:1::", "loopback"); /* 6to4 of 127.0.0.1 */
	refused("2002:c0a8:0101::1", "private");
	refused("fc00::1", "unique local");
	refused("fd12:3456:789a::1", "unique local");
	refused("fe80::1", "link-local");
	refused("fe80::1%1", "zone");
	refused("fec0::1", "site-local");
	refused("ff02::1", "multicast");
	refused("2001:db8::1", "documentation");
	refused("2001::1", "Teredo");
	refused("100::1", "discard");
	refused("4000::1", "global unicast");
	allowed("2606:2800:220:1:248:1893:25c8:1946");
	allowed("[2a00:1450:4001:82a::200e]");
	allowed("::ffff:93.184.216.34");
	allowed("64:ff9b::8.8.8.8");
	allowed("2002:5db8:d822::1"); /* 6to4 of a public address */
}

static void test_names(void **state)
{
	(void)state;
	/* a name is not a number: the caller resolves it and checks each address */
	char why[64];
	assert_int_equal(address_text_is_public("localhost", why, sizeof(why)), -1);
	assert_int_equal(address_text_is_public("example.com", why, sizeof(why)), -1);
	assert_int_equal(address_text_is_public("127.0.0.1.example", why, sizeof(why)), -1);
	assert_int_equal(address_text_is_public("", why, sizeof(why)), -1);
	assert_int_equal(address_text_is_public("[]", why, sizeof(why)), -1);
}

static void test_sockaddr(void **state)
{
	(void)state;
	struct sockaddr_in in = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	assert_false(address_is_public((struct sockaddr *)&in, NULL, 0));
	inet_pton(AF_INET, "1.1.1.1", &in.sin_addr);
	assert_true(address_is_public((struct sockaddr *)&in, NULL, 0));
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "::ffff:192.168.0.1", &in6.sin6_addr);
	char why[64];
	assert_false(address_is_public((struct sockaddr *)&in6, why, sizeof(why)));
	assert_string_equal(why, "private (192.168.0.0/16)");
	struct sockaddr un = {.sa_family = AF_UNIX};
	assert_false(address_is_public(&un, NULL, 0));
	assert_false(address_is_public(NULL, NULL, 0));
	char text[64];
	address_text((struct sockaddr *)&in6, text, sizeof(text));
	assert_string_equal(text, "[::ffff:192.168.0.1]");
	address_text((struct sockaddr *)&in, text, sizeof(text));
	assert_string_equal(text, "1.1.1.1");
}

/* Whether addr is in the one range text. */
static bool in_range(const char *text, const char *addr)
{
	struct address_range r;
	if (address_range_parse(text, &r) < 0)
		fail_msg("%s: expected a range", text);
	return address_in_ranges(addr, &r, 1);
}

static void test_ranges(void **state)
{
	(void)state;
	/* metrics.allow's default, and what it lets in */
	assert_true(in_range("127.0.0.0/8", "127.0.0.1"));
	assert_true(in_range("127.0.0.0/8", "127.255.3.4"));
	assert_false(in_range("127.0.0.0/8", "128.0.0.1"));
	assert_true(in_range("::1", "::1"));
	assert_false(in_range("::1", "::2"));
	/* a client on a dual-stack socket: IPv4-mapped is its IPv4 address, both ways */
	assert_true(in_range("127.0.0.0/8", "::ffff:127.0.0.1"));
	assert_true(in_range("::ffff:10.0.0.0/104", "10.9.8.7"));
	assert_false(in_range("::ffff:10.0.0.0/104", "11.0.0.1"));
	assert_false(in_range("127.0.0.0/8", "::1")); /* IPv4 and IPv6 ranges never mix */
	/* host bits are cleared; prefixes that do not end on a byte */
	assert_true(in_range("10.1.2.3/8", "10.200.0.1"));
	assert_true(in_range("192.168.0.0/23", "192.168.1.255"));
	assert_false(in_range("192.168.0.0/23", "192.168.2.0"));
	assert_true(in_range("fd00::/8", "fd12:3456::1"));
	assert_false(in_range("fd00::/8", "fe80::1"));
	assert_true(in_range("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(in_range("2001:db8::/33", "2001:db8:8000::1"));
	/* everything and one address */
	assert_true(in_range("0.0.0.0/0", "203.0.113.9"));
	assert_true(in_range("::/0", "2001:db8::1"));
	assert_true(in_range("203.0.113.9", "203.0.113.9"));
	assert_false(in_range("203.0.113.9", "203.0.113.8"));
	/* what a client address never is */
	assert_false(in_range("0.0.0.0/0", ""));
	assert_false(in_range("0.0.0.0/0", "localhost"));
	assert_false(in_range("0.0.0.0/0", "[::1]"));
	/* what a range never is */
	struct address_range r;
	static const char *const bad[] = {"",
	                                  "/8",
	                                  "localhost",
	                                  "127.0.0.0/33",
	                                  "::/129",
	                                  "10.0.0.0/",
	                                  "10.0.0.0/x",
	                                  "10.0.0.0/8x",
	                                  "0x7f.1",
	                                  "127.1",
	                                  "10.0.0.0/-1",
	                                  "::ffff:1.2.3.4/95",
	                                  "10.0.0.0/0008"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (address_range_parse(bad[i], &r) == 0)
			fail_msg("'%s' parsed as a range", bad[i]);
	/* several ranges: any one of them */
	struct address_range list[2];
	assert_int_equal(address_range_parse("10.0.0.0/8", &list[0]), 0);
	assert_int_equal(address_range_parse("::1", &list[1]), 0);
	assert_true(address_in_ranges("::1", list, 2));
	assert_true(address_in_ranges("10.0.0.1", list, 2));
	assert_false(address_in_ranges("192.168.0.1", list, 2));
	assert_false(address_in_ranges("10.0.0.1", list, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4),   cmocka_unit_test(test_spellings),
	    cmocka_unit_test(test_names),  cmocka_unit_test(test_sockaddr),
	    cmocka_unit_test(test_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
