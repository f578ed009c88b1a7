package sortedset

import (
	"cmp"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/stretchr/testify/require"
)

// payload is a pointer item worth collecting.
type payload struct {
	k int
	_ [1 << 10]byte
}

// addPayloads adds n payloads keyed 0..n-1 to a pointer Set (which keeps
// sample rows: 8-byte items) and returns weak pointers to them.
func addPayloads(n int) (*Set[*payload], []weak.Pointer[payload]) {
	s := NewFunc(func(a, b *payload) int { return cmp.Compare(a.k, b.k) })
	ws := make([]weak.Pointer[payload], n)
	for i := range n {
		p := &payload{k: i}
		ws[i] = weak.Make(p)
		s.Add(p)
	}
	return s, ws
}

// alive counts the payloads of ws that are still reachable, after two
// collections.
func alive(ws []weak.Pointer[payload], which func(i int) bool) int {
	runtime.GC()
	runtime.GC()
	n := 0
	for i, w := range ws {
		if which(i) && w.Value() != nil {
			n++
		}
	}
	return n
}

// Removed items must not stay reachable through the sample rows: samples
// past a shrunk bucket's end, and the rows of dropped buckets, kept 593 of
// 20,000 removed payloads alive in an empty Set.
func TestRemovedPointersAreCollectable(t *testing.T) {
	s, ws := addPayloads(20_000)
	for s.Len() > 0 {
		s.RemoveAt(s.Len() - 1)
	}
	require.Zero(t, alive(ws, func(int) bool { return true }), "removed items reachable from the empty Set (%+v)", s.Stats())
	runtime.KeepAlive(s)

	s, ws = addPayloads(20_000)
	for i := 1; i < 20_000; i += 2 {
		s.Remove(&payload{k: i})
	}
	require.NoError(t, s.check())
	require.Zero(t, alive(ws, func(i int) bool { return i%2 == 1 }), "removed items reachable from the Set (%+v)", s.Stats())
	runtime.KeepAlive(s)
}

// Clone costs O(n/B) in the Set's Len, not in the most buckets it ever had:
// it copied every sample row ever made, 608 times the bytes of a fresh
// Set's Clone for a 10-item Set that once held 2^20; later (a review
// found it) it copied a front room made for 2^20 items and the Fenwick
// tree over it, 40 times. The Set itself gives that room back as it
// shrinks (check requires lo <= len(buckets)).
func TestCloneCostFollowsLen(t *testing.T) {
	allocated := func(f func()) uint64 {
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		f()
		runtime.ReadMemStats(&b)
		return b.TotalAlloc - a.TotalAlloc
	}
	s, fresh := New[int64](), New[int64]()
	for i := range int64(1 << 20) {
		s.Add(i)
	}
	for i := range int64(2 * s.bucketSize) { // a descending run at the head
		s.Add(-1 - i)
	}
	require.Positive(t, s.lo, "no front room")
	for s.Len() > 10 {
		s.RemoveAt(s.Len() - 1)
		if s.Len()%4096 == 0 {
			require.NoError(t, s.check())
		}
	}
	for _, x := range s.ToSlice() {
		fresh.Add(x)
	}
	var c1, c2 *Set[int64]
	got := allocated(func() { c1 = s.Clone() })
	want := allocated(func() { c2 = fresh.Clone() })
	require.LessOrEqual(t, got, 2*want, "Clone of a 10-item Set that held 2^20 allocated %d bytes, a fresh one's %d", got, want)
	require.NoError(t, c1.check())
	require.NoError(t, c2.check())
	require.Equal(t, fresh.ToSlice(), c1.ToSlice())
}

// Clear costs O(n/B) in the Set's Len, as its doc says, and not in the most
// buckets the Set ever had: it cleared every sample row ever made, and a
// Set keeps the rows of the buckets it drops, on the free list, for the
// buckets it adds later. Clearing 10-item Sets that once held 2^18 items
// (2,185 rows each at B = 128) took over 100 times as long as clearing
// 10-item Sets that once held 1,000. The free rows are cleared when they
// are freed, so Clear need only clear the rows in use. The margin is wide
// (20x) because this times code: the few cache misses of the Clears
// after 2^18 still make them up to 6 times as slow.
func TestClearCostFollowsLen(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Sets of 2^18 items")
	}
	clearTime := func(peak int) time.Duration {
		items := make([]int64, peak)
		for i := range items {
			items[i] = int64(i)
		}
		best := time.Duration(1 << 62)
		for range 3 {
			sets := make([]*Set[int64], 50)
			for i := range sets {
				s, err := FromSorted(items, WithBucketSize(128))
				require.NoError(t, err)
				require.Equal(t, peak-10, s.RemoveRange(10, peak))
				sets[i] = s
			}
			runtime.GC()
			start := time.Now()
			for _, s := range sets {
				s.Clear()
			}
			best = min(best, time.Since(start))
			for _, s := range sets {
				require.NoError(t, s.check())
				require.Zero(t, s.Len())
				for _, x := range s.rows[:cap(s.rows)] {
					require.Zero(t, x, "a row keeps an item after Clear")
				}
			}
		}
		return best
	}
	shrunk, small := clearTime(1<<18), clearTime(1000)
	require.Less(t, shrunk, 20*small, "50 Clears of 10 items: %v after holding 2^18, %v after holding 1,000", shrunk, small)
}

// A split at the tail rebuilds O(log(n/B)) nodes of the Fenwick tree, also
// when the tree is mostly padding (a bucket count just past a power of
// two): it walked the whole padding, and 400 tail inserts took 98 times as
// long at 2^18+1 buckets as at 2^19-2000. The margin is wide (10x) because
// this times code; the failure it guards against is two orders of magnitude.
func TestTailSplitsSkipThePadding(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Sets of 2^18 and 2^19 buckets")
	}
	tailInserts := func(nb int) time.Duration {
		items := make([]int64, 3*nb) // FromSorted fills buckets of 4 with 3 items
		for i := range items {
			items[i] = int64(i)
		}
		s, err := FromSorted(items, WithBucketSize(4))
		require.NoError(t, err)
		require.Equal(t, nb, s.Stats().Buckets)
		next := int64(len(items))
		for range 20 { // the first split grows the bucket arrays: not timed
			s.Add(next)
			next++
		}
		best := time.Duration(1 << 62)
		for range 3 {
			start := time.Now()
			for range 400 {
				s.Add(next)
				next++
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	padded, full := tailInserts(1<<18+1), tailInserts(1<<19-2000)
	require.Less(t, padded, 10*full, "400 tail inserts: %v at 2^18+1 buckets, %v at 2^19-2000", padded, full)
}
