#!/usr/bin/python3
"""Send the same requests to Python Zaqar and to our server; show differences.

Usage: scripts/compare-zaqar.py ZAQAR_URL OURS_URL

A developer tool, not part of the test command (running Zaqar needs its Debian
package, Redis and upstream Lua scripts: see ../shared/reference/test-infrastructure.md).
Ids differ between servers, so every id-like token is replaced by a
placeholder numbered by first appearance before comparing; ages are dropped.
"""
import json
import re
import sys
import urllib.error
import urllib.request
import uuid

CLIENT = "3381af92-2b9e-11e3-b191-71861300734c"
OTHER = "3381af92-2b9e-11e3-b191-71861300734d"
PROJECT = "cmp-" + uuid.uuid4().hex[:8]
Q = "cmp" + uuid.uuid4().hex[:6]

ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{24}|req-[0-9a-f-]{36}")


def call(base, method, path, body=None, headers=None):
    h = {"Client-ID": CLIENT, "X-Project-ID": PROJECT}
    h.update(headers or {})
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    h = {k: v for k, v in h.items() if v is not None}
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, {"Location": r.headers.get("Location", "")}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {"Location": e.headers.get("Location", "")}, e.read()


class Norm:
    def __init__(self):
        self.ids = {}

    def text(self, s):
        return ID_RE.sub(lambda m: self.ids.setdefault(m.group(0), "<id%d>" % len(self.ids)), s)

    def body(self, raw):
        if not raw:
            return None
        try:
            doc = json.loads(raw)
        except ValueError:
            return self.text(raw.decode(errors="replace"))
        return self.walk(doc)

    def walk(self, v):
        if isinstance(v, dict):
            return {k: self.walk(x) for k, x in v.items() if k not in ("age", "created")}
        if isinstance(v, list):
            return [self.walk(x) for x in v]
        if isinstance(v, str):
            return self.text(v)
        return v


def steps():
    q = "/v2/queues/" + Q
    patch = {"Content-Type": "application/openstack-messaging-v2.0-json-patch"}
    return [
        ("GET", "/", None, {"Client-ID": None, "X-Project-ID": None}),
        ("GET", "/v2/ping", None, {}),
        ("GET", "/v2/queues", None, {"Client-ID": None}),
        ("GET", "/v2/queues", None, {"Client-ID": "bogus"}),
        ("GET", "/v2/queues", None, {"X-Project-ID": None}),
        ("GET", "/v2/queues/bad%20name", None, {}),
        ("GET", "/v2/nowhere", None, {}),
        ("PUT", q, {"color": "red", "_default_message_ttl": 120}, {}),
        ("PUT", q, {"color": "blue"}, {}),
        ("PUT", q + "x", "[]", {}),
        ("PUT", q + "x", "{bad", {}),
        ("PUT", q + "x", {"_default_message_ttl": "x"}, {}),
        ("GET", q, None, {}),
        ("GET", q + "missing", None, {}),
        ("PATCH", q, [{"op": "add", "path": "/metadata/a", "value": 1}], {}),
        ("PATCH", q, [{"op": "add", "path": "/metadata/a", "value": 1}], patch),
        ("PATCH", q, [{"op": "replace", "path": "/metadata/zz", "value": 1}], patch),
        ("PATCH", q, [{"op": "remove", "path": "/metadata/zz"}], patch),
        ("PATCH", q, [{"op": "move", "path": "/metadata/zz"}], patch),
        ("PATCH", q, [{"op": "add", "path": "/meta/zz", "value": 1}], patch),
        ("PATCH", q + "missing", [{"op": "add", "path": "/metadata/a", "value": 1}], patch),
        ("GET", "/v2/queues?limit=1", None, {}),
        ("GET", "/v2/queues?limit=50", None, {}),
        ("GET", "/v2/queues?detailed=true", None, {}),
        ("GET", "/v2/queues?detailed=maybe", None, {}),
        ("GET", "/v2/queues?with_count=true", None, {}),
        ("POST", q + "/messages", {"messages": [{"body": {"n": 1}, "ttl": 300}, {"body": "two"}]}, {}),
        ("POST", q + "/messages", {"messages": []}, {}),
        ("POST", q + "/messages", {}, {}),
        ("POST", q + "/messages", {"messages": [{"ttl": 60}]}, {}),
        ("POST", q + "/messages", {"messages": [{"body": 1, "ttl": 60.5}]}, {}),
        ("POST", q + "/messages", {"messages": [{"body": 1, "ttl": 10}]}, {}),
        ("POST", q + "/messages", '"x"', {}),
        ("POST", q + "/messages", "", {}),
        ("GET", q + "/messages", None, {}),
        ("GET", q + "/messages?limit=1", None, {"Client-ID": OTHER}),
        ("GET", q + "/messages?limit=1&echo=true&include_claimed=false", None, {}),
        ("GET", q + "/messages?limit=100", None, {}),
        ("GET", q + "/messages?echo=perhaps", None, {}),
        ("GET", q + "/messages?ids=nope", None, {}),
        ("GET", q + "/messages/nope", None, {}),
        ("GET", q + "/stats", None, {}),
        ("POST", q + "/claims?limit=1", {"ttl": 60, "grace": 60}, {}),
        ("POST", q + "/claims", {"ttl": 60, "grace": 0}, {}),
        ("POST", q + "/claims?limit=50", None, {}),
        ("POST", q + "/claims", "[]", {}),
        ("GET", q + "/claims/nope", None, {}),
        ("PATCH", q + "/claims/nope", {"ttl": 100}, {}),
        ("PATCH", q + "/claims/nope", {"ttl": 10}, {}),
        ("DELETE", q + "/claims/nope", None, {}),
        ("POST", q + "/claims", None, {}),
        ("POST", q + "/claims", None, {}),
        ("GET", q + "/stats", None, {}),
        ("DELETE", q + "/messages", None, {}),
        ("DELETE", q + "/messages?pop=50", None, {}),
        ("DELETE", q + "/messages?ids=a&pop=1", None, {}),
        ("DELETE", q + "/messages/nope", None, {}),
        ("POST", q + "/purge", {"resource_types": ["bogus"]}, {}),
        ("POST", q + "/purge", {}, {}),
        ("POST", q + "/purge", None, {}),
        ("GET", q + "/stats", None, {}),
        ("POST", q + "/subscriptions", {"subscriber": "http://example.com/hook", "ttl": 3600, "options": {"a": 1}}, {}),
        ("POST", q + "/subscriptions", {"subscriber": "http://example.com/hook"}, {}),
        ("POST", q + "/subscriptions", {"subscriber": "mailto:ops@example.com"}, {}),
        ("POST", q + "/subscriptions", None, {}),
        ("POST", q + "/subscriptions", {}, {}),
        ("POST", q + "/subscriptions", {"subscriber": "ftp://x"}, {}),
        ("POST", q + "/subscriptions", {"subscriber": "http://x", "ttl": 10}, {}),
        ("POST", q + "/subscriptions", {"subscriber": "http://x", "ttl": "60"}, {}),
        ("POST", q + "/subscriptions", {"subscriber": "http://x", "options": [1]}, {}),
        ("POST", q + "/subscriptions", {"subscriber": "http://x", "options": {"_retry_policy": {"retry_backoff_function": "cubic"}}}, {}),
        ("GET", q + "/subscriptions", None, {}),
        ("GET", q + "/subscriptions?limit=1", None, {}),
        ("GET", q + "/subscriptions?limit=50", None, {}),
        ("GET", q + "/subscriptions/nope", None, {}),
        ("PATCH", q + "/subscriptions/nope", {"ttl": 100}, {}),
        ("PUT", q + "/subscriptions/nope/confirm", {"confirmed": True}, {}),
        ("DELETE", q + "/subscriptions/nope", None, {}),
        ("POST", q + "/share", {"paths": ["stats"]}, {}),
        ("POST", q + "/share", {"bogus": 1}, {}),
        ("POST", q + "/share", {"expires": "2000-01-01T00:00:00"}, {}),
        ("POST", q + "/share", {"expires": "1234567890"}, {}),
        ("DELETE", q, None, {}),
        ("GET", q + "/stats", None, {}),
        ("PUT", "/v2/topics/" + Q, {"a": 1}, {}),
        ("GET", "/v2/topics/" + Q, None, {}),
        ("GET", "/v2/topics", None, {}),
        ("GET", "/v2/topics/" + Q + "/stats", None, {}),
        ("DELETE", "/v2/topics/" + Q, None, {}),
        ("POST", "/v2/queues", None, {}),
        ("GET", "/v2/queues", None, {"Accept": "application/xml"}),
        ("POST", q + "/messages", "a=b", {"Content-Type": "application/x-www-form-urlencoded"}),
    ]


def main():
    a, b = sys.argv[1], sys.argv[2]
    na, nb = Norm(), Norm()
    diffs = 0
    for method, path, body, hdr in steps():
        sa, ha, ba = call(a, method, path, body, hdr)
        sb, hb, bb = call(b, method, path, body, hdr)
        da, db = na.body(ba), nb.body(bb)
        la, lb = na.text(ha.get("Location", "")), nb.text(hb.get("Location", ""))
        same = sa == sb and da == db and la == lb
        mark = "  " if same else "!!"
        print("%s %s %s -> %s %s" % (mark, method, path.replace(Q, "Q").replace(PROJECT, "P"), sa, "" if sa == sb else "(ours %s)" % sb))
        if not same:
            diffs += 1
            if da != db:
                print("     zaqar: %s\n     ours:  %s" % (json.dumps(da), json.dumps(db)))
            if la != lb:
                print("     Location zaqar %r ours %r" % (la, lb))
    print("%d differences" % diffs)


if __name__ == "__main__":
    main()
