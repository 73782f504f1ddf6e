// Package ws serves Zaqar's WebSocket API (v2) with coder/websocket, over
// the same service layer as the REST transport: an action handler decodes
// the request, calls service and encodes the answer; errors go through
// transport.Describe.
//
// # Protocol
//
// A text frame carries a JSON request, a binary frame a MessagePack one,
// and each response is framed like its request:
//
//	> {"action": "queue_create", "headers": {"Client-ID": "…", "X-Project-ID": "p"}, "body": {"queue_name": "q"}}
//	< {"request": {"action": "queue_create", "body": {…}, "headers": {…}, "api": "v2"},
//	   "body": "Queue q created.", "headers": {"status": 201}}
//
// Every action of zaqar/api/v2/endpoints.py is served with Zaqar's
// statuses and bodies; the pool, flavor and node actions, which Zaqar
// validates and then fails without a reply, answer 501. Error bodies are
// {"error": <title>, "exception": <description>} from transport.Describe;
// frames that cannot be read at all get {"error": …} only, as in Zaqar.
//
// # Connections
//
// Each connection has one goroutine reading and running requests in order,
// and one writing from a bounded queue. Responses wait for room in the
// queue (so a client that does not read stops being read); notifications
// never wait: a connection whose queue is full is closed with 1008 and the
// reason "Send queue full: client too slow.", and the server counts such
// disconnections in its log. Pings keep idle connections checked; a peer
// that does not answer within PingTimeout is dropped. Frames larger than
// ReadLimit (derived from [transport] limits) close the connection with
// 1009; any other malformed input gets an error response.
//
// # Subscriptions
//
// subscription_create without a subscriber subscribes the connection: as
// in Zaqar it is an ordinary webhook subscription whose subscriber is the
// internal notification listener (Notifications) followed by the
// connection id. The notifier POSTs each notification there, in post order
// per subscription, and the listener queues it on the connection before
// answering, so the socket sees them in that order. The subscriptions a
// connection made this way are deleted when it closes.
//
// # Authentication
//
// With Options.Authenticate set, every action but authenticate answers 403
// "Not authentified." until an authenticate action succeeds, except the
// message actions carrying valid pre-signed URL headers. The connection
// keeps the token's identity and is closed with 4003 "Authentication
// expired." when the token expires. Once authenticated, a request whose
// X-Project-ID names another project than the token's is refused with 403,
// as in Zaqar; one without X-Project-ID runs in the token's project.
// Deliberate differences from Zaqar: a failed authenticate ends an earlier
// authentication; and
// without authentication configured, authenticate succeeds (Zaqar sends
// no reply, which leaves python-zaqarclient waiting forever).
package ws
