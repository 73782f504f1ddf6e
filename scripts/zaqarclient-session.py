#!/usr/bin/python3
"""A scripted python-zaqarclient session against a Zaqar v2 endpoint.

Usage: /usr/bin/python3 scripts/zaqarclient-session.py URL

Drives python-zaqarclient's library API (Debian package python3-zaqarclient)
in no-auth mode, the way OpenStack services and users call Zaqar, and checks
every answer. It works in a project of its own (zaqarclient-<random>), so it
can run next to other tests, and deletes what it creates. One line per step
on stdout; on the first mismatch it prints the step and what differed on
stderr and exits 1 (2 for bad usage or a missing client library).
"""

import sys
import traceback
import uuid

try:
    from zaqarclient.queues import client as zclient
    from zaqarclient.queues.v1 import core as v1core
    from zaqarclient.transport import errors as zerrors
except ImportError as exc:  # pragma: no cover - environment problem
    print("python-zaqarclient is not importable (%s); "
          "apt-get install python3-zaqarclient" % exc, file=sys.stderr)
    sys.exit(2)


class Mismatch(Exception):
    """A check failed."""


def check(cond, msg, *args):
    if not cond:
        raise Mismatch(msg % args if args else msg)


def expect_error(kind, fn, *args, **kwargs):
    """Call fn and require it to raise the zaqarclient error `kind`."""
    try:
        fn(*args, **kwargs)
    except kind as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - report what came instead
        raise Mismatch("expected %s, got %s: %s"
                       % (kind.__name__, type(exc).__name__, exc))
    raise Mismatch("expected %s, the call succeeded" % kind.__name__)


def msg_id(m):
    """The id of a message object.

    Claim.get() in python-zaqarclient builds v1 Message objects, which keep
    the id in `_id`; v2 ones have `id`.
    """
    return getattr(m, "id", None) or getattr(m, "_id")


class Session(object):
    def __init__(self, url):
        self.url = url
        self.project = "zaqarclient-" + uuid.uuid4().hex[:12]
        self.producer = self._client(uuid.uuid4().hex)  # as zaqarclient does
        self.consumer = self._client(str(uuid.uuid4()))
        suffix = uuid.uuid4().hex[:8]
        self.qname = "zc-session-" + suffix
        self.other = "zc-other-" + suffix
        self.created = []
        self.steps = 0

    def _client(self, client_id):
        conf = {
            "auth_opts": {"backend": "noauth",
                          "options": {"os_project_id": self.project}},
            "client_uuid": client_id,
        }
        return zclient.Client(self.url, version=2, conf=conf)

    def step(self, name, fn):
        try:
            detail = fn()
        except Mismatch as exc:
            self.fail(name, str(exc))
        except Exception as exc:  # noqa: BLE001
            self.fail(name, "%s: %s\n%s" % (type(exc).__name__, exc,
                                            traceback.format_exc()))
        self.steps += 1
        print("ok   %-34s %s" % (name, detail or ""))
        sys.stdout.flush()

    def fail(self, name, msg):
        print("FAIL %s: %s" % (name, msg), file=sys.stderr)
        print("     (endpoint %s, project %s, queue %s)"
              % (self.url, self.project, self.qname), file=sys.stderr)
        self.cleanup()
        sys.exit(1)

    def cleanup(self):
        for name in self.created:
            try:
                self.producer.queue(name, auto_create=False).delete()
            except Exception as exc:  # noqa: BLE001
                print("     cleanup of %s failed: %s" % (name, exc),
                      file=sys.stderr)

    # ---- steps ---------------------------------------------------------

    def ping(self):
        check(self.producer.ping() is True, "ping() returned False")

    def homedoc(self):
        doc = self.producer.homedoc()
        resources = doc.get("resources", {})
        for rel in ("rel/queues", "rel/messages", "rel/post_claim"):
            check(rel in resources, "home document lacks %s: %s",
                  rel, sorted(resources))
        return "%d relations" % len(resources)

    def create_queues(self):
        self.q = self.producer.queue(self.qname, force_create=True)
        self.created.append(self.qname)
        self.producer.queue(self.other, force_create=True)
        self.created.append(self.other)
        # Creating again is harmless (204).
        self.producer.queue(self.qname, force_create=True)
        return "%s, %s" % (self.qname, self.other)

    def list_queues(self):
        queues, count = self.producer.queues(with_count=True)
        names = sorted(q.name for q in queues)
        check(names == sorted([self.qname, self.other]),
              "queues() listed %s, want %s", names,
              sorted([self.qname, self.other]))
        check(count == 2, "with_count gave count %r, want 2", count)
        # Paging: one queue per page, following next links.
        queues, _ = self.producer.queues(limit=1)
        paged = [q.name for q in queues.stream()]
        check(paged == sorted([self.qname, self.other]),
              "paged listing (limit=1) gave %s", paged)
        return "%s (count %d)" % (names, count)

    def metadata_defaults(self):
        meta = self.q.metadata(force_reload=True)
        want = {"_max_messages_post_size": 262144,
                "_default_message_ttl": 3600,
                "_default_message_delay": 0}
        for k, v in want.items():
            check(meta.get(k) == v, "metadata %s = %r, want %r (all: %r)",
                  k, meta.get(k), v, meta)
        return "%d keys" % len(meta)

    def metadata_set(self):
        # metadata(new_meta=...) sends a json-patch: add/replace for the
        # given keys, remove for every other key GET returned (reserved
        # defaults included, which must be no-ops).
        meta = self.q.metadata(new_meta={"color": "red",
                                         "_default_message_ttl": 300})
        check(meta.get("color") == "red", "PATCH answer color = %r",
              meta.get("color"))
        check(meta.get("_default_message_ttl") == 300,
              "PATCH answer _default_message_ttl = %r",
              meta.get("_default_message_ttl"))
        check(meta.get("_max_messages_post_size") == 262144,
              "PATCH answer lost the reserved default: %r", meta)
        return "color=red, _default_message_ttl=300"

    def metadata_get(self):
        meta = self.q.metadata(force_reload=True)
        check(meta.get("color") == "red" and
              meta.get("_default_message_ttl") == 300,
              "GET after PATCH = %r", meta)
        # Replace one key; the others given before are removed.
        meta = self.q.metadata(new_meta={"color": "blue"})
        check(meta.get("color") == "blue", "second PATCH color = %r", meta)
        check(meta.get("_default_message_ttl") == 3600,
              "removed _default_message_ttl did not fall back to 3600: %r",
              meta)
        meta = self.q.metadata(force_reload=True)
        check(meta.get("color") == "blue", "GET after second PATCH = %r",
              meta)
        return "color=blue"

    def post_single(self):
        res = self.q.post({"body": {"n": 0, "kind": "single"}, "ttl": 600})
        res = res or {}
        resources = res.get("resources", [])
        check(len(resources) == 1, "post returned %r", res)
        prefix = "/v2/queues/%s/messages/" % self.qname
        check(resources[0].startswith(prefix), "resource %r", resources[0])
        self.ids = [resources[0][len(prefix):]]
        return self.ids[0]

    def post_batch(self):
        res = self.q.post([{"body": {"n": i, "kind": "batch"}, "ttl": 600}
                           for i in (1, 2, 3)])
        resources = (res or {}).get("resources", [])
        check(len(resources) == 3, "batch post returned %r", res)
        prefix = "/v2/queues/%s/messages/" % self.qname
        self.ids += [r[len(prefix):] for r in resources]
        check(len(set(self.ids)) == 4, "duplicate ids: %s", self.ids)
        return "%d ids" % len(resources)

    def list_messages(self):
        # echo defaults to false: the producer does not see its own.
        own = list(self.q.messages())
        check(own == [], "producer sees %d own messages without echo",
              len(own))
        echoed = [m.id for m in self.q.messages(echo=True)]
        check(echoed == self.ids, "echo=True listed %s, want %s",
              echoed, self.ids)
        cq = self.consumer.queue(self.qname)
        seen = [m.id for m in cq.messages()]
        check(seen == self.ids, "consumer listed %s, want %s", seen, self.ids)
        # Paging with next links (two per page).
        paged = [m.body["n"] for m in cq.messages(limit=2).stream()]
        check(paged == [0, 1, 2, 3], "paged bodies %s, want FIFO [0..3]",
              paged)
        return "producer 0, echo %d, consumer %d" % (len(echoed), len(seen))

    def get_message(self):
        m = self.q.message(self.ids[1])
        check(m.id == self.ids[1], "message id %r", m.id)
        check(m.body == {"n": 1, "kind": "batch"}, "message body %r", m.body)
        check(m.ttl == 600, "message ttl %r", m.ttl)
        check(m.age >= 0, "message age %r", m.age)
        many = sorted(x.id for x in self.q.messages(self.ids[0], self.ids[2]))
        check(many == sorted([self.ids[0], self.ids[2]]),
              "get by ids returned %s", many)
        expect_error(zerrors.ResourceNotFound, self.q.message,
                     "0123456789abcdef01234567")
        return "%s ttl=%d" % (m.id, m.ttl)

    def claim_create(self):
        cq = self.consumer.queue(self.qname)
        self.claim = cq.claim(ttl=120, grace=60, limit=2)
        check(self.claim.id, "claim has no id")
        msgs = list(self.claim)
        got = [m.id for m in msgs]
        check(got == self.ids[:2], "claim took %s, want the oldest %s",
              got, self.ids[:2])
        for m in msgs:
            check(m.claim_id == self.claim.id,
                  "claimed message href %r lacks claim %s",
                  m.href, self.claim.id)
        return "claim %s, %d messages" % (self.claim.id, len(msgs))

    def claim_get(self):
        cq = self.consumer.queue(self.qname)
        c = cq.claim(id=self.claim.id)
        check(c.ttl == 120, "claim ttl %r, want 120", c.ttl)
        check(c.age >= 0, "claim age %r", c.age)
        got = sorted(msg_id(m) for m in c)
        check(got == sorted(self.ids[:2]), "claim holds %s", got)
        # Claimed messages are hidden from plain listings.
        free = [m.id for m in cq.messages()]
        check(free == self.ids[2:], "listing shows %s, want %s",
              free, self.ids[2:])
        claimed = [m.id for m in cq.messages(include_claimed=True)]
        check(claimed == self.ids, "include_claimed listing shows %s",
              claimed)
        return "ttl %d, age %d" % (c.ttl, c.age)

    def claim_update(self):
        self.claim.update(ttl=240, grace=60)
        c = self.consumer.queue(self.qname).claim(id=self.claim.id)
        check(c.ttl == 240, "claim ttl after update %r, want 240", c.ttl)
        return "ttl 240"

    def claim_release(self):
        old = self.claim.id
        self.claim.delete()
        cq = self.consumer.queue(self.qname)
        expect_error(zerrors.ResourceNotFound,
                     lambda: cq.claim(id=old).ttl)
        self.claim = cq.claim(ttl=120, grace=60, limit=2)
        check(self.claim.id and self.claim.id != old,
              "re-claim id %r (released %r)", self.claim.id, old)
        got = [m.id for m in self.claim]
        check(got == self.ids[:2], "re-claim took %s, want %s",
              got, self.ids[:2])
        return "released %s, re-claimed as %s" % (old, self.claim.id)

    def delete_with_claim(self):
        # Without the claim id the server refuses (403).
        req, trans = self.consumer._request_and_transport()
        expect_error(zerrors.ForbiddenError, v1core.message_delete,
                     trans, req, self.qname, self.ids[0])
        cq = self.consumer.queue(self.qname)
        msgs = list(cq.claim(id=self.claim.id))
        target = [m for m in msgs if msg_id(m) == self.ids[0]]
        check(target, "claim lost message %s", self.ids[0])
        target[0].delete()  # sends ?claim_id=
        expect_error(zerrors.ResourceNotFound, self.q.message, self.ids[0])
        return "deleted %s with claim %s" % (self.ids[0], self.claim.id)

    def stats(self):
        stats = self.q.stats
        msgs = stats.get("messages", {})
        want = {"claimed": 1, "free": 2, "total": 3}
        got = {k: msgs.get(k) for k in want}
        check(got == want, "stats %r, want %r", msgs, want)
        for k in ("oldest", "newest"):
            check(k in msgs and "href" in msgs[k] and "age" in msgs[k],
                  "stats lacks %s: %r", k, msgs)
        return "claimed 1, free 2, total 3"

    def pop_and_bulk_delete(self):
        popped = list(self.q.pop(count=1))
        check(len(popped) == 1 and popped[0].id in self.ids[2:],
              "pop(1) returned %s, want one of the free %s",
              [m.id for m in popped], self.ids[2:])
        # Bulk delete ignores claims: the claimed ids[1] goes too.
        rest = [i for i in self.ids[1:] if i != popped[0].id]
        self.q.delete_messages(*rest)
        left = list(self.q.messages(echo=True, include_claimed=True))
        check(left == [], "after bulk delete %d messages remain", len(left))
        return "popped %s, deleted 2" % popped[0].id

    def delete_queue(self):
        self.q.delete()
        self.created.remove(self.qname)
        queues, _ = self.producer.queues()
        names = [q.name for q in queues]
        check(names == [self.other], "after delete the project lists %s",
              names)
        msgs = self.q.stats.get("messages", {})
        check(msgs.get("total") == 0, "stats after delete %r", msgs)
        self.producer.queue(self.other, auto_create=False).delete()
        self.created.remove(self.other)
        return self.qname

    def run(self):
        steps = [
            ("ping", self.ping),
            ("home document", self.homedoc),
            ("queue create", self.create_queues),
            ("queue list", self.list_queues),
            ("queue metadata defaults", self.metadata_defaults),
            ("queue metadata set", self.metadata_set),
            ("queue metadata get/replace", self.metadata_get),
            ("message post (single)", self.post_single),
            ("message post (batch)", self.post_batch),
            ("message list (echo, paging)", self.list_messages),
            ("message get by id / ids", self.get_message),
            ("claim create", self.claim_create),
            ("claim get", self.claim_get),
            ("claim update", self.claim_update),
            ("claim release and re-claim", self.claim_release),
            ("message delete with claim id", self.delete_with_claim),
            ("queue stats", self.stats),
            ("message pop and bulk delete", self.pop_and_bulk_delete),
            ("queue delete", self.delete_queue),
        ]
        print("python-zaqarclient session against %s (project %s)"
              % (self.url, self.project))
        for name, fn in steps:
            self.step(name, fn)
        print("all %d steps passed" % self.steps)


def main(argv):
    if len(argv) != 2 or not argv[1].startswith(("http://", "https://")):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    Session(argv[1].rstrip("/")).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
