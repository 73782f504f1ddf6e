// Package zaqar holds the domain of the messaging service: queues, messages,
// claims and subscriptions, the limits that bound them, and the typed errors
// every layer returns. It imports nothing of ours; everything else may import it.
package zaqar
