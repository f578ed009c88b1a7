package sortedset

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// kernelNames are every search path the library has, on any machine.
var kernelNames = []string{"generic", "avx2", "avx512"}

// findKernel returns the kernel called name if this build and CPU run it.
func findKernel(name string) (kernel, bool) {
	for _, k := range cpuKernels() {
		if k.name == name {
			return k, true
		}
	}
	return kernel{}, false
}

// useKernel makes Sets created during the rest of t use the kernel called
// name, and restores the previous one when t ends. It skips t when this CPU
// or build (purego, another GOARCH) lacks that kernel. Tests using it must
// not run in parallel: activeKernel is a package variable.
func useKernel(t testing.TB, name string) kernel {
	t.Helper()
	k, ok := findKernel(name)
	if !ok {
		t.Skipf("kernel %q is not available on this CPU/build (have %v)", name, availableKernelNames())
	}
	prev := activeKernel
	activeKernel = k
	t.Cleanup(func() { activeKernel = prev })
	return k
}

func availableKernelNames() []string {
	var names []string
	for _, k := range cpuKernels() {
		names = append(names, k.name)
	}
	return names
}

// forEachKernel runs f as a subtest under every kernel name; the ones this
// CPU lacks are reported as skipped.
func forEachKernel(t *testing.T, f func(t *testing.T, k kernel)) {
	for _, name := range kernelNames {
		t.Run(name, func(t *testing.T) {
			f(t, useKernel(t, name))
		})
	}
}

func TestActiveKernelIsFastest(t *testing.T) {
	ks := cpuKernels()
	if activeKernel.name != ks[0].name {
		t.Fatalf("activeKernel is %q, want the fastest available %q", activeKernel.name, ks[0].name)
	}
	if ks[len(ks)-1].name != "generic" {
		t.Fatalf("last kernel is %q, want generic", ks[len(ks)-1].name)
	}
	t.Logf("kernels on this CPU/build: %v", availableKernelNames())
}

func TestStatsNamesKernel(t *testing.T) {
	forEachKernel(t, func(t *testing.T, k kernel) {
		if got := New[int64]().Stats().Kernel; got != k.name {
			t.Errorf("New[int64] kernel %q, want %q", got, k.name)
		}
		if got := New[float64]().Stats().Kernel; got != k.name {
			t.Errorf("New[float64] kernel %q, want %q", got, k.name)
		}
		if got := NewFunc(compareMembers, WithKey(memberKey)).Stats().Kernel; got != k.name {
			t.Errorf("WithKey kernel %q, want %q", got, k.name)
		}
		if got := New[string]().Stats().Kernel; got != "generic" {
			t.Errorf("New[string] kernel %q, want generic", got)
		}
	})
}

// reference is the lower bound by definition: a linear count in
// cmp.Compare order. It checks the generic kernel too.
func reference[T cmp.Ordered](s []T, x T) int {
	n := 0
	for _, e := range s {
		if cmp.Compare(e, x) < 0 {
			n++
		}
	}
	return n
}

// checkBlock compares search with reference on s for every probe in
// probes, and on s's subslices that start and end inside it, so that blocks
// start at every alignment and end just before memory the slice does not
// own.
func checkBlock[T cmp.Ordered](t *testing.T, name string, search func([]T, T) int, s []T, probes []T) {
	t.Helper()
	fails := 0
	for _, cut := range [][2]int{{0, len(s)}, {min(1, len(s)), len(s)}, {0, max(0, len(s)-1)}, {min(3, len(s)), len(s)}} {
		sub := s[cut[0]:cut[1]:cut[1]]
		for _, x := range probes {
			if got, want := search(sub, x), reference(sub, x); got != want {
				t.Errorf("%s: len %d, probe %v: got %d, want %d (block %v)", name, len(sub), x, got, want, abbrev(sub))
				if fails++; fails > 10 {
					t.FailNow()
				}
			}
		}
	}
}

func abbrev[T any](s []T) string {
	if len(s) > 12 {
		return fmt.Sprintf("%v ... %v", s[:6], s[len(s)-6:])
	}
	return fmt.Sprint(s)
}

// probesFor returns every element of s, its neighbours and the type's
// extremes: probes equal to, between and outside the elements.
func probesFor[T cmp.Ordered](s []T, extra []T, next func(T) []T) []T {
	probes := slices.Clone(extra)
	for _, e := range s {
		probes = append(probes, e)
		probes = append(probes, next(e)...)
	}
	return probes
}

func intNext[T int64 | uint64 | int32 | uint32](e T) []T { return []T{e - 1, e + 1} }

func floatNext(e float64) []float64 {
	return []float64{math.Nextafter(e, math.Inf(-1)), math.Nextafter(e, math.Inf(1)), -e}
}

// adversarial returns sorted blocks of every length 0..130, and a few bucket
// and fence-array lengths past the sampling step's threshold, built from vals (sorted,
// distinct or not), in several shapes.
func adversarial[T cmp.Ordered](rng *rand.Rand, vals []T) [][]T {
	var blocks [][]T
	var lengths []int
	if !testing.Short() { // the race run keeps 0..130, which reaches the threshold
		lengths = append(lengths, 255, 256, 511, 1000, 2047, 2048, 2100)
	}
	for n := 130; n >= 0; n-- {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		if len(vals) == 0 {
			break
		}
		// All equal.
		eq := make([]T, n)
		for i := range eq {
			eq[i] = vals[rng.IntN(len(vals))]
		}
		for i := range eq {
			eq[i] = eq[0]
		}
		blocks = append(blocks, eq)
		// Random draws with repeats, sorted.
		r := make([]T, n)
		for i := range r {
			r[i] = vals[rng.IntN(len(vals))]
		}
		slices.SortFunc(r, cmp.Compare[T])
		blocks = append(blocks, r)
		// Two runs: the lowest value then the highest.
		two := make([]T, n)
		for i := range two {
			two[i] = vals[0]
			if i >= n/2 {
				two[i] = vals[len(vals)-1]
			}
		}
		blocks = append(blocks, two)
	}
	return blocks
}

func randomSorted[T cmp.Ordered](rng *rand.Rand, n int, gen func() T) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = gen()
	}
	slices.SortFunc(s, cmp.Compare[T])
	return s
}

func testKernelType[T cmp.Ordered](t *testing.T, name string, search func([]T, T) int, extremes []T, gen func(*rand.Rand) T, next func(T) []T) {
	rng := rand.New(rand.NewPCG(1, uint64(len(name))))
	vals := slices.Clone(extremes)
	slices.SortFunc(vals, cmp.Compare[T])
	for _, b := range adversarial(rng, vals) {
		checkBlock(t, name, search, b, probesFor(b, extremes, next))
	}
	for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 130, 255, 256, 500, 512, 1000, 1024, 2048, 4097} {
		for range 3 {
			s := randomSorted(rng, n, func() T { return gen(rng) })
			probes := extremes
			if n <= 130 {
				probes = probesFor(s, extremes, next)
			} else {
				for range 200 {
					probes = append(probes, s[rng.IntN(n)], gen(rng))
				}
			}
			checkBlock(t, name, search, s, probes)
		}
	}
}

func TestKernelsMatchReference(t *testing.T) {
	for _, name := range kernelNames {
		t.Run(name, func(t *testing.T) {
			k, ok := findKernel(name)
			if !ok {
				t.Skipf("kernel %q is not available on this CPU/build (have %v)", name, availableKernelNames())
			}
			t.Run("int64", func(t *testing.T) {
				testKernelType(t, name, k.int64s,
					[]int64{math.MinInt64, math.MinInt64 + 1, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64},
					func(r *rand.Rand) int64 { return r.Int64N(200) - 100 }, intNext[int64])
			})
			t.Run("uint64", func(t *testing.T) {
				testKernelType(t, name, k.uint64s,
					[]uint64{0, 1, 1<<63 - 1, 1 << 63, 1<<63 + 1, math.MaxUint64 - 1, math.MaxUint64},
					func(r *rand.Rand) uint64 { return r.Uint64N(100) + (r.Uint64N(3) << 62) }, intNext[uint64])
			})
			t.Run("int32", func(t *testing.T) {
				testKernelType(t, name, k.int32s,
					[]int32{math.MinInt32, math.MinInt32 + 1, -1, 0, 1, math.MaxInt32 - 1, math.MaxInt32},
					func(r *rand.Rand) int32 { return r.Int32N(200) - 100 }, intNext[int32])
			})
			t.Run("uint32", func(t *testing.T) {
				testKernelType(t, name, k.uint32s,
					[]uint32{0, 1, 1<<31 - 1, 1 << 31, 1<<31 + 1, math.MaxUint32 - 1, math.MaxUint32},
					func(r *rand.Rand) uint32 { return r.Uint32N(100) + (r.Uint32N(3) << 30) }, intNext[uint32])
			})
			t.Run("float64", func(t *testing.T) {
				negNaN := math.Float64frombits(0xfff8000000000001)
				testKernelType(t, name, k.float64s,
					[]float64{math.NaN(), negNaN, math.Inf(-1), -math.MaxFloat64, -1, math.Copysign(0, -1), 0,
						math.SmallestNonzeroFloat64, 1, math.MaxFloat64, math.Inf(1)},
					func(r *rand.Rand) float64 {
						switch r.IntN(20) {
						case 0:
							return math.NaN()
						case 1:
							return math.Copysign(0, -1)
						case 2:
							return 0
						case 3:
							return math.Inf(1 - 2*r.IntN(2))
						}
						return float64(r.IntN(200)-100) / 4
					}, floatNext)
			})
		})
	}
}

// TestKernelsMatchGeneric checks every kernel against the generic one, the
// reference of record, on random blocks with random probes.
func TestKernelsMatchGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	rounds := 2000
	if testing.Short() {
		rounds = 200 // the race detector slows the reference tenfold
	}
	forEachKernel(t, func(t *testing.T, k kernel) {
		for range rounds {
			n := rng.IntN(1100)
			s := randomSorted(rng, n, func() int64 { return rng.Int64() >> rng.IntN(64) })
			for range 8 {
				x := rng.Int64() >> rng.IntN(64)
				if rng.IntN(2) == 0 && n > 0 {
					x = s[rng.IntN(n)]
				}
				if got, want := k.int64s(s, x), genericKernel.int64s(s, x); got != want {
					t.Fatalf("int64 len %d probe %d: got %d, generic %d", n, x, got, want)
				}
				u := randomSorted(rng, n, func() uint64 { return rng.Uint64() >> rng.IntN(64) })
				if got, want := k.uint64s(u, uint64(x)), genericKernel.uint64s(u, uint64(x)); got != want {
					t.Fatalf("uint64 len %d probe %d: got %d, generic %d", n, uint64(x), got, want)
				}
				f := randomSorted(rng, n, func() float64 { return math.Float64frombits(rng.Uint64()) })
				fx := math.Float64frombits(rng.Uint64())
				if got, want := k.float64s(f, fx), genericKernel.float64s(f, fx); got != want {
					t.Fatalf("float64 len %d probe %v: got %d, generic %d", n, fx, got, want)
				}
			}
		}
	})
}

// TestModelUnderEachKernel runs the model tests of property_test.go under
// every path but the default one, which TestModel* already cover.
func TestModelUnderEachKernel(t *testing.T) {
	def := activeKernel.name
	forEachKernel(t, func(t *testing.T, k kernel) {
		if k.name == def {
			t.Skipf("%s is the default kernel: TestModelInt64 and the others run under it", def)
		}
		if !testing.Short() {
			// int64 is the kernel the differential tests check most; -short
			// (the race run) keeps the float and keyed domains.
			checkModel(t, int64Domain)
		}
		checkModel(t, float64Domain)
		checkModel(t, memberDomain(true))
	})
}

type (
	userID uint64 // a named type takes its underlying type's kernel
	score  float64
)

// TestMachineTypes runs every type that New hands to a machine kernel and
// comparison, reinterpreted from int64, uint64, int32, uint32 or float64,
// against a sorted-slice model, under every kernel: the reinterpretation is
// only sound if the results agree for the whole value range.
func TestMachineTypes(t *testing.T) {
	forEachKernel(t, func(t *testing.T, k kernel) {
		t.Run("int", func(t *testing.T) { checkMachineType(t, k, func(r *rand.Rand) int { return int(r.Uint64()) }) })
		t.Run("uint", func(t *testing.T) { checkMachineType(t, k, func(r *rand.Rand) uint { return uint(r.Uint64()) }) })
		t.Run("int64", func(t *testing.T) { checkMachineType(t, k, func(r *rand.Rand) int64 { return int64(r.Uint64()) }) })
		t.Run("uint32", func(t *testing.T) { checkMachineType(t, k, func(r *rand.Rand) uint32 { return r.Uint32() }) })
		t.Run("int32", func(t *testing.T) { checkMachineType(t, k, func(r *rand.Rand) int32 { return int32(r.Uint32()) }) })
		t.Run("userID", func(t *testing.T) { checkMachineType(t, k, func(r *rand.Rand) userID { return userID(r.Uint64()) }) })
		t.Run("score", func(t *testing.T) {
			special := []score{score(math.NaN()), score(math.Inf(1)), score(math.Inf(-1)), 0, score(math.Copysign(0, -1))}
			checkMachineType(t, k, func(r *rand.Rand) score {
				if r.IntN(8) == 0 {
					return special[r.IntN(len(special))]
				}
				return score(r.NormFloat64())
			})
		})
	})
}

func checkMachineType[T cmp.Ordered](t *testing.T, k kernel, gen func(*rand.Rand) T) {
	s := New[T](WithBucketSize(16))
	if got := s.Stats().Kernel; got != k.name {
		t.Fatalf("kernel %q, want %q", got, k.name)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var model []T
	for range 3000 {
		x := gen(rng)
		i, found := slices.BinarySearchFunc(model, x, cmp.Compare[T])
		if rng.IntN(3) == 0 {
			j, removed := s.Remove(x)
			if removed != found || (found && j != i) {
				t.Fatalf("Remove(%v) = %d, %v; want %d, %v", x, j, removed, i, found)
			}
			if found {
				model = slices.Delete(model, i, i+1)
			}
			continue
		}
		j, added := s.Add(x)
		if j != i || added == found {
			t.Fatalf("Add(%v) = %d, %v; want %d, %v", x, j, added, i, !found)
		}
		if !found {
			model = slices.Insert(model, i, x)
		}
		if len(model) > 0 {
			y := model[rng.IntN(len(model))]
			want, _ := slices.BinarySearchFunc(model, y, cmp.Compare[T])
			if got, ok := s.IndexOf(y); !ok || got != want {
				t.Fatalf("IndexOf(%v) = %d, %v; want %d", y, got, ok, want)
			}
		}
	}
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	if got := s.ToSlice(); !slices.EqualFunc(got, model, func(a, b T) bool { return cmp.Compare(a, b) == 0 }) {
		t.Fatalf("items differ from the model")
	}
}

// prefetch is a hint with no result to check; what can go wrong is its loop
// over the lines: it must end for every length, also zero and lengths that
// are not a multiple of a line, and for slices that start inside a line.
func TestPrefetchEnds(t *testing.T) {
	items := make([]int64, 1000)
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65, 512, 1000} {
		for _, lo := range []int{0, 1, 3} {
			if lo+n <= len(items) {
				prefetch(items[lo : lo+n])
			}
		}
	}
	prefetch([]struct{}{{}, {}}) // zero-size items: no bytes
	prefetch(make([]byte, 4097)) // one byte into a 65th line
	prefetch([]int64(nil))       // nil
}

// Writes to a Set larger than the L2 cache prefetch, with rows (int64) and
// without (a keyed Set); it must not change what they do.
func TestWritesPastTheCacheSize(t *testing.T) {
	cold := New[int64]().cold
	if cold > 1<<22 {
		t.Skip("this build does not prefetch (purego, or not amd64)")
	}
	key := WithKey(func(x int64) uint64 { return uint64(x) ^ 1<<63 })
	for _, opts := range [][]Option{nil, {key}} {
		n := cold + 1000
		model := make([]int64, n)
		for i := range model {
			model[i] = int64(2 * i)
		}
		s, err := FromSortedFunc(model, cmp.Compare[int64], opts...)
		require.NoError(t, err)
		require.Greater(t, s.Len(), s.cold, "the Set must be past the prefetch size")
		require.Equal(t, len(opts) == 0, s.shift > 0, "rows only without a key")
		model = slices.Clone(model)
		for i := range int64(2000) {
			x := (i * 7919 % int64(n)) * 2 // present, even
			idx, ok := s.Add(x + 1)
			want, _ := slices.BinarySearch(model, x+1)
			model = slices.Insert(model, want, x+1)
			require.True(t, ok)
			require.Equal(t, want, idx, "Add(%d)", x+1)
			idx, ok = s.Remove(x)
			want, _ = slices.BinarySearch(model, x)
			model = slices.Delete(model, want, want+1)
			require.True(t, ok)
			require.Equal(t, want, idx, "Remove(%d)", x)
		}
		require.Equal(t, model, s.ToSlice())
		require.NoError(t, s.check())
	}
}

// The lines prefetchLines asks for, from p, with the length prefetch gives
// it, cover every line the bytes touch.
func TestPrefetchSpanCoversEveryLine(t *testing.T) {
	for p := uintptr(4096); p < 4096+64; p++ {
		for n := 1; n <= 300; n++ {
			asked := map[uintptr]bool{}
			for a, m := p, prefetchSpan(p, n); m > 0; a, m = a+64, m-64 { // prefetchLines' loop
				asked[a>>6] = true
			}
			for line := p >> 6; line <= (p+uintptr(n)-1)>>6; line++ {
				if !asked[line] {
					t.Fatalf("%d bytes at %#x: line %#x not asked for", n, p, line<<6)
				}
			}
			if got, want := len(asked), int((p+uintptr(n)-1)>>6-p>>6+1); got != want {
				t.Fatalf("%d bytes at %#x: %d lines asked for, want %d", n, p, got, want)
			}
		}
	}
}
