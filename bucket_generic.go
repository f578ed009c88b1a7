package sortedset

import (
	"cmp"
	"reflect"
	"unsafe"
)

// A kernel is one implementation of the lower-bound searches that find a key
// in a bucket or a bucket among the fences. Each function returns the number
// of elements of the sorted slice that are less than x (in cmp.Compare order).
// The generic kernel is the reference: every other kernel must agree with it.
type kernel struct {
	name     string
	int64s   func(s []int64, x int64) int
	uint64s  func(s []uint64, x uint64) int
	int32s   func(s []int32, x int32) int
	uint32s  func(s []uint32, x uint32) int
	float64s func(s []float64, x float64) int
}

var genericKernel = kernel{
	name:     "generic",
	int64s:   lowerBound[int64],
	uint64s:  lowerBound[uint64],
	int32s:   lowerBound[int32],
	uint32s:  lowerBound[uint32],
	float64s: lowerBound[float64],
}

// activeKernel is the kernel new Sets use; architecture files replace it at
// start-up with the fastest one the CPU runs.
var activeKernel = genericKernel

// lowerBound returns the number of elements of the sorted s that are less
// than x, without a data-dependent branch. A slice of at least sampleMin keys
// is first cut to one of fanout parts by comparing x with the fanout-1 keys at
// the parts' ends: those loads are independent, so a bucket that is not in
// the cache costs one round of misses there instead of one per halving (at
// 1M int64 items this took 23% off IndexOf and 22% off churn). A binary
// search then finishes, each comparison a SETcc that masks the step (the
// compiler declines to emit CMOV for a select that feeds the next iteration,
// so the mask is spelled out). Check with go build -gcflags=-S: the only
// conditional jumps are the loop tests and the bounds checks. The amd64
// kernels take the same two steps.
func lowerBound[T cmp.Ordered](s []T, x T) int {
	n := len(s)
	if n == 0 {
		return 0
	}
	base := 0
	if n >= sampleMin {
		stride := n / fanout
		c := 0
		for j := 1; j < fanout; j++ {
			c += b2i(cmp.Less(s[j*stride-1], x))
		}
		base = c * stride
		n = stride + (n-fanout*stride)&-b2i(c == fanout-1)
	}
	for n > 1 {
		half := n >> 1
		base += half & -b2i(cmp.Less(s[base+half-1], x))
		n -= half
	}
	return base + b2i(cmp.Less(s[base], x))
}

// The sampling step of lowerBound and of the assembly kernels (which
// internal/asmgen writes with the same numbers).
const (
	fanout    = 16
	sampleMin = 8 * fanout
)

// b2i is 1 for true and 0 for false; the compiler turns it into a SETcc.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// lowerBoundFunc is lowerBound under a comparator. Comparators are opaque
// calls, so a plain binary search is as good as a branchless one here.
func lowerBoundFunc[T any](s []T, x T, compare func(a, b T) int) int {
	lo, hi := 0, len(s)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if compare(s[mid], x) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// orderedFuncs returns the lower-bound search for T, cmp.Compare for T and
// the name of the kernel behind the search: k's function for the types with
// a machine order, the generic lowerBound[T] for the rest.
func orderedFuncs[T cmp.Ordered](k kernel) (search func(s []T, x T) int, compare func(a, b T) int, name string) {
	kind := reflect.TypeFor[T]().Kind()
	switch { // int and uint are their 64- or 32-bit twins
	case kind == reflect.Int && unsafe.Sizeof(int(0)) == 8:
		kind = reflect.Int64
	case kind == reflect.Int:
		kind = reflect.Int32
	case kind == reflect.Uint && unsafe.Sizeof(uint(0)) == 8:
		kind = reflect.Uint64
	case kind == reflect.Uint:
		kind = reflect.Uint32
	}
	switch kind {
	case reflect.Int64:
		search, compare = machine[T](k.int64s, cmp.Compare[int64])
	case reflect.Uint64:
		search, compare = machine[T](k.uint64s, cmp.Compare[uint64])
	case reflect.Int32:
		search, compare = machine[T](k.int32s, cmp.Compare[int32])
	case reflect.Uint32:
		search, compare = machine[T](k.uint32s, cmp.Compare[uint32])
	case reflect.Float64:
		search, compare = machine[T](k.float64s, cmp.Compare[float64])
	default:
		return lowerBound[T], cmp.Compare[T], genericKernel.name
	}
	return search, compare, k.name
}

// machine returns search and compare, written for the machine type E, as
// functions of a T whose underlying type is E's kind (int on amd64 is int64,
// a named type such as `type ID uint64` is uint64). T and E then have the
// same layout and the same registers in the calling convention, so the
// functions are called as they are: a wrapper closure would cost an
// allocation per Set and a second call per use, and cmp.Compare[T] is such a
// closure, over T's dictionary.
func machine[T, E any](search func([]E, E) int, compare func(a, b E) int) (func([]T, T) int, func(a, b T) int) {
	return *(*func([]T, T) int)(unsafe.Pointer(&search)), *(*func(a, b T) int)(unsafe.Pointer(&compare))
}
