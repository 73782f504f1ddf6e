/*
Package zaqarapi adds to gophercloud's messaging/v2 (queues, messages,
claims) the Zaqar v2 calls heatsink and hooks need where those packages fall
short, in their shape: a request function per call, a result with Extract.

  - CreateQueue says whether the queue was created (201) or existed (204),
    which queues.Create hides; creation is atomic, so it also serves as a lock.
  - ListMessages pages messages with their bodies as raw JSON: messages.List
    decodes bodies into map[string]any and fails on any other JSON value.
  - PostMessages posts any JSON-encodable bodies (structs too), where
    messages.Create takes only maps.
  - CreateClaim returns the claim id and the claimed messages with raw bodies
    and their ids, which claims.Create leaves inside each message's href.
  - CreateClaimOpts and ListMessagesOpts add Wait, zaqar-server's long
    polling (docs/long-polling.md): the server holds a claim or a listing
    that finds nothing up to Wait seconds. Zaqar ignores it.

Everything else (queue metadata, stats, sharing, deleting messages and
claims, renewing claims) is gophercloud's own.

Example to create a queue and learn whether it existed

	created, err := zaqarapi.CreateQueue(ctx, client, "events", map[string]any{"_max_claim_count": 5}).Extract()

Example to list the messages of a queue, claimed ones and one's own too

	pager := zaqarapi.ListMessages(client, "events", messages.ListOpts{Echo: true, IncludeClaimed: true, Limit: 20})
	err := pager.EachPage(ctx, func(ctx context.Context, page pagination.Page) (bool, error) {
		ms, err := zaqarapi.ExtractMessages(page)
		if err != nil {
			return false, err
		}
		for _, m := range ms {
			fmt.Println(m.ID, string(m.Body))
		}
		return true, nil
	})

Example to post an event

	ids, err := zaqarapi.PostMessages(ctx, client, "events", zaqarapi.NewMessage{TTL: 3600, Body: ev}).Extract()

Example to claim messages, waiting up to 20 seconds for some on zaqar-server

	claim, err := zaqarapi.CreateClaim(ctx, client, "events", zaqarapi.CreateClaimOpts{
		CreateOpts: claims.CreateOpts{TTL: 60, Grace: 60, Limit: 10}, Wait: 20}).Extract()

Example to claim messages

	claim, err := zaqarapi.CreateClaim(ctx, client, "events", claims.CreateOpts{TTL: 60, Grace: 60, Limit: 10}).Extract()
	for _, m := range claim.Messages {
		// handle m.Body, then
		err := messages.Delete(ctx, client, "events", m.ID, messages.DeleteOpts{ClaimID: claim.ID}).ExtractErr()
	}
*/
package zaqarapi
