// Package benchdata is the workload data of the member-list benchmarks: the
// library's own (bench_test.go, against a sorted slice) and the peer
// comparison in the benchmarks module import it, so both measure the same
// items, probes and churn.
package benchdata

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
)

// Sizes returns the set sizes to benchmark: 1k to 1M, and 10M when the
// environment variable SORTEDSET_BENCH_10M is set.
func Sizes() []int {
	sizes := []int{1_000, 10_000, 100_000, 1_000_000}
	if os.Getenv("SORTEDSET_BENCH_10M") != "" {
		sizes = append(sizes, 10_000_000)
	}
	return sizes
}

// SizeName names size n in a benchmark name: n=1k, n=1M.
func SizeName(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("n=%dM", n/1_000_000)
	case n >= 1_000:
		return fmt.Sprintf("n=%dk", n/1_000)
	}
	return fmt.Sprintf("n=%d", n)
}

var cache = struct {
	sync.Mutex
	m map[int][]int64
}{m: map[int][]int64{}}

// Items returns n distinct random int64s in increasing order; the same n
// always gives the same items, made once per process. Callers must not
// modify them.
func Items(n int) []int64 {
	cache.Lock()
	defer cache.Unlock()
	if items, ok := cache.m[n]; ok {
		return items
	}
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	seen := make(map[int64]struct{}, n)
	items := make([]int64, 0, n)
	for len(items) < n {
		x := rng.Int64()
		if _, dup := seen[x]; !dup {
			seen[x] = struct{}{}
			items = append(items, x)
		}
	}
	slices.Sort(items)
	cache.m[n] = items
	return items
}

// Ints returns 65536 random ints in [0, n) from seed: more than a branch
// predictor can learn, few enough to stay in the cache.
func Ints(n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, seed))
	r := make([]int, 1<<16)
	for i := range r {
		r[i] = rng.IntN(n)
	}
	return r
}

// Probes returns 65536 random items of items to look up.
func Probes(items []int64) []int64 {
	p := make([]int64, 0, 1<<16)
	for _, i := range Ints(len(items), 3) {
		p = append(p, items[i])
	}
	return p
}

// SortedSlice is the baseline a Go user writes first: a sorted []int64 with
// slices.BinarySearch and slices.Insert/Delete.
type SortedSlice []int64

// Add inserts x unless present and returns its index.
func (s *SortedSlice) Add(x int64) int {
	i, found := slices.BinarySearch(*s, x)
	if !found {
		*s = slices.Insert(*s, i, x)
	}
	return i
}

// Remove removes x and returns the index it had, or -1 when it is absent.
func (s *SortedSlice) Remove(x int64) int {
	i, found := slices.BinarySearch(*s, x)
	if !found {
		return -1
	}
	*s = slices.Delete(*s, i, i+1)
	return i
}

// Churner drives the churn workload: remove a present item, add a fresh
// random one. Items leave in the order they came, the initial ones in a
// random order, so each removal is at a uniformly random index of the
// container while the churner reads its own ring in order. (Picking a random
// slot of an array of n items cost every operation a cache miss of its own at
// 1M: 22% of the set's churn time in a profile, the same for every container,
// which pulled the ratios between containers toward 1.)
type Churner struct {
	rng  *rand.Rand
	ring []int64 // the items in the container now, the next to leave at next
	next int
}

// NewChurner returns a Churner for a container that holds items.
func NewChurner(items []int64) *Churner {
	rng := rand.New(rand.NewPCG(7, 7))
	ring := slices.Clone(items)
	rng.Shuffle(len(ring), func(i, j int) { ring[i], ring[j] = ring[j], ring[i] })
	return &Churner{rng: rng, ring: ring}
}

// Present returns, sorted, the items a container driven by c holds now:
// the benchmarks compare it with the container's contents after the timed
// loop, which a length check alone cannot do (an arm that re-adds the item
// it removed, or skips both calls, keeps its length).
func (c *Churner) Present() []int64 {
	p := slices.Clone(c.ring)
	slices.Sort(p)
	return p
}

// Next returns the item to remove and its replacement.
func (c *Churner) Next() (old, fresh int64) {
	old, fresh = c.ring[c.next], c.rng.Int64()
	c.ring[c.next] = fresh
	if c.next++; c.next == len(c.ring) {
		c.next = 0
	}
	return old, fresh
}
