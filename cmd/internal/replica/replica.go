// Package replica is the client side of guildd's gateway: it applies
// GUILD_MEMBER_LIST_UPDATE messages to a copy of the member list exactly as
// the protocol defines, so tests and the load generator can check what a
// session would show.
//
// The client keeps a list of Size() slots, each unknown until filled. For each
// op in order: INSERT splices its item in at index (slots from index on move
// up by one), DELETE splices slot index out, UPDATE replaces slot index, SYNC
// forgets range [a, b] and fills its items from a, INVALIDATE forgets range
// [a, b]. Afterwards the list is cut or padded (with unknown slots) to the
// message's size. An op whose index is past the current end pads the list
// first; that is harmless and the server never relies on it.
//
// Only known slots are stored, as runs of consecutive known items, so a
// replica of a 1,000,000-member list subscribed to a few hundred rows costs a
// few hundred items, and each op costs O(number of runs).
//
// Typical use:
//
//	r := replica.New()
//	for each frame {
//		msg, err := wire.DecodeServer(frame)
//		if msg.T == wire.TypeUpdate { err = r.Apply(&msg.Update) }
//	}
//	items, ok := r.Range(0, 99) // ok when every slot in [0, 99] ∩ [0, Size) is known
//
// A Replica is not safe for concurrent use.
package replica

import (
	"fmt"

	"github.com/bucketed/sortedset/cmd/internal/wire"
)

// run is a block of consecutive known slots starting at start.
type run struct {
	start int
	items []wire.Item
}

// Replica is a client's copy of one guild's member list.
type Replica struct {
	runs   []run // sorted by start, disjoint, never adjacent, never empty
	length int
	seq    int64
	last   wire.Update // counts of the last message (Ops cleared)
}

// New returns an empty replica expecting seq 1 next.
func New() *Replica { return &Replica{} }

// Size is the list length of the last message applied.
func (r *Replica) Size() int { return r.length }

// Seq is the seq of the last message applied, 0 before any.
func (r *Replica) Seq() int64 { return r.seq }

// Last returns the last applied message's guild id, counts and groups (its Ops are nil).
func (r *Replica) Last() wire.Update { return r.last }

// Known is the number of known slots.
func (r *Replica) Known() int {
	n := 0
	for _, x := range r.runs {
		n += len(x.items)
	}
	return n
}

// Apply applies one update. It returns an error, and leaves the replica
// unchanged, when seq is not the previous seq + 1 or an op is malformed
// (unknown kind, negative index, reversed range, SYNC with more items than its
// range, missing item).
func (r *Replica) Apply(u *wire.Update) error {
	if u.Seq != r.seq+1 {
		return fmt.Errorf("replica: seq %d after %d", u.Seq, r.seq)
	}
	if u.Size < 0 {
		return fmt.Errorf("replica: negative size %d", u.Size)
	}
	for i, op := range u.Ops {
		if err := check(op); err != nil {
			return fmt.Errorf("replica: op %d: %w", i, err)
		}
	}
	for _, op := range u.Ops {
		r.apply(op)
	}
	r.resize(u.Size)
	r.seq = u.Seq
	r.last = *u
	r.last.Ops = nil
	return nil
}

func check(op wire.Op) error {
	switch op.Op {
	case wire.OpInsert, wire.OpUpdate:
		if op.Item == nil || (op.Item.Group == nil) == (op.Item.Member == nil) {
			return fmt.Errorf("%s without exactly one of group and member", op.Op)
		}
		fallthrough
	case wire.OpDelete:
		if op.Index < 0 {
			return fmt.Errorf("%s at negative index %d", op.Op, op.Index)
		}
	case wire.OpSync, wire.OpInvalidate:
		a, b := op.Range[0], op.Range[1]
		if a < 0 || b < a {
			return fmt.Errorf("%s with bad range [%d, %d]", op.Op, a, b)
		}
		if len(op.Items) > b-a+1 {
			return fmt.Errorf("SYNC of [%d, %d] with %d items", a, b, len(op.Items))
		}
		for _, it := range op.Items {
			if (it.Group == nil) == (it.Member == nil) {
				return fmt.Errorf("SYNC item without exactly one of group and member")
			}
		}
	default:
		return fmt.Errorf("unknown op %q", op.Op)
	}
	return nil
}

func (r *Replica) apply(op wire.Op) {
	switch op.Op {
	case wire.OpInsert:
		i := op.Index
		if i > r.length {
			r.length = i
		}
		r.shift(i, 1)
		r.length++
		r.fill(i, []wire.Item{*op.Item})
	case wire.OpDelete:
		i := op.Index
		if i >= r.length {
			return // nothing there: a no-op, as splicing out of a shorter list would be
		}
		r.forget(i, i)
		r.shift(i+1, -1)
		r.length--
	case wire.OpUpdate:
		if op.Index >= r.length {
			r.length = op.Index + 1
		}
		r.forget(op.Index, op.Index)
		r.fill(op.Index, []wire.Item{*op.Item})
	case wire.OpSync:
		a, b := op.Range[0], op.Range[1]
		r.forget(a, b)
		if len(op.Items) > 0 {
			if end := a + len(op.Items); end > r.length {
				r.length = end
			}
			r.fill(a, op.Items)
		}
	case wire.OpInvalidate:
		r.forget(op.Range[0], op.Range[1])
	}
}

// shift moves every known slot at index >= from by d (d = +1 opens a hole at
// from; d = -1 closes the hole at from-1, which must be unknown).
func (r *Replica) shift(from, d int) {
	out := r.runs[:0:0]
	for _, x := range r.runs {
		end := x.start + len(x.items) // exclusive
		switch {
		case end <= from:
			out = append(out, x)
		case x.start >= from:
			out = append(out, run{x.start + d, x.items})
		default: // from is inside x: split it
			k := from - x.start
			out = append(out, run{x.start, x.items[:k:k]})
			out = append(out, run{from + d, append([]wire.Item(nil), x.items[k:]...)})
		}
	}
	r.runs = out
	r.normalize()
}

// forget makes slots [a, b] unknown.
func (r *Replica) forget(a, b int) {
	out := r.runs[:0:0]
	for _, x := range r.runs {
		end := x.start + len(x.items) - 1 // inclusive
		if end < a || x.start > b {
			out = append(out, x)
			continue
		}
		if x.start < a {
			out = append(out, run{x.start, x.items[: a-x.start : a-x.start]})
		}
		if end > b {
			out = append(out, run{b + 1, append([]wire.Item(nil), x.items[b+1-x.start:]...)})
		}
	}
	r.runs = out
}

// fill makes slots [a, a+len(items)) known; they must be unknown now.
func (r *Replica) fill(a int, items []wire.Item) {
	cp := append([]wire.Item(nil), items...)
	i := 0
	for i < len(r.runs) && r.runs[i].start < a {
		i++
	}
	r.runs = append(r.runs, run{})
	copy(r.runs[i+1:], r.runs[i:])
	r.runs[i] = run{a, cp}
	r.normalize()
}

// normalize merges adjacent runs.
func (r *Replica) normalize() {
	out := r.runs[:0]
	for _, x := range r.runs {
		if len(x.items) == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].start+len(out[n-1].items) == x.start {
			p := &out[n-1]
			p.items = append(p.items[:len(p.items):len(p.items)], x.items...)
			continue
		}
		out = append(out, x)
	}
	r.runs = out
}

// resize cuts or pads the list to n slots.
func (r *Replica) resize(n int) {
	if n < r.length {
		r.forget(n, r.length-1+1<<30)
	}
	r.length = n
}

// Get returns slot i and whether it is known.
func (r *Replica) Get(i int) (wire.Item, bool) {
	for _, x := range r.runs {
		if i >= x.start && i < x.start+len(x.items) {
			return x.items[i-x.start], true
		}
	}
	return wire.Item{}, false
}

// Range returns slots [a, b] clamped to [0, Size), and ok = true when all of
// them are known. Unknown slots are zero Items.
func (r *Replica) Range(a, b int) (items []wire.Item, ok bool) {
	if a < 0 {
		a = 0
	}
	if b >= r.length {
		b = r.length - 1
	}
	ok = true
	for i := a; i <= b; i++ {
		it, known := r.Get(i)
		ok = ok && known
		items = append(items, it)
	}
	return items, ok
}
