/*
Package heatapi holds the Heat orchestration v1 calls hooks needs and
gophercloud v2 lacks, in gophercloud's own shape (requests, results,
urls, testing): the resource signal that clears a hook, the stack actions
that cancel a stack operation, and event list options with nested_depth.

Example to clear a pre-create hook

	err := heatapi.Signal(ctx, client, "hook-demo", stackID, "app_hooked",
		heatapi.UnsetHookOpts{Hook: "pre-create"}).ExtractErr()
	if f, ok := heatapi.FaultOf(err); ok && f.Type == heatapi.InvalidBreakPointHook {
		// not pending: never set, wrong type, or already cleared
	}

Example to cancel a CREATE or UPDATE without rolling back

	err := heatapi.Cancel(ctx, client, "hook-demo", stackID, heatapi.CancelOpts{}).ExtractErr()

Example to list events of a stack and its nested stacks, oldest first

	pages, err := stackevents.List(client, "hook-demo", stackID, heatapi.EventListOpts{
		ListOpts:    stackevents.ListOpts{SortDir: stackevents.SortAsc},
		NestedDepth: 3,
	}).AllPages(ctx)
*/
package heatapi
