#!/usr/bin/python3
"""python-zaqarclient's WebSocket transport against a Zaqar v2 WebSocket API.

Usage: /usr/bin/python3 scripts/zaqarclient-ws.py ws://HOST:PORT/

Uses zaqarclient.transport.ws.WebsocketTransport (Debian package
python3-zaqarclient, with python3-websocket) in no-auth mode the way its
docstring shows: low-level requests whose content is the action's body.
The transport sends an authenticate action first, whatever the server's
auth setting. zaqarclient's higher-level Queue API cannot work over this
transport (it puts the queue name in URL parameters, which the transport
drops with a warning), against Zaqar as against us, so it is not used.
One line per step; exit 1 on the first mismatch, 2 for bad usage or a
missing library.
"""

import json
import sys
import uuid

try:
    from zaqarclient.transport import errors as zerrors
    from zaqarclient.transport import get_transport_for
    from zaqarclient.transport import request
except ImportError as exc:  # pragma: no cover - environment problem
    print("python-zaqarclient is not importable (%s); "
          "apt-get install python3-zaqarclient" % exc, file=sys.stderr)
    sys.exit(2)


def main():
    if len(sys.argv) != 2 or not sys.argv[1].startswith(("ws://", "wss://")):
        print(__doc__, file=sys.stderr)
        return 2
    url = sys.argv[1]
    project = "zaqarclient-ws-" + uuid.uuid4().hex[:8]
    conf = {"auth_opts": {"backend": "noauth",
                          "options": {"os_auth_token": "unused", "os_project_id": project}}}
    queue = "zcws"

    with get_transport_for(url, version=2, options=conf) as ws:
        def call(op, body=None):
            content = json.dumps(body) if body is not None else None
            resp = ws.send(request.Request(url, op, content=content))
            print("%s -> %d %s" % (op, resp.status_code, resp.content[:200]))
            return resp.status_code, json.loads(resp.content)

        def check(cond, what):
            if not cond:
                print("MISMATCH: " + what, file=sys.stderr)
                sys.exit(1)

        status, body = call("queue_create", {"queue_name": queue, "metadata": {"k": "v"}})
        check(status == 201 and body == "Queue %s created." % queue, "queue_create")
        status, body = call("queue_list", {})
        check(status == 200 and body == {"queues": [{"name": queue}]}, "queue_list")
        status, body = call("queue_get", {"queue_name": queue})
        check(status == 200 and body == {"k": "v"}, "queue_get")
        status, body = call("message_post", {"queue_name": queue, "messages": [
            {"body": {"n": 1}, "ttl": 300}, {"body": "two"}]})
        check(status == 201 and len(body["message_ids"]) == 2, "message_post")
        ids = body["message_ids"]
        status, body = call("message_list", {"queue_name": queue, "echo": True})
        check(status == 200 and [m["id"] for m in body["messages"]] == ids, "message_list")
        status, body = call("message_get", {"queue_name": queue, "message_id": ids[1]})
        check(status == 200 and body["messages"]["body"] == "two", "message_get")
        status, body = call("message_get_many", {"queue_name": queue, "message_ids": ids})
        check(status == 200 and len(body["messages"]) == 2, "message_get_many")
        status, body = call("claim_create", {"queue_name": queue, "limit": 1, "ttl": 60})
        check(status == 201 and body["messages"][0]["claim_id"] == body["claim_id"], "claim_create")
        cid = body["claim_id"]
        status, body = call("claim_get", {"queue_name": queue, "claim_id": cid})
        check(status == 200 and body["ttl"] == 60, "claim_get")
        status, body = call("claim_update", {"queue_name": queue, "claim_id": cid, "ttl": 120})
        check(status == 204, "claim_update")
        status, body = call("message_delete", {"queue_name": queue, "message_id": ids[0], "claim_id": cid})
        check(status == 204, "message_delete")
        status, body = call("claim_delete", {"queue_name": queue, "claim_id": cid})
        check(status == 204, "claim_delete")
        status, body = call("queue_get_stats", {"queue_name": queue})
        check(status == 200 and body["messages"]["total"] == 1, "queue_get_stats")
        status, body = call("message_delete_many", {"queue_name": queue, "pop": 1})
        check(status == 200 and len(body["messages"]) == 1, "message_delete_many pop")
        status, body = call("subscription_create", {"queue_name": queue, "subscriber": "http://example.invalid/", "ttl": 600})
        check(status == 201, "subscription_create")
        sid = body["subscription_id"]
        status, body = call("subscription_get", {"queue_name": queue, "subscription_id": sid})
        check(status == 200 and body["subscriber"] == "http://example.invalid/", "subscription_get")
        status, body = call("subscription_list", {"queue_name": queue})
        check(status == 200 and len(body["subscriptions"]) == 1, "subscription_list")
        status, body = call("subscription_delete", {"queue_name": queue, "subscription_id": sid})
        check(status == 204, "subscription_delete")
        status, body = call("queue_purge", {"queue_name": queue})
        check(status == 204, "queue_purge")
        # Errors surface as zaqarclient's exceptions.
        try:
            call("message_get", {"queue_name": queue, "message_id": "nope"})
            check(False, "message_get of a missing message did not raise")
        except zerrors.ResourceNotFound:
            print("message_get (missing) -> ResourceNotFound")
        try:
            call("queue_list", {"limit": "ten"})
            check(False, "a schema failure did not raise")
        except zerrors.MalformedRequest:
            print("queue_list (limit not an integer) -> MalformedRequest")
        status, body = call("queue_delete", {"queue_name": queue})
        check(status == 204, "queue_delete")
    print("python-zaqarclient WebSocket transport: all steps passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
