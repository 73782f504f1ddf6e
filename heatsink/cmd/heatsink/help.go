package main

import (
	"flag"
	"fmt"
	"io"
)

// help is what `heatsink SUBCOMMAND -h` says before the flags: what the
// subcommand does, and an example.
var help = map[string]string{
	"validate": `heatsink validate [--listeners listeners.yml] ENV.yml...

Checks environment files as Heat's API would, and more: what Heat refuses
(400 at stack create) and what Heat accepts and then silently fails on (an
event sink whose ttl or queue name Zaqar refuses: no event ever arrives).
Several files are merged as Heat merges them. Problems are printed as
file:line:column. --listeners checks a listeners.yml too: its keys, Heat's
action and status names in match, webhook URLs, Zaqar's limits.

Example:
  heatsink validate --listeners listeners.yml environment.yml prod.yml
`,
	"prepare": `heatsink prepare [flags] ENV.yml...

Creates the queues the environment's event_sinks name, each with a
dead-letter queue: after --max-claims claims without success a message moves
there instead of coming back forever. Run it before creating the stack.

Example:
  heatsink prepare --max-claims 5 environment.yml
`,
	"share": `heatsink share --queue Q [flags]

Writes a pre-signed URL file for a queue (Zaqar's share), so that a
listener on another host needs no OpenStack credentials. The server must
have a signing key ([signed_url] secret_key).

Example:
  heatsink share --queue stack-events --expires 720h -o stack-events.json
`,
	"listen": `heatsink listen --config listeners.yml [flags]

Claims events from the sink queues and runs the actions of the rules they
match: a webhook, a command with the event on stdin, or a post to another
queue. An event is deleted once every matching action succeeded; a failed
action is retried with backoff, and then comes back with a later claim
until the dead-letter queue takes it. SIGTERM or SIGINT: no new claims,
actions under way get shutdown_grace, the rest is handed back at once.
Claims long-poll (--wait, claim.wait): zaqar-server holds an empty claim
until an event arrives; against a Zaqar that answers at once the listener
pauses claim.poll between empty claims.

Example:
  heatsink listen --config /etc/heatsink/listeners.yml --metrics-addr 127.0.0.1:9107
`,
	"emit": `heatsink emit --stack S (--queue Q | --env ENV.yml...) [flags]

Copies a stack's events from Heat's events API into a queue, in the
message format Heat's sink posts: for stacks created without an event
sink, or to replay. With --state it resumes where it stopped.

Example:
  heatsink emit --stack web --queue stack-events --nested-depth 2 --until-done
`,
}

// usageFor prints a subcommand's help and its flags.
func usageFor(name string, fs *flag.FlagSet, w io.Writer) func() {
	return func() {
		fmt.Fprint(w, help[name])
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}
