package sortedset

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

// FuzzKernels decodes data into a sorted block of 64-bit words and a probe,
// reads them as int64, uint64 and float64 (so every NaN payload, ±0 and ±Inf
// turns up), and as int32/uint32 from the low halves, and checks that every
// kernel this CPU runs agrees with the definition of the lower bound. width
// cuts the block short so that lengths around every block boundary occur.
func FuzzKernels(f *testing.F) {
	f.Add([]byte{}, uint64(0), uint8(0))
	f.Add(binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN())), math.Float64bits(math.Copysign(0, -1)), uint8(1))
	words := []uint64{0, 1 << 63, math.MaxUint64, math.Float64bits(math.Inf(-1)), math.Float64bits(math.Inf(1)), 0x7ff8000000000001, 0xfff8000000000001, 42}
	var seed []byte
	for i := range 40 {
		seed = binary.LittleEndian.AppendUint64(seed, words[i%len(words)])
	}
	for _, w := range words {
		f.Add(seed, w, uint8(33))
	}
	f.Fuzz(func(t *testing.T, data []byte, probe uint64, width uint8) {
		ws := make([]uint64, 0, len(data)/8)
		for len(data) >= 8 {
			ws = append(ws, binary.LittleEndian.Uint64(data))
			data = data[8:]
		}
		if int(width) < len(ws) && width != 0 {
			ws = ws[:width]
		}
		i64 := sortedAs(ws, func(w uint64) int64 { return int64(w) })
		u64 := sortedAs(ws, func(w uint64) uint64 { return w })
		f64 := sortedAs(ws, math.Float64frombits)
		i32 := sortedAs(ws, func(w uint64) int32 { return int32(w) })
		u32 := sortedAs(ws, func(w uint64) uint32 { return uint32(w) })
		for _, k := range cpuKernels() {
			agree(t, k.name+"/int64", k.int64s, i64, int64(probe))
			agree(t, k.name+"/uint64", k.uint64s, u64, probe)
			agree(t, k.name+"/float64", k.float64s, f64, math.Float64frombits(probe))
			agree(t, k.name+"/int32", k.int32s, i32, int32(probe))
			agree(t, k.name+"/uint32", k.uint32s, u32, uint32(probe))
		}
	})
}

func sortedAs[T cmp.Ordered](ws []uint64, conv func(uint64) T) []T {
	s := make([]T, len(ws))
	for i, w := range ws {
		s[i] = conv(w)
	}
	slices.SortFunc(s, cmp.Compare[T])
	return s
}

func agree[T cmp.Ordered](t *testing.T, name string, search func([]T, T) int, s []T, x T) {
	t.Helper()
	// Probe with x, and with every element, which lands on runs of equal keys.
	for _, p := range append([]T{x}, s...) {
		if got, want := search(s, p), reference(s, p); got != want {
			t.Fatalf("%s: len %d, probe %v: got %d, want %d (block %v)", name, len(s), p, got, want, abbrev(s))
		}
	}
}
