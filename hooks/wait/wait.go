// Package wait holds the waiters that decide when a pending hook may be
// cleared: an approval message on a Zaqar queue, a webhook answering 2xx,
// a command exiting 0, a condition on another queue, a deadline.
//
// A waiter only decides. It returns when it has (Result), or with ctx's
// error when ctx ends first; the caller (package watch) bounds it with the
// rule's timeout, stops it when the hook stops being pending, clears the
// hook or applies a rejection, and then calls Result.Ack so that a waiter
// that consumed something (an approval message) deletes it only once the
// decision took effect. Waiters retry transient failures (Zaqar or the
// webhook unreachable) until ctx ends, logging them.
package wait

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"github.com/zaqar-go/suite/hooks"
)

// Waiter decides whether a hook may be cleared.
type Waiter interface {
	Wait(ctx context.Context, h hooks.Hook) (Result, error)
}

// Result is a waiter's decision.
type Result struct {
	Approved bool
	// Reason says why: the rejection's reason, the webhook's answer, the
	// command's output.
	Reason string
	// Ack is called after the decision took effect (may be nil).
	Ack func(ctx context.Context) error
	// Release gives back what the waiter holds when the decision could
	// not be carried out (may be nil); the waiter will find it again.
	Release func(ctx context.Context)
}

// Done calls Ack when there is one.
func (r Result) Done(ctx context.Context) error {
	if r.Ack == nil {
		return nil
	}
	return r.Ack(ctx)
}

// Undo calls Release when there is one.
func (r Result) Undo(ctx context.Context) {
	if r.Release != nil {
		r.Release(ctx)
	}
}

// Expand fills a template's placeholders with the hook's fields:
// {stack} and {stack_id} (the root stack), {nested_stack} and
// {nested_stack_id} (the resource's own stack), {resource}, {path},
// {hook}, {action}, {event_id}.
func Expand(tmpl string, h hooks.Hook) string {
	return strings.NewReplacer(
		"{stack}", h.Root.Name, "{stack_id}", h.Root.ID,
		"{nested_stack}", h.Stack.Name, "{nested_stack_id}", h.Stack.ID,
		"{resource}", h.Resource, "{path}", h.Path, "{hook}", h.Type,
		"{action}", h.Action, "{event_id}", h.EventID,
	).Replace(tmpl)
}

var notQueueChars = regexp.MustCompile(`[^a-zA-Z0-9_-]`)

// QueueName expands a queue name template and makes the result a valid
// Zaqar queue name: characters other than letters, digits, _ and - (the
// dots of stack names, the slashes of paths) become -, and the name is cut
// at 64 characters.
func QueueName(tmpl string, h hooks.Hook) string {
	q := notQueueChars.ReplaceAllString(Expand(tmpl, h), "-")
	if len(q) > 64 {
		q = q[:64]
	}
	return q
}

// Document is the JSON a webhook receives and a command reads on stdin.
func Document(h hooks.Hook) []byte {
	b, _ := json.Marshal(h)
	return b
}

// Env is the hook in environment variables, for commands.
func Env(h hooks.Hook) []string {
	return []string{
		"HOOK_TYPE=" + h.Type,
		"HOOK_ACTION=" + h.Action,
		"HOOK_STACK_NAME=" + h.Root.Name,
		"HOOK_STACK_ID=" + h.Root.ID,
		"HOOK_NESTED_STACK_NAME=" + h.Stack.Name,
		"HOOK_NESTED_STACK_ID=" + h.Stack.ID,
		"HOOK_RESOURCE=" + h.Resource,
		"HOOK_PATH=" + h.Path,
		"HOOK_RESOURCE_TYPE=" + h.ResourceType,
		"HOOK_EVENT_ID=" + h.EventID,
		"HOOK_EVENT_TIME=" + h.EventTime.UTC().Format(time.RFC3339),
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
