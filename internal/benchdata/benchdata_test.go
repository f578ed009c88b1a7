package benchdata

import (
	"testing"
)

// TestChurnerRemovesAtRandomIndices checks that the churner removes present
// items and that their indices are spread over the whole container, before
// and after its ring has turned: removing in the order of the items, or
// always near one end, would measure a different workload.
func TestChurnerRemovesAtRandomIndices(t *testing.T) {
	const n, ops, bins = 2_000, 6_000, 10
	s := append(SortedSlice(nil), Items(n)...) // Items are shared: not modified
	c := NewChurner(Items(n))
	var hist [bins]int
	for i := range ops {
		old, fresh := c.Next()
		at := s.Remove(old)
		if at < 0 {
			t.Fatalf("op %d: removed %d, which is not in the container", i, old)
		}
		hist[at*bins/n]++
		s.Add(fresh)
		if len(s) != n {
			t.Fatalf("op %d: %d items after churn, want %d (fresh item %d was present)", i, len(s), n, fresh)
		}
	}
	// Each tenth of the indices expects ops/bins removals; a binomial's
	// standard deviation here is about 23, so 450..750 fails only a broken
	// spread.
	for b, got := range hist {
		if got < ops/bins/4*3 || got > ops/bins/4*5 {
			t.Errorf("indices in tenth %d were removed %d times of %d, want about %d: %v", b, got, ops, ops/bins, hist)
		}
	}
}
