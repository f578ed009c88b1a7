package sortedset

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// BenchmarkKernel measures one lower-bound search in a sorted block of int64
// keys, the size of a bucket or a fence array, under every kernel this CPU
// runs and under sort.Search and slices.BinarySearch. Probes are random
// (half present, half absent) and cycle through 65536 values so that the
// branch predictor cannot learn them.
//
//	go test -run '^$' -bench 'Kernel/' -count 6 . | benchstat -col /impl -
func BenchmarkKernel(b *testing.B) {
	for _, n := range []int{16, 32, 64, 128, 256, 512, 1024} {
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		s := make([]int64, n)
		for i := range s {
			s[i] = rng.Int64N(1 << 40)
		}
		slices.Sort(s)
		s = slices.Compact(s)
		probes := make([]int64, 1<<16)
		for i := range probes {
			probes[i] = rng.Int64N(1 << 40)
			if i%2 == 0 {
				probes[i] = s[rng.IntN(len(s))]
			}
		}
		run := func(name string, f func([]int64, int64) int) {
			b.Run(fmt.Sprintf("n=%d/impl=%s", n, name), func(b *testing.B) {
				sum := 0
				for i := 0; b.Loop(); i++ {
					sum += f(s, probes[i&(1<<16-1)])
				}
				sink = sum
			})
		}
		for _, k := range cpuKernels() {
			run(k.name, k.int64s)
		}
		run("sort.Search", func(s []int64, x int64) int {
			return sort.Search(len(s), func(i int) bool { return s[i] >= x })
		})
		run("slices.BinarySearch", func(s []int64, x int64) int {
			i, _ := slices.BinarySearch(s, x)
			return i
		})
	}
}

var sink int
