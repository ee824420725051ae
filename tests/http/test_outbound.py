"""test_outbound.py - SPEC §13 against the built server and a real receiver on loopback:
webhooks fire once per action with a valid signature, failures retry on the schedule and then
turn the webhook off (all in the delivery log), the address guard refuses loopback unless
allowed (at creation and at connection time), redirects are not followed, kill -9 with 1,000
undelivered events loses none, a scheduled story fires once at its time (on two instances
when PostgreSQL is there), WebSub pings, purges and Surrogate-Key."""

import datetime
import json
import os
import signal
import sys
import time

import pg
from harness import SOURCE_ROOT, Server, check, eq, make_image, post, run
from receiver import Receiver, signature_valid

BINARY = os.path.abspath(sys.argv[1])
SLOW = 3 if os.environ.get("GAZETTE_VALGRIND") == "1" else 1


def readme_verify():
    """README, "Checking a signature": its Python lines, as printed, at most 10 of code."""
    with open(os.path.join(SOURCE_ROOT, "README.md")) as f:
        text = f.read()
    part = text[text.index("### Checking a signature"):]
    block = part[part.index("```python\n") + 10:]
    block = block[:block.index("```")]
    code = [line for line in block.splitlines() if line.strip()]
    check(len(code) <= 10, "the README's check is %d lines" % len(code))
    scope = {}
    exec(block, scope)
    return scope["verify"]


def hook(s, url, events=None, want=201, **extra):
    body = {"url": url}
    if events:
        body["events"] = events
    body.update(extra)
    st, h, data = s.json("POST", "/api/webhooks", body, auth=True)
    eq(st, want, "create webhook %s: %r" % (url, data))
    return data


def log_of(s, hook_id):
    st, _, data = s.json("GET", "/api/webhooks/%d/deliveries?per_page=100" % hook_id, auth=True)
    eq(st, 200, "delivery log")
    return data["deliveries"]


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def allowed(**extra):
    config = {"webhooks": {"allow_private": "true", "retry_s": "1, 1", "give_up_s": "4"}}
    for k, v in extra.items():
        config.setdefault(k, {}).update(v)
    return config


def one_database(config):
    """config with the database every server of a test shares: under tests/http/pg.py each
    server would otherwise get a new one."""
    cluster = pg.attached()
    if cluster:
        config = dict(config)
        config["database"] = {"url": cluster.new_database()}
    return config


def with_receiver(fn, **kw):
    def test():
        r = Receiver()
        s = Server(BINARY, **kw)
        try:
            s.start()
            fn(s, r)
            eq(s.stop(), 0, "exit status after SIGTERM")
        finally:
            s.cleanup()
            r.close()
    return test


def every_event_once(s, r):
    everything = hook(s, r.url("/all"))
    secret = everything["secret"]
    check(secret.startswith("whsec_") and len(secret) == 70, secret)
    only_deleted = hook(s, r.url("/deleted"), events=["article.deleted"])
    # the secret is shown once: never by a read
    st, _, listed = s.json("GET", "/api/webhooks", auth=True)
    eq(st, 200)
    check(all("secret" not in w for w in listed["webhooks"]), listed)
    eq([w["id"] for w in listed["webhooks"]], [everything["id"], only_deleted["id"]])

    # a draft fires nothing; each action after it fires its one event
    post(s, {"title": "Harbour plan", "body": "First draft.", "status": "draft",
             "tags": ["port"]})
    st, _, _ = s.json("PUT", "/api/articles/harbour-plan",
                      {"title": "Harbour plan", "body": "Second draft.", "status": "draft"},
                      auth=True)
    eq(st, 200)
    for title, status in (("Harbour plan", "published"), ("Harbour plan, revised", "published"),
                          ("Harbour plan, revised", "draft"),
                          ("Harbour plan, revised", "published")):
        st, _, _ = s.json("PUT", "/api/articles/harbour-plan",
                          {"title": title, "body": "The text.", "status": status,
                           "tags": ["port", "city"]}, auth=True)
        eq(st, 200)
    st, _, _ = s.request("DELETE", "/api/articles/harbour-plan", auth=True)
    eq(st, 204)
    img = make_image(BINARY, "photo", 400, 300, os.path.join(s.dir, "p.jpg"))
    st, _, rec = s.json("POST", "/api/media?alt=A%20harbour", body=img, auth=True,
                        headers={"Content-Type": "image/jpeg"})
    eq(st, 201, "upload")
    want = ["article.published", "article.updated", "article.unpublished", "article.published",
            "article.deleted", "media.created"]
    check(r.wait(lambda: len(r.requests("/all")) >= len(want) and r.requests("/deleted")),
          "deliveries: %r" % [e["event"] for _, e in r.events("/all")])
    time.sleep(1)  # nothing more comes
    got = r.requests("/all")
    events = [json.loads(g["body"]) for g in got]
    eq(sorted(e["event"] for e in events), sorted(want), "one event per action")
    eq(len({e["id"] for e in events}), len(want), "event ids")
    eq(len({g["headers"]["gazette-delivery"] for g in got}), len(want), "delivery ids")
    verify = readme_verify()
    for g, e in zip(got, events):
        check(signature_valid(secret, g["headers"], g["body"]), "signature of %s" % e["event"])
        check(verify(secret, g["headers"]["gazette-signature"], g["body"]), "README's check")
        check(not verify(secret, g["headers"]["gazette-signature"], g["body"] + b" "),
              "README's check refuses a changed body")
        check(not signature_valid("whsec_" + "0" * 64, g["headers"], g["body"]),
              "a wrong secret must not verify")
        eq(g["headers"]["gazette-event"], e["event"])
        eq(g["headers"]["content-type"], "application/json")
        check(set(e) >= {"id", "event", "created_at"}, e)
    by = {}
    for e in events:
        by.setdefault(e["event"], []).append(e)
    upd = by["article.updated"][0]
    eq(upd["article"]["title"], "Harbour plan, revised")
    eq(upd["article"]["url"], "http://news.test/articles/harbour-plan")
    eq(upd["previous"]["title"], "Harbour plan", "previous holds the old value")
    check("updated_at" not in upd["previous"] and "slug" not in upd["previous"], upd["previous"])
    # a draft without a published_at of its own takes the moment of its write: on a slow run
    # that is another second, and a changed field like any other
    unpub = by["article.unpublished"][0]["previous"]
    eq(unpub["status"], "published")
    check(set(unpub) <= {"status", "published_at"}, unpub)
    eq(by["article.published"][0]["previous"]["status"], "draft")
    eq(by["media.created"][0]["media"]["id"], rec["id"])
    eq(by["article.deleted"][0]["article"]["slug"], "harbour-plan")
    # the other webhook took only what it asked for
    eq([e["event"] for _, e in r.events("/deleted")], ["article.deleted"])
    # every try is in the log, newest first
    log = log_of(s, everything["id"])
    eq(len(log), len(want))
    check(all(x["status"] == 200 and x["outcome"] == "delivered" and x["error"] is None
              for x in log), log)
    eq(sorted(x["delivery"] for x in log), sorted(g["headers"]["gazette-delivery"] for g in got))


def management(s, r):
    # admins only; bad input named, nothing stored
    st, h, _ = s.json("POST", "/api/webhooks", {"url": r.url("/")})
    eq(st, 401)
    for body, field in (({"url": "ftp://example.com/"}, "url"), ({"events": ["article.published"]}, "url"),
                        ({"url": r.url("/"), "events": ["article.eaten"]}, "events"),
                        ({"url": r.url("/"), "events": []}, "events"),
                        ({"url": r.url("/"), "secret": "short"}, "secret"),
                        ({"url": "http://user:pw@127.0.0.1/"}, "url"),
                        ({"url": r.url("/"), "colour": "red"}, "colour")):
        st, _, data = s.json("POST", "/api/webhooks", body, auth=True)
        eq(st, 422, "%r" % body)
        check(data["error"]["message"].startswith(field + ":"), data)
    st, _, data = s.json("GET", "/api/webhooks", auth=True)
    eq(data["webhooks"], [], "nothing stored")
    w = hook(s, r.url("/x"), events=["article.published"], secret="s" * 20)
    eq(w["secret"], "s" * 20)
    st, _, got = s.json("PATCH", "/api/webhooks/%d" % w["id"], {"active": False}, auth=True)
    eq((st, got["active"]), (200, False))
    post(s, {"title": "Nobody hears this", "body": "x"})
    time.sleep(1)
    eq(r.requests("/x"), [], "an inactive webhook gets nothing")
    st, _, got = s.json("PATCH", "/api/webhooks/%d" % w["id"], {"active": True}, auth=True)
    eq((st, got["active"], "secret" in got), (200, True, False))
    post(s, {"title": "Everybody hears this", "body": "x"})
    check(r.wait(lambda: len(r.requests("/x")) == 1), "delivered once active again")
    st, _, _ = s.request("DELETE", "/api/webhooks/%d" % w["id"], auth=True)
    eq(st, 204)
    eq(s.json("GET", "/api/webhooks/%d" % w["id"], auth=True)[0], 404)
    eq(s.json("GET", "/api/webhooks/%d/deliveries" % w["id"], auth=True)[0], 404)
    entries = s.json("GET", "/api/audit", auth=True)[2]["entries"]
    actions = [e["action"] for e in entries]
    for a in ("webhook.create", "webhook.update", "webhook.delete"):
        check(a in actions, actions)
    check("s" * 20 not in json.dumps(entries), "the audit log never holds the secret")


def failures(s, r):
    """500, 410, nothing listening, 10 s without an answer, a redirect: each in the log."""
    r.modes.update({"/500": 500, "/410": 410, "/slow": ("sleep", 10, 200),
                    "/redirect": ("redirect", r.url("/target"))})
    closed = Receiver()
    down_url = closed.url("/down")
    closed.close()  # its port now refuses connections
    hooks = {name: hook(s, url, events=["article.published"])["id"]
             for name, url in (("500", r.url("/500")), ("410", r.url("/410")),
                               ("down", down_url), ("slow", r.url("/slow")),
                               ("redirect", r.url("/redirect")))}
    post(s, {"title": "Nobody takes this", "body": "x"})

    def settled():
        return all(not s.json("GET", "/api/webhooks/%d" % i, auth=True)[2]["active"]
                   for i in hooks.values())
    check(r.wait(settled, 30 * SLOW), "every webhook turned off in the end")
    logs = {name: list(reversed(log_of(s, i))) for name, i in hooks.items()}
    # 410: one try, off at once
    eq([(x["status"], x["outcome"]) for x in logs["410"]], [(410, "disabled")])
    reason = s.json("GET", "/api/webhooks/%d" % hooks["410"], auth=True)[2]["disabled_reason"]
    check("410" in reason, reason)
    # 500 and down: retried about a second apart (1 s +-20%), then off after give_up_s (4 s)
    for name in ("500", "down"):
        log = logs[name]
        check(len(log) >= 3, "%s: %r" % (name, log))
        eq([x["attempt"] for x in log], list(range(1, len(log) + 1)))
        check(all(x["outcome"] == "retrying" and x["next_at"] for x in log[:-1]), log)
        eq(log[-1]["outcome"], "disabled")
        check(log[-1]["next_at"] is None, log[-1])
    eq(logs["500"][0]["status"], 500)
    eq(logs["500"][0]["error"], "answered 500")
    check(logs["down"][0]["status"] is None and "onnect" in logs["down"][0]["error"], logs["down"])
    tries = [x for x in r.requests("/500")]
    gaps = [b["at"] - a["at"] for a, b in zip(tries, tries[1:])]
    check(all(0.7 <= g <= 2.5 * SLOW for g in gaps), "retry gaps %r" % gaps)
    # slow: cut at 5 s
    check(logs["slow"][0]["error"] == "timed out after 5000 ms", logs["slow"])
    check(4500 <= logs["slow"][0]["duration_ms"] <= 7000 * SLOW, logs["slow"])
    # a redirect is an answer, not a way elsewhere
    check(logs["redirect"][0]["status"] == 302 and "not followed" in logs["redirect"][0]["error"],
          logs["redirect"])
    eq(r.requests("/target"), [], "the redirect's target was never asked")
    reason = s.json("GET", "/api/webhooks/%d" % hooks["500"], auth=True)[2]["disabled_reason"]
    check("no try succeeded" in reason and "answered 500" in reason, reason)


def guard(r):
    """Loopback refused when not allowed: at creation, in every spelling, and when a webhook
    made while it was allowed tries to connect."""
    strict = one_database({"webhooks": {"retry_s": "1", "give_up_s": "2"}})
    loose = dict(allowed(), database=strict.get("database")) if "database" in strict else allowed()
    s = Server(BINARY, config=strict)
    try:
        s.start()
        p = r.port
        for url in ("http://127.0.0.1:%d/" % p, "http://[::1]:%d/" % p, "http://localhost:%d/" % p,
                    "http://0x7f.1:%d/" % p, "http://2130706433:%d/" % p,
                    "http://[::ffff:127.0.0.1]:%d/" % p, "http://10.0.0.1/",
                    "http://169.254.169.254/latest/meta-data/", "http://[fd00::1]/"):
            st, _, data = s.json("POST", "/api/webhooks", {"url": url}, auth=True)
            eq(st, 422, url)
            check("allow_private" in data["error"]["message"], data)
        eq(s.json("GET", "/api/webhooks", auth=True)[2]["webhooks"], [])
        eq(s.stop(), 0)
        # made while allowed, tried when not: refused at connection time
        s2 = Server(BINARY, workdir=s.dir, config=loose)
        s2.start()
        w = hook(s2, r.url("/guarded"), events=["article.published"])
        eq(s2.stop(), 0)
        s3 = Server(BINARY, workdir=s.dir, config=strict)
        s3.start()
        post(s3, {"title": "Not for loopback", "body": "x"})
        check(r.wait(lambda: log_of(s3, w["id"]), 10 * SLOW), "a try was logged")
        log = log_of(s3, w["id"])
        check("refused to connect to 127.0.0.1" in log[-1]["error"] and
              "loopback" in log[-1]["error"], log)
        eq(r.requests("/guarded"), [], "no byte reached the receiver")
        eq(s3.stop(), 0)
    finally:
        s.cleanup()


def guard_test():
    r = Receiver()
    try:
        guard(r)
    finally:
        r.close()


def kill9_thousand():
    """1,000 events, Gazette killed with most undelivered: every one arrives after the restart,
    and an event seen twice (it was in flight) carries its one delivery id both times."""
    r = Receiver()
    r.default = ("sleep", 0.5, 200)  # slow at first: most events wait
    config = one_database(allowed())
    s = Server(BINARY, config=config)
    try:
        s.start()
        hook(s, r.url("/many"), events=["article.published"])
        items = [{"title": "Wire story %d" % i, "body": "Text %d." % i, "status": "published"}
                 for i in range(1000)]
        path = os.path.join(s.dir, "wire.json")
        with open(path, "w") as f:
            json.dump(items, f)
        out = s.run_cli("import", "-c", s.config_path, path)
        eq(out.returncode, 0, out.stderr.decode())
        check(r.wait(lambda: len(r.requests("/many")) >= 20, 20), "some delivered first")
        s.kill(signal.SIGKILL)
        s.proc.wait()
        s.stderr_file.close()
        before = len(r.requests("/many"))
        check(before < 200, "most were still waiting at the kill (%d sent)" % before)
        r.default = 200
        s2 = Server(BINARY, workdir=s.dir, config=config)
        s2.start()
        # a row claimed when the process died waits for its lease (15 s) to run out
        check(r.wait(lambda: len({e["id"] for _, e in r.events("/many")}) == 1000, 60 * SLOW),
              "all 1,000 delivered: %d" % len({e["id"] for _, e in r.events("/many")}))
        seen = {}
        for h, e in r.events("/many"):
            seen.setdefault(e["id"], set()).add(h["gazette-delivery"])
        eq({e["article"]["title"] for _, e in r.events("/many")},
           {i["title"] for i in items}, "the events of the 1,000 stories")
        check(all(len(d) == 1 for d in seen.values()), "one delivery id per event")
        dups = len(r.events("/many")) - 1000
        check(dups <= 32, "duplicates only for what was in flight: %d" % dups)
        print("# kill -9: %d sent before, %d duplicates after" % (before, dups))
        eq(s2.stop(), 0)
    finally:
        s.cleanup()
        r.close()


def scheduled_once():
    """A story scheduled 3 s ahead fires article.published at its time, once; moving its time
    moves the event; with PostgreSQL, two instances on one database fire it once between them."""
    r = Receiver()
    config = one_database(allowed())
    a = Server(BINARY, config=config)
    b = Server(BINARY, config=config) if "database" in config else None
    try:
        a.start()
        if b:
            b.start()
        hook(a, r.url("/sched"), events=["article.published"])
        at = int(time.time()) + 3
        post(a, {"title": "Embargoed", "body": "x", "published_at": iso(at)})
        moved = int(time.time()) + 3
        post(a, {"title": "Moved", "body": "x", "published_at": iso(moved)})
        st, _, _ = a.json("PUT", "/api/articles/moved",
                          {"title": "Moved", "body": "x", "published_at": iso(moved + 2)},
                          auth=True)
        eq(st, 200)
        time.sleep(1)
        eq(r.requests("/sched"), [], "nothing before its time")
        check(r.wait(lambda: len(r.requests("/sched")) >= 2, 15), "both fired")
        time.sleep(2)
        got = r.events("/sched")
        eq(sorted(e["article"]["slug"] for _, e in got), ["embargoed", "moved"], "once each")
        when = {e["article"]["slug"]: e for _, e in got}
        eq(when["embargoed"]["created_at"], iso(at))
        eq(when["moved"]["created_at"], iso(moved + 2))
        times = {json.loads(g["body"])["article"]["slug"]: g["at"] for g in r.requests("/sched")}
        check(at <= times["embargoed"] < at + 3, "at its time: %r" % (times["embargoed"] - at))
        check(moved + 2 <= times["moved"] < moved + 5, "at its new time")
        if b:
            # both instances claim from one outbox: every event once, whichever sends it
            for i in range(40):
                post(a if i % 2 else b, {"title": "Shared %d" % i, "body": "x"})
            check(r.wait(lambda: len(r.requests("/sched")) >= 42, 20), "all 40 delivered")
            time.sleep(1)
            ids = [e["id"] for _, e in r.events("/sched")]
            eq(len(ids), 42, "no event twice")
            eq(len(set(ids)), 42)
        for s in (a, b):
            if s:
                eq(s.stop(), 0)
    finally:
        a.cleanup()
        if b:
            b.cleanup()
        r.close()


def websub_and_purge(s, r):
    st, _, body = s.get("/feed.xml")
    check(b'<link rel="hub" href="%s"/>' % r.url("/hub").encode() in body, body[:600])
    post(s, {"title": "Draft only", "body": "x", "status": "draft", "tags": ["quiet"]})
    a = post(s, {"title": "Port reopens", "body": "x", "tags": ["port", "经济"],
                 "authors": []})
    check(r.wait(lambda: len(r.requests("/purge")) >= 2 and r.requests("/hub"), 10),
          "purged twice and pinged")
    pings = r.requests("/hub")
    eq(len(pings), 1, "one ping for one publication (the draft: none)")
    eq(pings[0]["body"], b"hub.mode=publish&hub.url=http%3A%2F%2Fnews.test%2Ffeed.xml")
    bans = r.requests("/purge")
    eq([b["method"] for b in bans], ["BAN", "BAN"])
    keys = bans[0]["headers"]["surrogate-key"].split(" ")
    for k in ("front", "search", "feed", "sitemap", "article-%d" % a["id"], "tag-port",
              "tag-%E7%BB%8F%E6%B5%8E"):
        check(k in keys, "%s in %r" % (k, keys))
    check(not any("quiet" in k for k in keys), keys)
    check(1.5 <= bans[1]["at"] - bans[0]["at"] <= 4, "the second purge comes 2 s later")
    # every cacheable answer names what it shows; an error names nothing
    for path, key in (("/", "front"), ("/articles/port-reopens", "article-%d" % a["id"]),
                      ("/tags/port", "tag-port"), ("/feed.xml", "feed"),
                      ("/sitemap.xml", "sitemap"), ("/search?q=port", "search"),
                      ("/api/articles", "front"), ("/api/articles/port-reopens",
                                                   "article-%d" % a["id"]),
                      ("/static/style.css", "static")):
        st, h, _ = s.get(path)
        eq((st, h.get("surrogate-key")), (200, key), path)
    st, h, _ = s.get("/articles/draft-only")
    eq((st, h.get("surrogate-key")), (404, None))


def surrogate_config(r):
    return allowed(feeds={"websub_hub": r.url("/hub")}, purge={"url": r.url("/purge")})


def websub_and_purge_test():
    r = Receiver()
    s = Server(BINARY, config=surrogate_config(r))
    try:
        s.start()
        websub_and_purge(s, r)
        eq(s.stop(), 0)
    finally:
        s.cleanup()
        r.close()


def stop_in_flight():
    """SIGTERM during deliveries: each try in flight ends first (within its 5 s), and is logged.
    One answered in time is never sent again; one cut at 5 s is a failed try, sent again after
    the restart with its delivery id."""
    r = Receiver()
    r.modes.update({"/quick": ("sleep", 2, 200), "/stuck": ("sleep", 30, 200)})
    config = one_database(allowed(webhooks={"give_up_s": "600"}))
    s = Server(BINARY, config=config)
    try:
        s.start()
        quick = hook(s, r.url("/quick"), events=["article.published"])
        stuck = hook(s, r.url("/stuck"), events=["article.published"])
        post(s, {"title": "Stopped midway", "body": "x"})
        check(r.wait(lambda: r.requests("/quick") and r.requests("/stuck"), 10), "both in flight")
        t0 = time.time()
        eq(s.stop(), 0, "exit status after SIGTERM with deliveries in flight")
        took = time.time() - t0
        check(1.5 <= took < 7 * SLOW, "the stop waited for the tries in flight: %.1fs" % took)
        first = r.requests("/stuck")[0]["headers"]["gazette-delivery"]
        r.modes["/stuck"] = 200
        s2 = Server(BINARY, workdir=s.dir, config=config)
        s2.start()
        check(r.wait(lambda: len(r.requests("/stuck")) == 2, 15), "the cut one again")
        eq(r.requests("/stuck")[1]["headers"]["gazette-delivery"], first, "same delivery id")
        time.sleep(1.5)
        eq(len(r.requests("/quick")), 1, "the finished one is not sent again")
        eq([(x["status"], x["outcome"]) for x in log_of(s2, quick["id"])], [(200, "delivered")])
        log = list(reversed(log_of(s2, stuck["id"])))
        eq([(x["error"], x["outcome"]) for x in log],
           [("timed out after 5000 ms", "retrying"), (None, "delivered")])
        eq(s2.stop(), 0)
    finally:
        s.cleanup()
        r.close()

tests = [
    ("every event once, signed", with_receiver(every_event_once, config=allowed())),
    ("webhook management", with_receiver(management, config=allowed())),
    ("failures retry, then the webhook is off", with_receiver(failures, config=allowed())),
    ("loopback refused unless allowed", guard_test),
    ("scheduled story fires once at its time", scheduled_once),
    ("WebSub ping, purge, Surrogate-Key", websub_and_purge_test),
    ("kill -9 with 1,000 undelivered events", kill9_thousand),
    ("SIGTERM: deliveries in flight finish first", stop_in_flight),
]

if __name__ == "__main__":
    run(tests)
