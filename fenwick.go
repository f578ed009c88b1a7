package sortedset

import "math/bits"

// fenwick is a binary indexed tree over bucket lengths: it turns "how many
// items come before bucket b" and "which bucket holds index i" into
// O(log(number of buckets)) walks instead of a sum over all earlier buckets.
// The zero value is an empty tree.
type fenwick []int

// build turns f, which holds the bucket lengths in order, into their tree in
// O(n), in place.
func (f fenwick) build() fenwick {
	for i := 1; i <= len(f); i++ {
		if j := i + i&-i; j <= len(f) {
			f[j-1] += f[i-1]
		}
	}
	return f
}

// add adds d to the length of bucket b.
func (f fenwick) add(b, d int) {
	for i := b + 1; i <= len(f); i += i & -i {
		f[i-1] += d
	}
}

// prefix returns the total length of buckets [0, b).
func (f fenwick) prefix(b int) int {
	sum := 0
	for i := b; i > 0; i -= i & -i {
		sum += f[i-1]
	}
	return sum
}

// find returns the bucket holding global index k (0 <= k < total) and the
// position of k inside it. top is f.top(), which the caller keeps. Whether a
// step is taken depends on k, so a branch there mispredicts about half the
// time; a mask takes its place (At at 1k: 10.1 → 4.4 ns, at 100k 41 → 19 ns;
// at 1M no significant change).
func (f fenwick) find(k, top int) (b, pos int) {
	for step := top; step > 0; step >>= 1 {
		if j := b + step; j <= len(f) {
			v := f[j-1]
			m := (v - k - 1) >> 63 // all ones when v <= k
			b += step & m
			k -= v & m
		}
	}
	return b, k
}

// top returns the largest power of two <= len(f), or 0 for an empty tree:
// the first step of find.
func (f fenwick) top() int {
	if len(f) == 0 {
		return 0
	}
	return 1 << (bits.Len(uint(len(f))) - 1)
}
