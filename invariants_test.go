package sortedset

import (
	"fmt"
	"reflect"
	"slices"
)

// check verifies every structural invariant of s and returns the first one
// that does not hold. It is the debug check the tests run after each command:
// it is what catches a WithKey function that is not monotone.
func (s *Set[T]) check() error {
	nb := len(s.buckets)
	if s.lo < 0 || s.lo > nb || len(s.dir)-s.lo != nb || nb > 0 && &s.dir[s.lo] != &s.buckets[0] {
		return fmt.Errorf("buckets are not dir[%d:] (%d buckets, %d slots)", s.lo, nb, len(s.dir))
	}
	for i, bk := range s.dir[:s.lo] {
		if !reflect.ValueOf(bk).IsZero() {
			return fmt.Errorf("front room slot %d of %d holds a bucket of %d items", i, s.lo, len(bk.items))
		}
	}
	if len(s.fences) != nb || len(s.sizes) != fenwickLen(len(s.dir)) || s.sizes.prefix(len(s.sizes)) != s.n {
		return fmt.Errorf("%d buckets, %d fences, %d sizes", nb, len(s.fences), len(s.sizes))
	}
	// Every node, the padding's too (At's descent reads them), by its
	// definition: node i (from 1) sums the lengths of dir's slots
	// [i - i&-i, i), which are the front room's then the buckets.
	for i := 1; i <= len(s.sizes); i++ {
		sum := 0
		for _, bk := range s.dir[min(i-i&-i, len(s.dir)):min(i, len(s.dir))] {
			sum += len(bk.items)
		}
		if s.sizes[i-1] != sum {
			return fmt.Errorf("Fenwick node %d is %d, the lengths of slots [%d, %d) sum to %d", i, s.sizes[i-1], i-i&-i, i, sum)
		}
	}
	if s.key != nil && len(s.fkeys) != nb {
		return fmt.Errorf("%d buckets, %d fence keys", nb, len(s.fkeys))
	}
	if s.shift > 0 {
		if len(s.rows) != (nb+len(s.free))*rowLen {
			return fmt.Errorf("%d buckets and %d free rows, %d row samples", nb, len(s.free), len(s.rows))
		}
		used := make(map[int]bool)
		for _, r := range append(slices.Clone(s.free), bucketRows(s.buckets)...) {
			if r < 0 || r%rowLen != 0 || r >= len(s.rows) || used[r] {
				return fmt.Errorf("row %d is out of place or used twice (rows %d, free %v)", r, len(s.rows), s.free)
			}
			used[r] = true
		}
	}
	total := 0
	var prev T
	for b, bk := range s.buckets {
		if len(bk.items) == 0 || len(bk.items) > s.bucketSize {
			return fmt.Errorf("bucket %d has %d items (bucket size %d)", b, len(bk.items), s.bucketSize)
		}
		if got := s.before(b); got != total {
			return fmt.Errorf("prefix(%d) = %d, want %d", b, got, total)
		}
		if s.key != nil && len(bk.keys) != len(bk.items) {
			return fmt.Errorf("bucket %d: %d keys for %d items", b, len(bk.keys), len(bk.items))
		}
		for i, x := range bk.items {
			if (b > 0 || i > 0) && s.compare(prev, x) >= 0 {
				return fmt.Errorf("bucket %d item %d: %v is not greater than %v", b, i, x, prev)
			}
			if s.key != nil {
				if k := s.key(x); bk.keys[i] != k {
					return fmt.Errorf("bucket %d item %d: stored key %d, key() = %d", b, i, bk.keys[i], k)
				}
				if (b > 0 || i > 0) && s.key(prev) > s.key(x) {
					return fmt.Errorf("key is not monotone: key(%v) = %d > key(%v) = %d", prev, s.key(prev), x, s.key(x))
				}
			}
			prev = x
		}
		if s.compare(s.fences[b], prev) != 0 {
			return fmt.Errorf("fence %d is %v, last item %v", b, s.fences[b], prev)
		}
		if s.key != nil && s.fkeys[b] != s.key(prev) {
			return fmt.Errorf("fence key %d is %d, want %d", b, s.fkeys[b], s.key(prev))
		}
		if err := s.checkRow(b); err != nil {
			return err
		}
		total += len(bk.items)
	}
	if total != s.n {
		return fmt.Errorf("buckets hold %d items, Len is %d", total, s.n)
	}
	// Merging keeps the bucket count within a small factor of Len/B.
	if limit := 8*((s.n+s.bucketSize-1)/s.bucketSize) + 1; nb > limit {
		return fmt.Errorf("%d buckets for %d items of bucket size %d (limit %d)", nb, s.n, s.bucketSize, limit)
	}
	return nil
}

// checkRow verifies the sample row of bucket b against its items.
func (s *Set[T]) checkRow(b int) error {
	if s.shift == 0 {
		return nil
	}
	items := s.buckets[b].items
	j := 0
	for ; j < rowLen && (j+1)<<s.shift <= len(items); j++ {
		i := (j+1)<<s.shift - 1
		if got := s.rows[s.buckets[b].row+j]; s.compare(got, items[i]) != 0 {
			return fmt.Errorf("bucket %d sample %d is %v, item %d is %v", b, j, got, i, items[i])
		}
	}
	// A stale sample would keep a removed item reachable.
	for ; j < rowLen; j++ {
		if got := s.rows[s.buckets[b].row+j]; !reflect.ValueOf(&got).Elem().IsZero() {
			return fmt.Errorf("bucket %d of %d items has a stale sample %d: %v", b, len(items), j, got)
		}
	}
	return nil
}

func bucketRows[T any](bs []bucket[T]) []int {
	rows := make([]int, len(bs))
	for i, b := range bs {
		rows[i] = b.row
	}
	return rows
}
