package main

import (
	"flag"
	"fmt"
	"io"
)

// help is what `hooks SUBCOMMAND -h` says before the flags: what the
// subcommand does, and an example.
var help = map[string]string{
	"run": `hooks run --config hooks.yml [flags]

Claims hook events from the configured queue (an event sink of the stacks,
and stacks polled in Heat), waits on each as the first matching rule says
(an approval message, a webhook, a command, a queue condition, a deadline)
and clears the hook, fails or rolls back the stack, or leaves it paused.
Hooks paused by a rollback get the rule's on_rollback. Each hook event is
acted on once, however many runners watch. SIGTERM or SIGINT: waits stop
and their hook events go back to the queue at once for another runner.
Claims long-poll (--wait, claim.wait): zaqar-server holds an empty claim
until a message arrives; against a Zaqar that answers at once the runner
pauses claim.poll (waiters: their interval) between empty claims.

Example:
  hooks run --config /etc/hooks/hooks.yml --metrics-addr 127.0.0.1:9108
`,
	"validate": `hooks validate --config hooks.yml

Checks a hooks.yml: unknown keys, queue names, policies, Heat's hook types
and actions in match, webhook URLs, a deadline that the timeout would
always beat. Problems are printed as file:line:column.

Example:
  hooks validate --config hooks.yml
`,
	"poll": `hooks poll STACK [--nested-depth N] [--json]

Lists the hooks pending in a stack and its nested stacks, as
'openstack stack hook poll' does, but with post-* hooks, paths and the
hook event ids that approvals name.

Example:
  hooks poll web --json
`,
	"clear": `hooks clear [--pre-create|--pre-update|--pre-delete] STACK PATH [HOOK]

Clears hooks on every resource PATH names (globs, nested stacks with /), as
'openstack stack hook clear' does. Without a hook name it takes the pre-*
hook of the stack's action: pre-update for UPDATE and ROLLBACK.

Example:
  hooks clear web 'child/db_*'
`,
	"approve": `hooks approve QUEUE [--reject] [--reason TEXT] [--stack S [--resource R] [--hook H] | --event-id E]

Posts an approval (or with --reject a rejection) to a rule's approval
queue. An approval names the pause it approves: with --stack the pending
hooks of the stack (narrowed by --resource and --hook) are looked up in
Heat and one message naming each pause (event_id, paused_at) is posted;
--event-id names one directly. A message naming no pause counts only for
a hook that paused at least a second before it was posted.

Example:
  hooks approve approve-web --stack web --resource db --reason "CAB-1234"
`,
}

// usageFor prints a subcommand's help and its flags.
func usageFor(name string, fs *flag.FlagSet, w io.Writer) func() {
	return func() {
		if name == "list" {
			name = "poll"
		}
		fmt.Fprint(w, help[name])
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}
