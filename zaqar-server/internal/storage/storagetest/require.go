package storagetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// Assertions in the style of nats-server's test_test.go. The optional what
// names the value in the failure, since one case checks many.

func require_NoError(t testing.TB, err error, what ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%sunexpected error: %v", label(what), err)
	}
}

// require_Error fails unless errors.Is(err, target) for one of targets.
func require_Error(t testing.TB, err error, targets ...error) {
	t.Helper()
	for _, target := range targets {
		if errors.Is(err, target) {
			return
		}
	}
	t.Fatalf("got error %v, want one of %v", err, targets)
}

func require_Equal[T comparable](t testing.TB, got, want T, what ...any) {
	t.Helper()
	if got != want {
		t.Fatalf("%sgot %v, want %v", label(what), got, want)
	}
}

func require_DeepEqual(t testing.TB, got, want any, what ...any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%sgot %#v, want %#v", label(what), got, want)
	}
}

// require_Slice compares element-wise; nil and empty are equal.
func require_Slice[T comparable](t testing.TB, got, want []T, what ...any) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%sgot %v, want %v", label(what), got, want)
	}
}

func require_Len[T any](t testing.TB, s []T, n int, what ...any) {
	t.Helper()
	if len(s) != n {
		t.Fatalf("%sgot %d elements, want %d: %v", label(what), len(s), n, s)
	}
}

func require_True(t testing.TB, ok bool, what ...any) {
	t.Helper()
	if !ok {
		t.Fatalf("%sgot false, want true", label(what))
	}
}

func label(what []any) string {
	if len(what) == 0 {
		return ""
	}
	return fmt.Sprint(what...) + ": "
}
