package heatapi

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/orchestration/v1/stackevents"
)

// SignalOptsBuilder builds the body of a resource signal.
type SignalOptsBuilder interface {
	ToResourceSignalMap() (map[string]any, error)
}

// UnsetHookOpts clears a pending hook: {"unset_hook": "pre-create"}.
type UnsetHookOpts struct {
	// Hook is pre-create, pre-update, pre-delete, post-create, post-update
	// or post-delete.
	Hook string `json:"unset_hook" required:"true"`
}

// ToResourceSignalMap builds the signal body.
func (opts UnsetHookOpts) ToResourceSignalMap() (map[string]any, error) {
	return gophercloud.BuildRequestBody(opts, "")
}

// Signal sends a signal to a resource: POST
// /stacks/{stack_name}/{stack_id}/resources/{resource_name}/signal. Heat
// needs both the stack's name and id here, and for a resource of a nested
// stack, the nested stack's own name and id. Heat answers 200 with body
// null.
func Signal(ctx context.Context, c *gophercloud.ServiceClient, stackName, stackID, resourceName string, opts SignalOptsBuilder) (r SignalResult) {
	b, err := opts.ToResourceSignalMap()
	if err != nil {
		r.Err = err
		return
	}
	resp, err := c.Post(ctx, signalURL(c, stackName, stackID, resourceName), b, nil, &gophercloud.RequestOpts{OkCodes: []int{200}})
	_, r.Header, r.Err = gophercloud.ParseResponse(resp, err)
	return
}

// CancelOptsBuilder builds the body of a cancel action.
type CancelOptsBuilder interface {
	ToStackActionMap() (map[string]any, error)
}

// CancelOpts cancels the stack's operation in progress. Without Rollback
// ({"cancel_without_rollback": null}) Heat accepts it for CREATE and
// UPDATE, marks the stack FAILED and lets running resources finish; with
// Rollback ({"cancel_update": null}, `openstack stack cancel`) only for
// UPDATE (heat/engine/service.py stack_cancel_update).
type CancelOpts struct {
	Rollback bool
}

// ToStackActionMap builds the action body.
func (opts CancelOpts) ToStackActionMap() (map[string]any, error) {
	if opts.Rollback {
		return map[string]any{"cancel_update": nil}, nil
	}
	return map[string]any{"cancel_without_rollback": nil}, nil
}

// Cancel sends a cancel action: POST /stacks/{stack_name}/{stack_id}/actions.
// Heat answers 200; a stack in another state gets 400 NotSupported.
func Cancel(ctx context.Context, c *gophercloud.ServiceClient, stackName, stackID string, opts CancelOptsBuilder) (r ActionResult) {
	b, err := opts.ToStackActionMap()
	if err != nil {
		r.Err = err
		return
	}
	resp, err := c.Post(ctx, actionsURL(c, stackName, stackID), b, nil, &gophercloud.RequestOpts{OkCodes: []int{200}})
	_, r.Header, r.Err = gophercloud.ParseResponse(resp, err)
	return
}

// EventListOpts adds nested_depth, which stackevents.ListOpts lacks, to
// stackevents.List: events of nested stacks down to that depth are
// interleaved with the stack's own, each with its own stack link, and every
// event gets a root_stack link.
type EventListOpts struct {
	stackevents.ListOpts
	NestedDepth int
}

// ToStackEventListQuery formats the options into a query string.
func (opts EventListOpts) ToStackEventListQuery() (string, error) {
	q, err := gophercloud.BuildQueryString(opts.ListOpts)
	if err != nil {
		return "", err
	}
	v := q.Query()
	if opts.NestedDepth > 0 {
		v.Set("nested_depth", fmt.Sprint(opts.NestedDepth))
	}
	if len(v) == 0 {
		return "", nil
	}
	return "?" + v.Encode(), nil
}
