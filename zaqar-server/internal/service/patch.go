package service

import (
	"regexp"
	"strings"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// change is one validated queue PATCH operation on a top-level metadata key.
type change struct {
	op    string
	key   string
	value any
}

var (
	adjacentSlash = regexp.MustCompile(`/\s*?/`)
	badTilde      = regexp.MustCompile(`~[^01]`)
)

// parsePatch validates a decoded PATCH document as Zaqar's queue_patching
// does; every failure is a 400 "Invalid request body".
func parsePatch(v any) ([]change, error) {
	ops, ok := v.([]any)
	if !ok {
		return nil, zaqar.BadBodyf("Request body must be a JSON array of operation objects.")
	}
	out := make([]change, 0, len(ops))
	for _, raw := range ops {
		o, ok := raw.(map[string]any)
		if !ok {
			return nil, zaqar.BadBodyf("Operations must be JSON objects.")
		}
		opv, present := o["op"]
		if !present || opv == nil {
			return nil, zaqar.BadBodyf("Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.")
		}
		op, _ := opv.(string)
		if op != "add" && op != "remove" && op != "replace" {
			return nil, zaqar.BadBodyf("Invalid operation: `%v`. It must be one of the following: add, remove, replace.", opv)
		}
		pv, present := o["path"]
		if !present {
			return nil, zaqar.BadBodyf("Unable to find 'path' in JSON Schema change")
		}
		pointer, ok := pv.(string)
		if !ok {
			return nil, zaqar.BadBodyf("Pointer `%v` does not start with \"/\".", pv)
		}
		path, err := decodePointer(pointer)
		if err != nil {
			return nil, err
		}
		if len(path) != 2 {
			return nil, zaqar.BadBodyf("Invalid JSON pointer for this resource: '/%s, e.g /metadata/key'", strings.Join(path, "/"))
		}
		c := change{op: op, key: path[1]}
		if op != "remove" {
			val, ok := o["value"]
			if !ok {
				return nil, zaqar.BadBodyf("Operation \"%s\" requires a member named \"value\".", op)
			}
			c.value = val
			if strings.ToLower(path[0]) != "metadata" {
				return nil, zaqar.BadBodyf("The root of path must be metadata, e.g /metadata/key.")
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// decodePointer accepts the limited JSON pointers Zaqar does and decodes
// ~1 and ~0 escapes.
func decodePointer(p string) ([]string, error) {
	switch {
	case !strings.HasPrefix(p, "/"):
		return nil, zaqar.BadBodyf("Pointer `%s` does not start with \"/\".", p)
	case adjacentSlash.MatchString(p[1:]):
		return nil, zaqar.BadBodyf("Pointer `%s` contains adjacent \"/\".", p)
	case len(p) > 1 && strings.HasSuffix(p, "/"):
		return nil, zaqar.BadBodyf("Pointer `%s` end with \"/\".", p)
	case strings.TrimSpace(p[1:]) == "/":
		return nil, zaqar.BadBodyf("Pointer `%s` does not contains valid token.", p)
	case badTilde.MatchString(p) || strings.HasSuffix(p, "~"):
		return nil, zaqar.BadBodyf("Pointer `%s` contains \"~\" not part of a recognized escape sequence.", p)
	}
	parts := strings.Split(strings.TrimLeft(p, "/"), "/")
	for i, part := range parts {
		parts[i] = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~"))
	}
	return parts, nil
}
