package storage

import (
	"encoding/json"
	"strconv"

	"github.com/zaqar-go/suite/zaqar-server/internal/zaqar"
)

// MatchesFilter reports whether meta satisfies every key=value filter of a
// queue listing. As in Zaqar, a filter value that parses as an integer
// matches an integer metadata value; otherwise it matches a string value.
// Drivers that filter in the client share this so they agree.
func MatchesFilter(meta zaqar.Metadata, filter map[string]string) bool {
	for k, want := range filter {
		got, ok := meta[k]
		if !ok {
			return false
		}
		if n, err := strconv.ParseInt(want, 10, 64); err == nil {
			if !equalsInt(got, n) {
				return false
			}
			continue
		}
		if s, ok := got.(string); !ok || s != want {
			return false
		}
	}
	return true
}

func equalsInt(v any, n int64) bool {
	switch x := v.(type) {
	case json.Number:
		i, err := x.Int64()
		return err == nil && i == n
	case int64:
		return x == n
	case int:
		return int64(x) == n
	case float64:
		return x == float64(n)
	}
	return false
}
