//go:build linux

package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// hist is a lock-free log-linear latency histogram in microseconds: 64
// sub-buckets per power of two, so a percentile is within ~1.6% of the true
// value. Many goroutines may add at once.
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
	us := d.Microseconds()
	h.counts[bucketOf(us)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			break
		}
	}
}

// quantile returns the q-quantile (0 < q <= 1), 0 when empty.
func (h *hist) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(q * float64(n))
	if rank < 1 {
		rank = 1
	}
	var c int64
	for i := range h.counts {
		c += h.counts[i].Load()
		if c >= rank {
			return time.Duration(lowOf(i)) * time.Microsecond
		}
	}
	return time.Duration(h.max.Load()) * time.Microsecond
}

func (h *hist) count() int64           { return h.n.Load() }
func (h *hist) maximum() time.Duration { return time.Duration(h.max.Load()) * time.Microsecond }
