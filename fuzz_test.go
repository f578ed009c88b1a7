package sortedset

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// decodeOps turns fuzz bytes into commands, five bytes each: kind and side,
// a 10-bit item value spread over two bytes, an index and a count.
func decodeOps(data []byte) []op {
	var ops []op
	for ; len(data) >= 5; data = data[5:] {
		ops = append(ops, op{
			Kind: opKind(data[0]&0x7f) % numOps,
			Side: data[0]&0x80 != 0,
			V:    int64(binary.LittleEndian.Uint16(data[1:3]) % 1024),
			I:    int(data[3]),
			N:    int(data[4]),
			Stop: int(data[1] >> 2),
		})
	}
	return ops
}

// FuzzOps checks random command sequences against the sorted-slice model.
// The first byte picks the item type, the second the bucket size.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 1, 0, 0, 0})
	f.Add([]byte{3, 1, 13, 7, 0, 200, 100, 8, 0, 0, 0, 0, 1, 0, 3, 0, 0, 9, 3, 0, 0, 0, 1, 2, 3, 4, 5})
	f.Add([]byte{4, 2, 13, 40, 0, 255, 250, 14, 7, 1, 9, 3, 136, 2, 0, 7, 9, 11, 44, 1, 0, 10, 1, 4, 4, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		opts := []Option{WithBucketSize(propertyBucketSizes[int(data[1])%len(propertyBucketSizes)])}
		ops := decodeOps(data[2:])
		underEachKernel(t, func(t *testing.T) {
			var msg string
			switch data[0] % 5 {
			case 0:
				msg = runOps(int64Domain, opts, ops)
			case 1:
				msg = runOps(float64Domain, opts, ops)
			case 2:
				msg = runOps(stringDomain, opts, ops)
			case 3:
				msg = runOps(memberDomain(false), opts, ops)
			case 4:
				msg = runOps(memberDomain(true), opts, ops)
			}
			if msg != "" {
				t.Fatal(msg)
			}
		})
	})
}

// underEachKernel runs f once under every search path this CPU has (Sets
// take the active kernel when they are made), as issue 3 asks of the fuzz
// targets too; a failure names the kernel.
func underEachKernel(t *testing.T, f func(t *testing.T)) {
	prev := activeKernel
	defer func() { activeKernel = prev }()
	for _, k := range cpuKernels() {
		activeKernel = k
		t.Run(k.name, f)
	}
}

// FuzzFromSorted bulk-loads arbitrary int64s and float64s: sorted input must
// load into a valid Set holding exactly the input, anything else must fail
// with ErrNotSorted.
func FuzzFromSorted(f *testing.F) {
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint8(2), []byte{2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint8(3), binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN())))
	f.Fuzz(func(t *testing.T, size uint8, data []byte) {
		opts := []Option{WithBucketSize(2 + int(size)%100)}
		var ints []int64
		var floats []float64
		for ; len(data) >= 8; data = data[8:] {
			u := binary.LittleEndian.Uint64(data)
			ints = append(ints, int64(u))
			floats = append(floats, math.Float64frombits(u))
		}
		underEachKernel(t, func(t *testing.T) {
			checkFromSorted(t, int64Domain, ints, opts)
			checkFromSorted(t, float64Domain, floats, opts)
		})
	})
}

func checkFromSorted[T any](t *testing.T, d domain[T], items []T, opts []Option) {
	sorted := true
	for i := 1; i < len(items); i++ {
		sorted = sorted && d.compare(items[i-1], items[i]) < 0
	}
	s, err := d.sorted(items, opts...)
	if !sorted {
		if !errors.Is(err, ErrNotSorted) {
			t.Fatalf("%s: FromSorted(%v) err = %v, want ErrNotSorted", d.name, items, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: FromSorted(%v): %v", d.name, items, err)
	}
	if err := s.check(); err != nil {
		t.Fatalf("%s: FromSorted(%v): %v", d.name, items, err)
	}
	if got := s.ToSlice(); !equalItems(d, got, items) {
		t.Fatalf("%s: FromSorted(%v) holds %v", d.name, items, got)
	}
	// The headroom promise: the first insert into a loaded bucket must not
	// split it.
	if st := s.Stats(); st.MaxFill >= st.BucketSize {
		t.Fatalf("%s: FromSorted left a full bucket: %+v", d.name, st)
	}
}
