package zaqarapi

import "github.com/gophercloud/gophercloud/v2"

// The messaging client's endpoint is Zaqar's root, as in gophercloud's
// messaging/v2 (its URLs start with the API version).
const apiVersion = "v2"

func queueURL(c *gophercloud.ServiceClient, queue string) string {
	return c.ServiceURL(apiVersion, "queues", queue)
}

func messagesURL(c *gophercloud.ServiceClient, queue string) string {
	return c.ServiceURL(apiVersion, "queues", queue, "messages")
}

func claimsURL(c *gophercloud.ServiceClient, queue string) string {
	return c.ServiceURL(apiVersion, "queues", queue, "claims")
}
