package sortedset

import "math/bits"

// fenwick is a binary indexed tree over bucket lengths: it turns "how many
// items come before bucket b" and "which bucket holds index i" into
// O(log(number of buckets)) walks instead of a sum over all earlier buckets.
// The zero value is an empty tree.
type fenwick []int

// build turns f into the tree of the bucket lengths it holds from index
// from on, in place; f[:from] must hold the tree of the lengths before them
// already, and f[nb:] (the padding) zeros. It costs O(nb - from + log(len(f))).
func (f fenwick) build(from, nb int) fenwick {
	// The nodes before from that add into later ones are those that make
	// up prefix(from).
	for i := from; i > 0; i -= i & -i {
		if j := i + i&-i; j <= len(f) {
			f[j-1] += f[i-1]
		}
	}
	for i := from + 1; i <= nb; i++ {
		if j := i + i&-i; j <= len(f) {
			f[j-1] += f[i-1]
		}
	}
	// The padding's only non-zero nodes are those that sum the last
	// bucket: its update path past nb. Walking the rest of the padding
	// made a split at the tail cost O(len(f)) instead of O(log(len(f))).
	if nb > 0 {
		for i := nb + nb&-nb; i <= len(f); i += i & -i {
			if j := i + i&-i; j <= len(f) && i > from {
				f[j-1] += f[i-1]
			}
		}
	}
	return f
}

// add adds d to the length of bucket b. Node i-1 here is node i of the
// 1-based walk, whose step i += i & -i becomes i |= i + 1: two dependent
// instructions per step instead of three, and the steps are a chain.
func (f fenwick) add(b, d int) {
	for i := uint(b); i < uint(len(f)); i |= i + 1 {
		f[i] += d
	}
}

// prefix returns the total length of buckets [0, b). Its step, i -= i & -i
// in the 1-based walk, is i &= i - 1 for the same reason as in add.
func (f fenwick) prefix(b int) int {
	sum := 0
	for i := b; i > 0; i &= i - 1 {
		sum += f[i-1]
	}
	return sum
}

// find returns the bucket holding global index k and the position of k
// inside it; k must be in [0, total), so the tree is not empty. Whether a
// step is taken depends on k, so a branch there mispredicts about half the
// time; a mask takes its place, which about halved At at 1k to 100k (at 1M
// no significant change). The tree's length is a power of two (see
// reindex), so every step's node exists.
func (f fenwick) find(k int) (b, pos int) {
	for step := len(f) >> 1; step > 0; step >>= 1 {
		v := f[b+step-1]
		m := (k - v) >> (bits.UintSize - 1) // all ones when v > k: the step is not taken
		b += step &^ m
		k -= v &^ m
	}
	return b, k
}
