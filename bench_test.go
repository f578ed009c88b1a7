package sortedset

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/bucketed/sortedset/internal/benchdata"
)

// The member-list benchmarks. Every workload runs on a Set (impl=set) and on
// the sorted slice a Go user would write first (impl=slice: slices.BinarySearch
// plus slices.Insert/Delete), so benchstat -col /impl gives the ratio from one
// run. Set SORTEDSET_BENCH_10M=1 to add 10M items.

func mustFromSorted(b *testing.B, items []int64, opts ...Option) *Set[int64] {
	s, err := FromSorted(items, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkChurn(b *testing.B) {
	for _, n := range benchdata.Sizes() {
		items := benchdata.Items(n)
		b.Run(benchdata.SizeName(n)+"/impl=set", func(b *testing.B) {
			s, c := mustFromSorted(b, items), benchdata.NewChurner(items)
			b.ReportAllocs()
			for b.Loop() {
				old, fresh := c.Next()
				s.Remove(old)
				s.Add(fresh)
			}
		})
		b.Run(benchdata.SizeName(n)+"/impl=slice", func(b *testing.B) {
			s, c := benchdata.SortedSlice(slices.Clone(items)), benchdata.NewChurner(items)
			b.ReportAllocs()
			for b.Loop() {
				old, fresh := c.Next()
				s.Remove(old)
				s.Add(fresh)
			}
		})
	}
}

// BenchmarkAddSorted adds a sorted batch of n/8 new items, spread over the
// set or appended after its largest, with AddSorted (impl=set), with Add
// item by item (impl=add) and, for the sorted slice, by a linear merge into
// a new slice (impl=slice). Each round starts from a fresh copy, untimed.
func BenchmarkAddSorted(b *testing.B) {
	for _, n := range benchdata.Sizes() {
		items := benchdata.Items(n)
		c := benchdata.NewChurner(items)
		spread := make([]int64, n/8)
		for i := range spread {
			_, spread[i] = c.Next()
		}
		slices.Sort(spread)
		spread = slices.Compact(spread)
		tail := make([]int64, n/8)
		for i := range tail {
			tail[i] = items[n-1] + int64(i+1)
		}
		for _, batch := range []struct {
			name  string
			items []int64
		}{{"spread", spread}, {"tail", tail}} {
			name := benchdata.SizeName(n) + "/batch=" + batch.name
			b.Run(name+"/impl=set", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					s := mustFromSorted(b, items)
					b.StartTimer()
					if _, err := s.AddSorted(batch.items); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(name+"/impl=add", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					s := mustFromSorted(b, items)
					b.StartTimer()
					for _, x := range batch.items {
						s.Add(x)
					}
				}
			})
			b.Run(name+"/impl=slice", func(b *testing.B) {
				for b.Loop() {
					runtime.KeepAlive(mergeSorted(items, batch.items))
				}
			})
		}
	}
}

// mergeSorted returns the union of the strictly increasing a and b in a new
// slice: the sorted slice's batch insert.
func mergeSorted(a, b []int64) []int64 {
	out := make([]int64, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0] < b[0]:
			out, a = append(out, a[0]), a[1:]
		case b[0] < a[0]:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return append(append(out, a...), b...)
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
			b.Run(benchdata.SizeName(n)+"/at="+where+"/impl=set", func(b *testing.B) {
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
			b.Run(benchdata.SizeName(n)+"/at="+where+"/impl=slice", func(b *testing.B) {
				s := benchdata.SortedSlice(slices.Clone(base))
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
		}
	}
}

func BenchmarkIndexOf(b *testing.B) {
	for _, n := range benchdata.Sizes() {
		items := benchdata.Items(n)
		p := benchdata.Probes(items)
		b.Run(benchdata.SizeName(n)+"/impl=set", func(b *testing.B) {
			s := mustFromSorted(b, items)
			i := 0
			for b.Loop() {
				if _, ok := s.IndexOf(p[i%len(p)]); !ok {
					b.Fatal("missing item")
				}
				i++
			}
		})
		b.Run(benchdata.SizeName(n)+"/impl=slice", func(b *testing.B) {
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

func BenchmarkAt(b *testing.B) {
	for _, n := range benchdata.Sizes() {
		items, idx := benchdata.Items(n), benchdata.Ints(n, 5)
		// Both arms use the item: At inlines, and with the item unused the
		// compiler drops its load (a cache miss at 1M).
		b.Run(benchdata.SizeName(n)+"/impl=set", func(b *testing.B) {
			s := mustFromSorted(b, items)
			i, sum := 0, int64(0)
			for b.Loop() {
				x, ok := s.At(idx[i%len(idx)])
				if !ok {
					b.Fatal("index out of range")
				}
				sum += x
				i++
			}
			runtime.KeepAlive(sum)
		})
		b.Run(benchdata.SizeName(n)+"/impl=slice", func(b *testing.B) {
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
	for _, n := range benchdata.Sizes() {
		items := benchdata.Items(n)
		rng := rand.New(rand.NewPCG(9, 9))
		starts := make([]int, 1<<16)
		for i := range starts {
			starts[i] = rng.IntN(n)
		}
		b.Run(benchdata.SizeName(n)+"/impl=set", func(b *testing.B) {
			s := mustFromSorted(b, items)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				runtime.KeepAlive(s.Slice(starts[i%len(starts)], 100))
				i++
			}
		})
		b.Run(benchdata.SizeName(n)+"/impl=slice", func(b *testing.B) {
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
	for _, n := range benchdata.Sizes() {
		items := benchdata.Items(n)
		b.Run(benchdata.SizeName(n)+"/impl=set", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				runtime.KeepAlive(mustFromSorted(b, items))
			}
		})
		b.Run(benchdata.SizeName(n)+"/impl=slice", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				runtime.KeepAlive(slices.Clone(items))
			}
		})
	}
}

func BenchmarkIterate(b *testing.B) {
	for _, n := range benchdata.Sizes() {
		items := benchdata.Items(n)
		b.Run(benchdata.SizeName(n)+"/impl=set", func(b *testing.B) {
			s := mustFromSorted(b, items)
			for b.Loop() {
				sumSet(s)
			}
		})
		b.Run(benchdata.SizeName(n)+"/impl=slice", func(b *testing.B) {
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
	for _, n := range benchdata.Sizes() {
		items := benchdata.Items(n)
		b.Run(benchdata.SizeName(n)+"/impl=set", func(b *testing.B) {
			for b.Loop() {
				c := benchdata.NewChurner(items)
				before := heapAfter()
				s := mustFromSorted(b, items)
				for range n {
					old, fresh := c.Next()
					s.Remove(old)
					s.Add(fresh)
				}
				b.ReportMetric(float64(heapAfter()-before)/float64(n), "B/item")
				st := s.Stats()
				b.ReportMetric(float64(st.Len)/float64(st.Buckets), "items/bucket")
				runtime.KeepAlive(c)
			}
		})
		b.Run(benchdata.SizeName(n)+"/impl=slice", func(b *testing.B) {
			for b.Loop() {
				c := benchdata.NewChurner(items)
				before := heapAfter()
				s := benchdata.SortedSlice(slices.Clone(items))
				for range min(n, 100_000) {
					old, fresh := c.Next()
					s.Remove(old)
					s.Add(fresh)
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
	items, idx := benchdata.Items(n), benchdata.Ints(n, 5)
	p := benchdata.Probes(items)
	for _, size := range []int{64, 128, 256, 512, 1024, 2048, 4096} {
		opt := WithBucketSize(size)
		b.Run(fmt.Sprintf("op=churn/B=%d", size), func(b *testing.B) {
			s, c := mustFromSorted(b, items, opt), benchdata.NewChurner(items)
			for b.Loop() {
				old, fresh := c.Next()
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
			i, sum := 0, int64(0)
			for b.Loop() {
				x, _ := s.At(idx[i%len(idx)])
				sum += x
				i++
			}
			runtime.KeepAlive(sum)
		})
	}
}
