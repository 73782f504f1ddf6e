package zaqar

import "strings"

// Topics (/v2/topics) are queues without claims. They live in a storage
// project of their own next to the caller's, so a topic and a queue may
// share a name; the suffix holds a NUL byte, which no client can send in an
// X-Project-ID header.
const topicSuffix = "\x00topics"

// TopicRef is the storage name of a project's topic.
func TopicRef(project, name string) QueueRef {
	return QueueRef{Project: TopicProject(project), Name: name}
}

// TopicProject is the storage project holding project's topics.
func TopicProject(project string) string { return project + topicSuffix }

// IsTopic reports whether q names a topic.
func (q QueueRef) IsTopic() bool { return strings.HasSuffix(q.Project, topicSuffix) }

// Owner is the project a client knows q by.
func (q QueueRef) Owner() string { return strings.TrimSuffix(q.Project, topicSuffix) }

// Kind is "queue" or "topic", for messages and paths.
func (q QueueRef) Kind() string {
	if q.IsTopic() {
		return "topic"
	}
	return "queue"
}

// Path is the resource's API path, /v2/queues/NAME or /v2/topics/NAME.
func (q QueueRef) Path() string { return "/v2/" + q.Kind() + "s/" + q.Name }
