//go:build linux

package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// hist is a lock-free log-linear latency histogram in microseconds: 64
// sub-buckets per power of two. A quantile is the upper edge of the bucket
// that holds the sample of its rank, so it is never below the true value
// and at most ~1.6% above it (or 1 µs): a target checked against it cannot
// pass when the samples miss it. Many goroutines may add at once.
type hist struct {
	counts [64 * 64]atomic.Int64
	n      atomic.Int64
	max    atomic.Int64
}

func bucketOf(us int64) int {
	if us < 64 {
		if us < 0 {
			return 0
		}
		return int(us)
	}
	e := bits.Len64(uint64(us)) // >= 7
	return (e-6)*64 + int((us>>(e-7))&63)
}

// lowOf is the smallest value of bucket i.
func lowOf(i int) int64 {
	if i < 64 {
		return int64(i)
	}
	e := i/64 + 6
	return (1 << (e - 1)) | int64(i%64)<<(e-7)
}

func (h *hist) add(d time.Duration) {
	// Round up, so that a quantile is never below the true value.
	us := int64((d + time.Microsecond - 1) / time.Microsecond)
	h.counts[bucketOf(us)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			break
		}
	}
}

// quantile returns the q-quantile (0 < q <= 1) by nearest rank, the
// ceil(q·n)-th smallest sample, rounded up to its bucket's upper edge and
// capped at the maximum; 0 when empty.
func (h *hist) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := min(max(int64(math.Ceil(q*float64(n))), 1), n)
	var c int64
	for i := range h.counts {
		c += h.counts[i].Load()
		if c >= rank {
			return time.Duration(min(lowOf(i+1)-1, h.max.Load())) * time.Microsecond
		}
	}
	return time.Duration(h.max.Load()) * time.Microsecond
}

func (h *hist) count() int64           { return h.n.Load() }
func (h *hist) maximum() time.Duration { return time.Duration(h.max.Load()) * time.Microsecond }
