package replica

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"unsafe"

	"github.com/bucketed/sortedset/cmd/internal/wire"
	"github.com/stretchr/testify/require"
)

// dense is the obvious model: a slice of slots with a known flag.
type dense struct {
	items []wire.Item
	known []bool
}

func (d *dense) pad(n int) {
	for len(d.items) < n {
		d.items = append(d.items, wire.Item{})
		d.known = append(d.known, false)
	}
}

func (d *dense) apply(op wire.Op) {
	switch op.Op {
	case wire.OpInsert:
		d.pad(op.Index)
		d.items = append(d.items[:op.Index], append([]wire.Item{*op.Item}, d.items[op.Index:]...)...)
		d.known = append(d.known[:op.Index], append([]bool{true}, d.known[op.Index:]...)...)
	case wire.OpDelete:
		if op.Index < len(d.items) {
			d.items = append(d.items[:op.Index], d.items[op.Index+1:]...)
			d.known = append(d.known[:op.Index], d.known[op.Index+1:]...)
		}
	case wire.OpUpdate:
		d.pad(op.Index + 1)
		d.items[op.Index], d.known[op.Index] = *op.Item, true
	case wire.OpSync:
		for i := op.Range[0]; i <= op.Range[1] && i < len(d.items); i++ {
			d.known[i] = false
		}
		d.pad(op.Range[0] + len(op.Items))
		for k, it := range op.Items {
			d.items[op.Range[0]+k], d.known[op.Range[0]+k] = it, true
		}
	case wire.OpInvalidate:
		for i := op.Range[0]; i <= op.Range[1] && i < len(d.items); i++ {
			d.known[i] = false
		}
	}
}

func item(n int) *wire.Item {
	return &wire.Item{Member: &wire.Member{ID: strconv.Itoa(n), Name: "m", Status: "online"}}
}

func TestReplicaMatchesDenseModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		r, d := New(), &dense{}
		next := 0
		type applied struct {
			u    *wire.Update
			text string
		}
		var past []applied // a SYNC's run shares the message's items: later edits must not reach them
		for seq := int64(1); seq <= 40; seq++ {
			u := &wire.Update{Seq: seq}
			for k := rng.IntN(6); k > 0; k-- {
				next++
				n := len(d.items) + 3
				switch rng.IntN(5) {
				case 0:
					u.Ops = append(u.Ops, wire.Op{Op: wire.OpInsert, Index: rng.IntN(n), Item: item(next)})
				case 1:
					u.Ops = append(u.Ops, wire.Op{Op: wire.OpDelete, Index: rng.IntN(n)})
				case 2:
					u.Ops = append(u.Ops, wire.Op{Op: wire.OpUpdate, Index: rng.IntN(n), Item: item(next)})
				case 3:
					a := rng.IntN(n)
					b := a + rng.IntN(8)
					var items []wire.Item
					for j := rng.IntN(b - a + 2); j > 0; j-- {
						next++
						items = append(items, *item(next))
					}
					u.Ops = append(u.Ops, wire.Op{Op: wire.OpSync, Range: [2]int{a, b}, Items: items})
				case 4:
					a := rng.IntN(n)
					u.Ops = append(u.Ops, wire.Op{Op: wire.OpInvalidate, Range: [2]int{a, a + rng.IntN(5)}})
				}
			}
			for _, op := range u.Ops {
				d.apply(op)
			}
			size := len(d.items) + rng.IntN(5) - 2
			if size < 0 {
				size = 0
			}
			d.pad(size)
			d.items, d.known = d.items[:size], d.known[:size]
			u.Size = size
			before := fmt.Sprint(u.Ops)
			require.NoError(t, r.Apply(u))
			require.Equal(t, before, fmt.Sprint(u.Ops), "Apply must not change the message: the load generator shares decoded messages between replicas")
			past = append(past, applied{u, before})
			requireRunsValid(t, r)
			require.Equal(t, size, r.Size())
			for i := 0; i < size+2; i++ {
				got, ok := r.Get(i)
				want := i < size && d.known[i]
				require.Equal(t, want, ok, "trial %d seq %d slot %d", trial, seq, i)
				if ok {
					require.True(t, got.Equal(d.items[i]), "slot %d: %v != %v", i, got, d.items[i])
				}
			}
		}
		for _, a := range past {
			require.Equal(t, a.text, fmt.Sprint(a.u.Ops), "trial %d: a later message changed message %d", trial, a.u.Seq)
		}
	}
}

// requireRunsValid checks the representation: runs sorted, non-empty, inside
// the list, neither overlapping nor touching, and no two sharing the memory of
// their items (an in-place edit of one would show in the other).
func requireRunsValid(t *testing.T, r *Replica) {
	t.Helper()
	for k, x := range r.runs {
		require.NotEmpty(t, x.items)
		require.LessOrEqual(t, x.start+len(x.items), r.length)
		if k > 0 {
			p := r.runs[k-1]
			require.Greater(t, x.start, p.start+len(p.items), "runs %d and %d overlap or touch", k-1, k)
			pEnd := unsafe.Pointer(unsafe.SliceData(p.items[:cap(p.items)][cap(p.items)-1:]))
			require.NotEqual(t, pEnd, unsafe.Pointer(unsafe.SliceData(x.items[:cap(x.items)][cap(x.items)-1:])), "runs %d and %d share an array's end", k-1, k)
		}
	}
}

func TestReplicaRejects(t *testing.T) {
	r := New()
	require.Error(t, r.Apply(&wire.Update{Seq: 2}), "gap in seq")
	require.Error(t, r.Apply(&wire.Update{Seq: 1, Ops: []wire.Op{{Op: "NOPE"}}}))
	require.Error(t, r.Apply(&wire.Update{Seq: 1, Ops: []wire.Op{{Op: wire.OpInsert, Index: 0}}}), "insert without item")
	require.Error(t, r.Apply(&wire.Update{Seq: 1, Ops: []wire.Op{{Op: wire.OpDelete, Index: -1}}}))
	require.Error(t, r.Apply(&wire.Update{Seq: 1, Ops: []wire.Op{{Op: wire.OpSync, Range: [2]int{3, 2}}}}))
	require.Equal(t, int64(0), r.Seq(), "rejected messages change nothing")
	require.NoError(t, r.Apply(&wire.Update{Seq: 1, Size: 2, Ops: []wire.Op{{Op: wire.OpSync, Range: [2]int{0, 1}, Items: []wire.Item{*item(1), *item(2)}}}}))
	items, ok := r.Range(0, 99)
	require.True(t, ok)
	require.Len(t, items, 2)
}
