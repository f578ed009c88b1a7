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
// first: guildd relies on that when a range that starts past the end of a
// short list gets an INSERT at its start.
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
	"slices"

	"github.com/bucketed/sortedset/cmd/internal/wire"
)

// run is a block of consecutive known slots starting at start. A run that
// is not owned shares its items with a decoded message (which other replicas
// may hold too): it is copied before its first change, and its capacity is
// its length, so an append never writes into the message.
type run struct {
	start int
	items []wire.Item
	owned bool
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
		if op.Index > r.length {
			r.length = op.Index
		}
		r.insert(op.Index, *op.Item)
		r.length++
	case wire.OpDelete:
		if op.Index >= r.length {
			return // nothing there: a no-op, as splicing out of a shorter list would be
		}
		r.delete(op.Index)
		r.length--
	case wire.OpUpdate:
		if op.Index >= r.length {
			r.length = op.Index + 1
		}
		if k := r.find(op.Index + 1); k < len(r.runs) && r.runs[k].start <= op.Index {
			r.own(k)
			r.runs[k].items[op.Index-r.runs[k].start] = *op.Item
		} else {
			r.fill(op.Index, []wire.Item{*op.Item})
		}
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

// The edits below work in place: a session applies every op of every frame,
// and allocating runs per op made the replicas the load generator's main
// cost. Each owned run owns its items' backing array (a run split off another
// is capped at its length), so growing one never writes into another. A SYNC
// fills a run with the message's own items rather than a copy: sessions deep
// in a churning list get a SYNC in most frames, and copying it was the
// larger part of applying them.

// own makes run k's items its own before they are changed in place.
func (r *Replica) own(k int) {
	if x := &r.runs[k]; !x.owned {
		x.items, x.owned = slices.Clone(x.items), true
	}
}

// find returns the first run that holds slot i or ends just before it, or
// len(r.runs); find(i+1) is the run that holds i, if any.
func (r *Replica) find(i int) int {
	k := 0
	for k < len(r.runs) && r.runs[k].start+len(r.runs[k].items) < i {
		k++
	}
	return k
}

// moveFrom shifts the runs from k on by d slots.
func (r *Replica) moveFrom(k, d int) {
	for ; k < len(r.runs); k++ {
		r.runs[k].start += d
	}
}

// insert splices a known slot in at i: slots from i on move up by one.
func (r *Replica) insert(i int, it wire.Item) {
	k := r.find(i)
	if k < len(r.runs) && r.runs[k].start <= i { // inside run k or just after it
		r.own(k)
		x := &r.runs[k]
		x.items = slices.Insert(x.items, i-x.start, it)
		r.moveFrom(k+1, 1)
		return
	}
	// Runs from k on start after i+1 once moved, so the new run touches none.
	r.moveFrom(k, 1)
	r.runs = slices.Insert(r.runs, k, run{i, []wire.Item{it}, true})
}

// delete splices slot i out: slots after it move down by one.
func (r *Replica) delete(i int) {
	k := r.find(i + 1)
	if k < len(r.runs) && r.runs[k].start <= i { // i is in run k
		r.own(k)
		x := &r.runs[k]
		x.items = slices.Delete(x.items, i-x.start, i-x.start+1)
		if len(x.items) == 0 {
			r.runs = slices.Delete(r.runs, k, k+1)
		} else {
			k++
		}
		r.moveFrom(k, -1)
		return
	}
	// i was unknown: closing the gap may make run k-1 and run k touch.
	r.moveFrom(k, -1)
	r.mergeAt(k)
}

// mergeAt joins run k to run k-1 when they touch.
func (r *Replica) mergeAt(k int) {
	if k <= 0 || k >= len(r.runs) {
		return
	}
	p, x := &r.runs[k-1], r.runs[k]
	if p.start+len(p.items) != x.start {
		return
	}
	r.own(k - 1)
	p.items = append(p.items, x.items...)
	r.runs = slices.Delete(r.runs, k, k+1)
}

// forget makes slots [a, b] unknown.
func (r *Replica) forget(a, b int) {
	out := make([]run, 0, len(r.runs)+1)
	for _, x := range r.runs {
		end := x.start + len(x.items) - 1 // inclusive
		if end < a || x.start > b {
			out = append(out, x)
			continue
		}
		if x.start < a {
			out = append(out, run{x.start, x.items[: a-x.start : a-x.start], x.owned})
		}
		if end > b {
			out = append(out, run{b + 1, x.items[b+1-x.start:], x.owned})
		}
	}
	r.runs = out
}

// fill makes slots [a, a+len(items)) known; they must be unknown now. The
// run shares items (see own): a decoded message may be shared by many
// replicas.
func (r *Replica) fill(a int, items []wire.Item) {
	k := 0
	for k < len(r.runs) && r.runs[k].start < a {
		k++
	}
	r.runs = slices.Insert(r.runs, k, run{a, items[:len(items):len(items)], false})
	r.mergeAt(k + 1)
	r.mergeAt(k)
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
