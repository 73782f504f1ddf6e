package service

import (
	"encoding/json"
)

// The walkers below visit the members of a JSON document that json.Valid
// has accepted, in one pass and without building maps: message posts are
// the hot path, and decoding them into map[string]json.RawMessage scanned
// each byte about six times. They rely on the input being valid JSON and
// never look inside values they only skip.

// walkObject calls f with each member of the object raw (which starts with
// '{') in document order; key is unescaped, val is the value's bytes and
// compact reports whether it has no whitespace outside strings.
// Duplicate keys are all visited, so a caller that keeps the last one gets
// what decoding into a map would. It returns f's first error.
func walkObject(raw []byte, f func(key, val []byte, compact bool) error) error {
	i := skipSpace(raw, 1)
	if i < len(raw) && raw[i] == '}' {
		return nil
	}
	for i < len(raw) {
		end := skipString(raw, i)
		key := raw[i+1 : end-1]
		for _, c := range key {
			if c == '\\' { // rare: let encoding/json unescape it
				var s string
				if err := json.Unmarshal(raw[i:end], &s); err != nil {
					return errUnparsable
				}
				key = []byte(s)
				break
			}
		}
		i = skipSpace(raw, end)
		i = skipSpace(raw, i+1) // ':'
		vend, compact := skipValue(raw, i)
		if err := f(key, raw[i:vend], compact); err != nil {
			return err
		}
		i = skipSpace(raw, vend)
		if i >= len(raw) || raw[i] == '}' {
			return nil
		}
		i = skipSpace(raw, i+1) // ','
	}
	return nil
}

// walkArray calls f with each element of the array raw (which starts with
// '['); compact reports whether the element has no whitespace outside its
// strings.
func walkArray(raw []byte, f func(val []byte, compact bool) error) error {
	i := skipSpace(raw, 1)
	if i < len(raw) && raw[i] == ']' {
		return nil
	}
	for i < len(raw) {
		end, compact := skipValue(raw, i)
		if err := f(raw[i:end], compact); err != nil {
			return err
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] == ']' {
			return nil
		}
		i = skipSpace(raw, i+1) // ','
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && isSpace(raw[i]) {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at raw[i].
func skipString(raw []byte, i int) int {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(raw)
}

// skipValue returns the index just past the value starting at raw[i], and
// whether that value has no whitespace outside strings.
func skipValue(raw []byte, i int) (int, bool) {
	switch raw[i] {
	case '"':
		return skipString(raw, i), true
	case '{', '[':
		compact, depth := true, 0
		for j := i; j < len(raw); j++ {
			switch c := raw[j]; c {
			case '"':
				j = skipString(raw, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, compact
				}
			default:
				if isSpace(c) {
					compact = false
				}
			}
		}
		return len(raw), compact
	}
	j := i
	for j < len(raw) {
		switch raw[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j, true
		}
		j++
	}
	return j, true
}
