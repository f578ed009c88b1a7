package sortedset

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// The member-list benchmarks. Every workload runs on a Set (impl=set) and on
// the sorted slice a Go user would write first (impl=slice: slices.BinarySearch
// plus slices.Insert/Delete), so benchstat -col /impl gives the ratio from one
// run. Set SORTEDSET_BENCH_10M=1 to add 10M items.

func benchSizes() []int {
	sizes := []int{1_000, 10_000, 100_000, 1_000_000}
	if os.Getenv("SORTEDSET_BENCH_10M") != "" {
		sizes = append(sizes, 10_000_000)
	}
	return sizes
}

func sizeName(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("n=%dM", n/1_000_000)
	case n >= 1_000:
		return fmt.Sprintf("n=%dk", n/1_000)
	}
	return fmt.Sprintf("n=%d", n)
}

var benchItems = struct {
	sync.Mutex
	m map[int][]int64
}{m: map[int][]int64{}}

// randomItems returns n distinct random int64s in increasing order; the same
// n always gives the same items.
func randomItems(n int) []int64 {
	benchItems.Lock()
	defer benchItems.Unlock()
	if items, ok := benchItems.m[n]; ok {
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
	benchItems.m[n] = items
	return items
}

func mustFromSorted(b *testing.B, items []int64, opts ...Option) *Set[int64] {
	s, err := FromSorted(items, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// sortedSlice is the baseline: a sorted []int64 with binary search.
type sortedSlice []int64

func (s *sortedSlice) add(x int64) int {
	i, found := slices.BinarySearch(*s, x)
	if !found {
		*s = slices.Insert(*s, i, x)
	}
	return i
}

func (s *sortedSlice) remove(x int64) int {
	i, found := slices.BinarySearch(*s, x)
	if !found {
		return -1
	}
	*s = slices.Delete(*s, i, i+1)
	return i
}

// churner drives the churn workload: remove a random present item, add a
// fresh random one. present holds the items currently in the container.
type churner struct {
	rng     *rand.Rand
	present []int64
}

func newChurner(items []int64) *churner {
	return &churner{rng: rand.New(rand.NewPCG(7, 7)), present: slices.Clone(items)}
}

// next returns the item to remove and its replacement.
func (c *churner) next() (old, fresh int64) {
	j := c.rng.IntN(len(c.present))
	old, fresh = c.present[j], c.rng.Int64()
	c.present[j] = fresh
	return old, fresh
}

func BenchmarkChurn(b *testing.B) {
	for _, n := range benchSizes() {
		items := randomItems(n)
		b.Run(sizeName(n)+"/impl=set", func(b *testing.B) {
			s, c := mustFromSorted(b, items), newChurner(items)
			b.ReportAllocs()
			for b.Loop() {
				old, fresh := c.next()
				s.Remove(old)
				s.Add(fresh)
			}
		})
		b.Run(sizeName(n)+"/impl=slice", func(b *testing.B) {
			s, c := sortedSlice(slices.Clone(items)), newChurner(items)
			b.ReportAllocs()
			for b.Loop() {
				old, fresh := c.next()
				s.remove(old)
				s.add(fresh)
			}
		})
	}
}

// BenchmarkAdd1000 is the reference's add benchmark: 1000 inserts at the
// head, in the middle or at the tail of a set of n items spaced 1024 apart.
// The 1000 items are removed again, untimed, after each round.
func BenchmarkAdd1000(b *testing.B) {
	for _, n := range []int{5_000, 50_000, 500_000, 1_000_000} {
		base := make([]int64, n)
		for i := range base {
			base[i] = int64(i) * 1024
		}
		for _, where := range []string{"head", "middle", "tail"} {
			var first int64
			switch where {
			case "head":
				first = -1000
			case "middle":
				first = base[n/2] + 1
			case "tail":
				first = base[n-1] + 1
			}
			b.Run(sizeName(n)+"/at="+where+"/impl=set", func(b *testing.B) {
				s := mustFromSorted(b, base)
				for b.Loop() {
					for x := first; x < first+1000; x++ {
						s.Add(x)
					}
					b.StopTimer()
					for x := first; x < first+1000; x++ {
						s.Remove(x)
					}
					b.StartTimer()
				}
			})
			b.Run(sizeName(n)+"/at="+where+"/impl=slice", func(b *testing.B) {
				s := sortedSlice(slices.Clone(base))
				for b.Loop() {
					for x := first; x < first+1000; x++ {
						s.add(x)
					}
					b.StopTimer()
					for x := first; x < first+1000; x++ {
						s.remove(x)
					}
					b.StartTimer()
				}
			})
		}
	}
}

// probes returns random present items to look up, so that lookups miss the
// cache the way they do in a server.
func probes(items []int64) []int64 {
	rng := rand.New(rand.NewPCG(3, 3))
	p := make([]int64, 1<<16)
	for i := range p {
		p[i] = items[rng.IntN(len(items))]
	}
	return p
}

func BenchmarkIndexOf(b *testing.B) {
	for _, n := range benchSizes() {
		items := randomItems(n)
		p := probes(items)
		b.Run(sizeName(n)+"/impl=set", func(b *testing.B) {
			s := mustFromSorted(b, items)
			i := 0
			for b.Loop() {
				if _, ok := s.IndexOf(p[i%len(p)]); !ok {
					b.Fatal("missing item")
				}
				i++
			}
		})
		b.Run(sizeName(n)+"/impl=slice", func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, ok := slices.BinarySearch(items, p[i%len(p)]); !ok {
					b.Fatal("missing item")
				}
				i++
			}
		})
	}
}

// randomIndices returns random indices below n.
func randomIndices(n int) []int {
	rng := rand.New(rand.NewPCG(5, 5))
	idx := make([]int, 1<<16)
	for i := range idx {
		idx[i] = rng.IntN(n)
	}
	return idx
}

func BenchmarkAt(b *testing.B) {
	for _, n := range benchSizes() {
		items, idx := randomItems(n), randomIndices(n)
		b.Run(sizeName(n)+"/impl=set", func(b *testing.B) {
			s := mustFromSorted(b, items)
			i := 0
			for b.Loop() {
				if _, ok := s.At(idx[i%len(idx)]); !ok {
					b.Fatal("index out of range")
				}
				i++
			}
		})
		b.Run(sizeName(n)+"/impl=slice", func(b *testing.B) {
			i, sum := 0, int64(0)
			for b.Loop() {
				sum += items[idx[i%len(idx)]]
				i++
			}
			runtime.KeepAlive(sum)
		})
	}
}

// BenchmarkSlice pages 100 rows from a random start, as a member-list SYNC
// does.
func BenchmarkSlice(b *testing.B) {
	for _, n := range benchSizes() {
		items := randomItems(n)
		rng := rand.New(rand.NewPCG(9, 9))
		starts := make([]int, 1<<16)
		for i := range starts {
			starts[i] = rng.IntN(n)
		}
		b.Run(sizeName(n)+"/impl=set", func(b *testing.B) {
			s := mustFromSorted(b, items)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				runtime.KeepAlive(s.Slice(starts[i%len(starts)], 100))
				i++
			}
		})
		b.Run(sizeName(n)+"/impl=slice", func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				start := starts[i%len(starts)]
				runtime.KeepAlive(slices.Clone(items[start:min(start+100, n)]))
				i++
			}
		})
	}
}

func BenchmarkFromSorted(b *testing.B) {
	for _, n := range benchSizes() {
		items := randomItems(n)
		b.Run(sizeName(n)+"/impl=set", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				runtime.KeepAlive(mustFromSorted(b, items))
			}
		})
		b.Run(sizeName(n)+"/impl=slice", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				runtime.KeepAlive(slices.Clone(items))
			}
		})
	}
}

func BenchmarkIterate(b *testing.B) {
	for _, n := range benchSizes() {
		items := randomItems(n)
		b.Run(sizeName(n)+"/impl=set", func(b *testing.B) {
			s := mustFromSorted(b, items)
			for b.Loop() {
				sumSet(s)
			}
		})
		b.Run(sizeName(n)+"/impl=slice", func(b *testing.B) {
			for b.Loop() {
				sumSlice(items)
			}
		})
	}
}

// sumSet and sumSlice hold the loops of BenchmarkIterate outside b.Loop's
// body, where the compiler keeps every variable alive and so cannot inline
// the range-over-func body into the iterator, which a user's own loop gets.
//
//go:noinline
func sumSet(s *Set[int64]) (sum int64) {
	for x := range s.Values() {
		sum += x
	}
	return sum
}

//go:noinline
func sumSlice(items []int64) (sum int64) {
	for _, x := range items {
		sum += x
	}
	return sum
}

// heapAfter returns the live heap after a full collection.
func heapAfter() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemory reports the heap each container holds per item after n
// churn operations on n items (B/item); the time it reports is not of
// interest.
func BenchmarkMemory(b *testing.B) {
	for _, n := range benchSizes() {
		items := randomItems(n)
		b.Run(sizeName(n)+"/impl=set", func(b *testing.B) {
			for b.Loop() {
				c := newChurner(items)
				before := heapAfter()
				s := mustFromSorted(b, items)
				for range n {
					old, fresh := c.next()
					s.Remove(old)
					s.Add(fresh)
				}
				b.ReportMetric(float64(heapAfter()-before)/float64(n), "B/item")
				st := s.Stats()
				b.ReportMetric(float64(st.Len)/float64(st.Buckets), "items/bucket")
				runtime.KeepAlive(c)
			}
		})
		b.Run(sizeName(n)+"/impl=slice", func(b *testing.B) {
			for b.Loop() {
				c := newChurner(items)
				before := heapAfter()
				s := sortedSlice(slices.Clone(items))
				for range min(n, 100_000) {
					old, fresh := c.next()
					s.remove(old)
					s.add(fresh)
				}
				b.ReportMetric(float64(heapAfter()-before)/float64(n), "B/item")
				runtime.KeepAlive(s)
				runtime.KeepAlive(c)
			}
		})
	}
}

// BenchmarkBucketSize is how DefaultBucketBytes was chosen: churn, IndexOf
// and At at 1M items for several bucket sizes.
func BenchmarkBucketSize(b *testing.B) {
	const n = 1_000_000
	items, idx := randomItems(n), randomIndices(n)
	p := probes(items)
	for _, size := range []int{64, 128, 256, 512, 1024, 2048, 4096} {
		opt := WithBucketSize(size)
		b.Run(fmt.Sprintf("op=churn/B=%d", size), func(b *testing.B) {
			s, c := mustFromSorted(b, items, opt), newChurner(items)
			for b.Loop() {
				old, fresh := c.next()
				s.Remove(old)
				s.Add(fresh)
			}
		})
		b.Run(fmt.Sprintf("op=indexof/B=%d", size), func(b *testing.B) {
			s := mustFromSorted(b, items, opt)
			i := 0
			for b.Loop() {
				s.IndexOf(p[i%len(p)])
				i++
			}
		})
		b.Run(fmt.Sprintf("op=at/B=%d", size), func(b *testing.B) {
			s := mustFromSorted(b, items, opt)
			i := 0
			for b.Loop() {
				s.At(idx[i%len(idx)])
				i++
			}
		})
	}
}
