vcl 4.1;

# Varnish 7 (Debian's varnish package) in front of Gazette, purged by what changed (SPEC §13).
#
# Every cacheable answer of Gazette names what it shows in Surrogate-Key (front, search, feed,
# sitemap, static, media, article-ID, tag-TAG, author-HANDLE). With [purge] url set to this
# Varnish's purge listener (url = http://127.0.0.1:6091/), every change sends one BAN request
# with the keys it touched, and again two seconds later; the ban below drops exactly the
# objects that carry one of them, so a story's edit refreshes its page, the listings and its
# tags' pages while every other page stays in the cache. tests/http/test_varnish.py runs this
# file with a real varnishd.
#
# BAN is taken only on the listener named "purge", bound to loopback: readers come in on the
# other one, through whatever proxy is in front (an nginx or TLS terminator on this host makes
# every reader look like 127.0.0.1, so the client's address alone would prove nothing).
#
#   varnishd -a :6081 -a purge=127.0.0.1:6091 -f /etc/varnish/gazette.vcl -s malloc,256m
#
# Gazette's own Cache-Control (cache.max_age_s) sets how long an object lives; with purges a
# longer one is safe for pages (the 48-hour news sitemap is never cached: its window moves).

import std;

backend gazette {
    .host = "127.0.0.1";
    .port = "8080";
}

# who may send BAN, on the purge listener: Gazette's own hosts (bind that listener where
# they reach it, and name their addresses here)
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "BAN") {
        if (local.socket != "purge" || client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        # keys are words of [A-Za-z0-9_%-], separated by single spaces: nothing in them is
        # a regular expression's syntax
        if (req.http.Surrogate-Key !~ "^[A-Za-z0-9_%-]+( [A-Za-z0-9_%-]+)*$") {
            return (synth(400, "Surrogate-Key: keys separated by spaces"));
        }
        # a key is a whole word of the object's list: bounded by its start, its end or a
        # byte no key holds (std.ban takes the expression as it is: no quotes, no spaces)
        if (std.ban("obj.http.Surrogate-Key ~ (^|[^A-Za-z0-9_%-])(" +
                    regsuball(req.http.Surrogate-Key, " ", "|") + ")([^A-Za-z0-9_%-]|$)")) {
            return (synth(200, "Banned"));
        }
        return (synth(400, std.ban_error()));
    }
    # the editors' pages and the API's writes are never cached (builtin.vcl passes anything
    # with Authorization); readers' cookies (analytics) must not make every page a miss
    if (req.url !~ "^/(admin|api)(/|$)") {
        unset req.http.Cookie;
    }
}

sub vcl_backend_response {
    # an answer without Surrogate-Key could never be purged: keep it only as long as Gazette
    # says, like everything else; answers Gazette marks no-store are never kept (builtin.vcl)
}

sub vcl_deliver {
    # the keys are for this cache, not for readers
    unset resp.http.Surrogate-Key;
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
