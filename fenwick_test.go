package sortedset

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFenwick checks prefix and find against sums of the lengths, for trees
// of every bucket count up to 130 (padded to a power of two) and lengths that
// include zeros.
func TestFenwick(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 130; n++ {
		lens := make([]int, n)
		for i := range lens {
			lens[i] = rng.IntN(5)
		}
		lens[rng.IntN(n)]++ // a tree with no items has no index to find
		// Empty buckets pad the tree to a power of two, as reindex does.
		f := fenwick(append(slices.Clone(lens), make([]int, fenwickLen(n)-n)...)).build(0, n)
		sum := 0
		for b, l := range lens {
			require.Equal(t, sum, f.prefix(b), "prefix(%d) of %v", b, lens)
			for pos := range l {
				gb, gpos := f.find(sum + pos)
				require.Equal(t, [2]int{b, pos}, [2]int{gb, gpos}, "find(%d) of %v", sum+pos, lens)
			}
			sum += l
		}
		require.Equal(t, sum, f.prefix(n))
	}
}

// TestFenwickBuildFrom: rebuilding from bucket k, after the lengths from k
// on changed, gives the tree that a full build of the new lengths gives.
func TestFenwickBuildFrom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 1; n <= 130; n++ {
		size := fenwickLen(n)
		lens := make([]int, size)
		for i := range n {
			lens[i] = rng.IntN(5)
		}
		f := fenwick(slices.Clone(lens)).build(0, n)
		for k := 0; k <= size; k++ {
			changed := slices.Clone(lens)
			for i := k; i < n; i++ {
				changed[i] = rng.IntN(5)
			}
			want := fenwick(slices.Clone(changed)).build(0, n)
			got := slices.Clone(f)
			copy(got[k:], changed[k:])
			require.Equal(t, want, got.build(k, n), "n=%d from %d", n, k)
		}
	}
}
