package sortedset

import (
	"slices"
	"unsafe"
)

// token identifies the Set that may write a bucket in place. Clone gives the
// original and the clone fresh tokens, so every bucket they share belongs to
// neither, and each copies it when it first writes it. It has a size so that
// each new token has its own address.
type token struct{ _ byte }

// bucket is a sorted run of at most bucketSize items. For Sets made WithKey,
// keys[i] is key(items[i]); otherwise keys is nil.
type bucket[T any] struct {
	items []T
	keys  []uint64
	owner *token
	row   int // where the bucket's samples start in Set.rows, when the Set keeps rows
}

// headroom is the spare capacity a new bucket array gets: enough to take a few
// inserts without reallocating, small enough to keep memory near len × size.
func headroom(bucketSize int) int {
	return max(1, bucketSize/16)
}

// prefetch asks for s's items to be brought into the cache and does not wait
// for them; without the amd64 assembly it does nothing.
func prefetch[E any](s []E) {
	if len(s) > 0 {
		p := unsafe.Pointer(unsafe.SliceData(s))
		prefetchLines((*byte)(p), prefetchSpan(uintptr(p), len(s)*int(unsafe.Sizeof(s[0]))))
	}
}

// prefetchSpan is the length to give prefetchLines for the n bytes at p.
// prefetchLines asks for p, p+64, ... while they are within the length, so
// the n bytes alone leave out the last line they touch whenever p is not at
// a line's start and the bytes end past p's offset in their last line; the
// offset of p in its line, added, asks for it.
func prefetchSpan(p uintptr, n int) int {
	if n <= 0 {
		return n
	}
	return n + int(p&63)
}

// insertAt inserts v at s[i] and returns the slice. When s is full it moves
// to a new array of capacity grow (at least one more than len(s)).
func insertAt[E any](s []E, i int, v E, grow int) []E {
	if len(s) == cap(s) {
		t := make([]E, len(s)+1, max(grow, len(s)+1))
		copy(t, s[:i])
		t[i] = v
		copy(t[i+1:], s[i:])
		return t
	}
	s = s[:len(s)+1]
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// cloneWithRoom copies s into a new array with room for extra more elements.
// It returns nil for a nil s, which keeps keys nil for Sets without a key.
func cloneWithRoom[E any](s []E, extra int) []E {
	if s == nil {
		return nil
	}
	return append(make([]E, 0, len(s)+extra), s...)
}

// replaceZero replaces s[i:j] with n zero values and returns the slice,
// growing it only when it lacks the capacity.
func replaceZero[E any](s []E, i, j, n int) []E {
	end := len(s) + n - (j - i)
	if end > len(s) {
		s = slices.Grow(s, end-len(s))
	}
	t := s[:max(len(s), end)]
	copy(t[i+n:end], s[j:])
	clear(t[i : i+n])
	clear(t[end:])
	return t[:end]
}

// concat returns a and b in one new array with room for extra more elements.
func concat[E any](a, b []E, extra int) []E {
	if a == nil && b == nil {
		return nil
	}
	return append(append(make([]E, 0, len(a)+len(b)+extra), a...), b...)
}
