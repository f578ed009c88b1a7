package sortedset

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// opKind names the commands of the model-based tests.
type opKind uint8

const (
	opAdd opKind = iota
	opRemove
	opRemoveAt
	opAt
	opIndexOf
	opRank
	opSlice
	opAppendRange
	opClone
	opFromSorted
	opIterate
	opClear
	opMinMax
	opAddRun
	opRemoveRun
	opFloorCeiling
	opAddSorted
	opPop
	opRemoveRange
	numOps
)

// op is one command: V picks an item (through the item type's domain), I and
// N are an index and a count, Side picks the original or the clone, and Stop
// is where an iteration breaks off.
type op struct {
	Kind opKind
	V    int64
	I    int
	N    int
	Side bool
	Stop int
}

func (o op) String() string {
	return fmt.Sprintf("{%d v=%d i=%d n=%d side=%t stop=%d}", o.Kind, o.V, o.I, o.N, o.Side, o.Stop)
}

// domain maps small integers to the items of one type, so that generated
// commands hit duplicates, neighbours and the type's edge values.
type domain[T any] struct {
	name    string
	item    func(v int64) T
	compare func(a, b T) int
	newSet  func(opts ...Option) *Set[T]
	sorted  func(items []T, opts ...Option) (*Set[T], error)
}

func orderedDomain[T cmp.Ordered](name string, item func(v int64) T) domain[T] {
	return domain[T]{name: name, item: item, compare: cmp.Compare[T], newSet: New[T], sorted: FromSorted[T]}
}

var int64Domain = orderedDomain("int64", func(v int64) int64 {
	switch v % 50 {
	case 0:
		return math.MinInt64
	case 1:
		return math.MaxInt64
	}
	return v
})

var float64Domain = orderedDomain("float64", func(v int64) float64 {
	switch v % 40 {
	case 0:
		return math.NaN()
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return 0
	case 3:
		return math.Inf(1)
	case 4:
		return math.Inf(-1)
	case 5:
		return -math.MaxFloat64
	}
	return float64(v) / 4
})

var stringDomain = orderedDomain("string", func(v int64) string {
	return strings.Repeat("z", int(v%3)) + fmt.Sprint(v)
})

// member is the struct of the comparator tests: a member-list row ordered by
// group, then name, then id.
type member struct {
	group uint8
	name  string
	id    uint64
}

func compareMembers(a, b member) int {
	return cmp.Or(cmp.Compare(a.group, b.group), strings.Compare(a.name, b.name), cmp.Compare(a.id, b.id))
}

// memberKey is a monotone key for compareMembers: the group in the top byte,
// then the first seven bytes of the name.
func memberKey(m member) uint64 {
	k := uint64(m.group) << 56
	for i := 0; i < 7 && i < len(m.name); i++ {
		k |= uint64(m.name[i]) << (48 - 8*i)
	}
	return k
}

func memberItem(v int64) member {
	u := uint64(v)
	return member{group: uint8(u % 3), name: strings.Repeat("ab", int(u%5)) + fmt.Sprint(u%7), id: u}
}

func memberDomain(withKey bool) domain[member] {
	d := domain[member]{name: "member", item: memberItem, compare: compareMembers}
	d.newSet = func(opts ...Option) *Set[member] { return NewFunc(compareMembers, opts...) }
	d.sorted = func(items []member, opts ...Option) (*Set[member], error) {
		return FromSortedFunc(items, compareMembers, opts...)
	}
	if withKey {
		d.name = "member+key"
		inner, innerSorted := d.newSet, d.sorted
		d.newSet = func(opts ...Option) *Set[member] { return inner(append(opts, WithKey(memberKey))...) }
		d.sorted = func(items []member, opts ...Option) (*Set[member], error) {
			return innerSorted(items, append(opts, WithKey(memberKey))...)
		}
	}
	return d
}

// replica is one Set under test and the sorted slice that models it.
type replica[T any] struct {
	set   *Set[T]
	model []T
}

// runOps applies ops to a Set with the given options and to a sorted-slice
// model, comparing every result and the whole contents after each command.
// It returns a description of the first difference, or "" when none.
func runOps[T any](d domain[T], opts []Option, ops []op) string {
	sides := [2]*replica[T]{{set: d.newSet(opts...)}, nil}
	for step, o := range ops {
		r := sides[0]
		if o.Side && sides[1] != nil {
			r = sides[1]
		}
		if msg := applyOp(d, opts, r, sides[:], o); msg != "" {
			return fmt.Sprintf("%s, step %d %v: %s", d.name, step, o, msg)
		}
		for i, r := range sides {
			if r == nil {
				continue
			}
			if err := r.set.check(); err != nil {
				return fmt.Sprintf("%s, step %d %v, side %d: %v", d.name, step, o, i, err)
			}
			if got := r.set.ToSlice(); !equalItems(d, got, r.model) || r.set.Len() != len(r.model) {
				return fmt.Sprintf("%s, step %d %v, side %d: contents %v, model %v", d.name, step, o, i, got, r.model)
			}
		}
	}
	return ""
}

func equalItems[T any](d domain[T], a, b []T) bool {
	return slices.EqualFunc(a, b, func(x, y T) bool { return d.compare(x, y) == 0 })
}

func applyOp[T any](d domain[T], opts []Option, r *replica[T], sides []*replica[T], o op) string {
	x := d.item(o.V)
	mi, found := slices.BinarySearchFunc(r.model, x, d.compare)
	n := len(r.model)
	switch o.Kind {
	case opAdd:
		i, added := r.set.Add(x)
		if i != mi || added == found {
			return fmt.Sprintf("Add(%v) = %d, %t; want %d, %t", x, i, added, mi, !found)
		}
		if !found {
			r.model = slices.Insert(r.model, mi, x)
		}
	case opRemove:
		i, removed := r.set.Remove(x)
		want := -1
		if found {
			want = mi
			r.model = slices.Delete(r.model, mi, mi+1)
		}
		if i != want || removed != found {
			return fmt.Sprintf("Remove(%v) = %d, %t; want %d, %t", x, i, removed, want, found)
		}
	case opRemoveAt:
		i := o.I%(n+4) - 2
		got, ok := r.set.RemoveAt(i)
		inRange := i >= 0 && i < n
		if ok != inRange || (ok && d.compare(got, r.model[i]) != 0) {
			return fmt.Sprintf("RemoveAt(%d) = %v, %t with Len %d", i, got, ok, n)
		}
		if ok {
			r.model = slices.Delete(r.model, i, i+1)
		}
	case opAt:
		i := o.I%(n+4) - 2
		if o.N%7 == 0 {
			i = []int{math.MinInt, math.MaxInt}[o.N%2]
		}
		got, ok := r.set.At(i)
		inRange := i >= 0 && i < n
		if ok != inRange || (ok && d.compare(got, r.model[i]) != 0) {
			return fmt.Sprintf("At(%d) = %v, %t with Len %d", i, got, ok, n)
		}
	case opIndexOf:
		i, ok := r.set.IndexOf(x)
		want := -1
		if found {
			want = mi
		}
		if i != want || ok != found || r.set.Contains(x) != found {
			return fmt.Sprintf("IndexOf(%v) = %d, %t; want %d, %t", x, i, ok, want, found)
		}
	case opRank:
		if got := r.set.Rank(x); got != mi {
			return fmt.Sprintf("Rank(%v) = %d, want %d", x, got, mi)
		}
	case opSlice, opAppendRange:
		start, count, k := rangeArgs(o, n)
		var want []T
		if k > 0 {
			want = r.model[start : start+k]
		}
		if o.Kind == opSlice {
			if got := r.set.Slice(start, count); !equalItems(d, got, want) {
				return fmt.Sprintf("Slice(%d, %d) = %v, want %v", start, count, got, want)
			}
			break
		}
		prefix := []T{x}
		got := r.set.AppendRange(prefix, start, count)
		if !equalItems(d, got, append([]T{x}, want...)) {
			return fmt.Sprintf("AppendRange([%v], %d, %d) = %v, want %v", x, start, count, got, want)
		}
	case opClone:
		c := &replica[T]{set: r.set.Clone(), model: slices.Clone(r.model)}
		if r == sides[0] {
			sides[1] = c
		} else {
			sides[0] = c
		}
	case opFromSorted:
		s, err := d.sorted(r.model, opts...)
		if err != nil {
			return fmt.Sprintf("FromSorted of the model: %v", err)
		}
		r.set = s
		if n >= 2 {
			bad := slices.Clone(r.model)
			bad[o.I%(n-1)], bad[o.I%(n-1)+1] = bad[o.I%(n-1)+1], bad[o.I%(n-1)]
			if _, err := d.sorted(bad, opts...); !errors.Is(err, ErrNotSorted) {
				return fmt.Sprintf("FromSorted of unsorted input: err = %v, want ErrNotSorted", err)
			}
		}
	case opIterate:
		return checkIteration(d, r, x, o)
	case opClear:
		if o.N%4 == 0 {
			r.set.Clear()
			r.model = nil
		}
	case opAddRun, opRemoveRun:
		// Runs of writes grow sets past a few buckets of the default size
		// and empty whole stretches, which is what drives splits and merges.
		for j := range int64(o.N % 1500) {
			v := o.V*8 + j*int64(1+o.Stop%3)
			if o.Kind == opAddRun {
				if msg := applyOp(d, opts, r, sides, op{Kind: opAdd, V: v}); msg != "" {
					return msg
				}
			} else if msg := applyOp(d, opts, r, sides, op{Kind: opRemove, V: v}); msg != "" {
				return msg
			}
		}
	case opFloorCeiling:
		ci, cx, cok := r.set.Ceiling(x)
		if wantOK := mi < n; cok != wantOK || (cok && (ci != mi || d.compare(cx, r.model[mi]) != 0)) || (!cok && ci != -1) {
			return fmt.Sprintf("Ceiling(%v) = %d, %v, %t; want index %d of model %v", x, ci, cx, cok, mi, r.model)
		}
		want := mi - 1
		if found {
			want = mi
		}
		fi, fx, fok := r.set.Floor(x)
		if fok != (want >= 0) || fi != want || (fok && d.compare(fx, r.model[want]) != 0) {
			return fmt.Sprintf("Floor(%v) = %d, %v, %t; want index %d of model %v", x, fi, fx, fok, want, r.model)
		}
	case opAddSorted:
		return addSorted(d, r, o)
	case opPop:
		pop, want := r.set.PopMin, 0
		if o.N%2 == 1 {
			pop, want = r.set.PopMax, n-1
		}
		got, ok := pop()
		if ok != (n > 0) || (ok && d.compare(got, r.model[want]) != 0) {
			return fmt.Sprintf("Pop (max: %t) = %v, %t with model %v", o.N%2 == 1, got, ok, r.model)
		}
		if ok {
			r.model = slices.Delete(r.model, want, want+1)
		}
	case opRemoveRange:
		start, count, want := rangeArgs(o, n)
		if got := r.set.RemoveRange(start, count); got != want {
			return fmt.Sprintf("RemoveRange(%d, %d) = %d with Len %d, want %d", start, count, got, n, want)
		}
		if want > 0 {
			r.model = slices.Delete(r.model, start, start+want)
		}
	case opMinMax:
		lo, okLo := r.set.Min()
		hi, okHi := r.set.Max()
		if okLo != (n > 0) || okHi != (n > 0) || (n > 0 && (d.compare(lo, r.model[0]) != 0 || d.compare(hi, r.model[n-1]) != 0)) {
			return fmt.Sprintf("Min, Max = %v %t, %v %t with model %v", lo, okLo, hi, okHi, r.model)
		}
	}
	return ""
}

// rangeArgs picks the arguments of a range command (Slice, AppendRange,
// RemoveRange) on a Set of n items, extremes and short ranges among them,
// and the number of items in the range, k (0 when it is empty, whatever
// start is).
func rangeArgs(o op, n int) (start, count, k int) {
	start, count = o.I%(n+4)-2, o.N%(n+4)-2
	switch o.Stop % 6 {
	case 0:
		count = math.MaxInt
	case 1:
		start = math.MinInt
	case 2:
		start = math.MaxInt
	case 3:
		count = o.N % 3 // a few items, which may leave a bucket nearly empty
	}
	if start < 0 || count <= 0 || start >= n {
		return start, count, 0
	}
	return start, count, min(count, n-start)
}

// addSorted checks AddSorted with a batch of up to 1,499 items from o.V on,
// every (1 + o.Stop%3)th value: long enough next to the run it spans to be
// merged, or added item by item. One in five batches is out of order or
// has a duplicate, which must change nothing.
func addSorted[T any](d domain[T], r *replica[T], o op) string {
	var batch []T
	for j := range int64(o.N % 1500) {
		batch = append(batch, d.item(o.V*8+j*int64(1+o.Stop%3)))
	}
	slices.SortFunc(batch, d.compare)
	batch = slices.CompactFunc(batch, func(a, b T) bool { return d.compare(a, b) == 0 })
	if k := len(batch); k >= 2 && o.I%5 == 0 {
		bad := slices.Clone(batch)
		i := o.I / 5 % (k - 1)
		if o.I%2 == 0 {
			bad[i], bad[i+1] = bad[i+1], bad[i]
		} else {
			bad[i+1] = bad[i]
		}
		if added, err := r.set.AddSorted(bad); !errors.Is(err, ErrNotSorted) || added != 0 {
			return fmt.Sprintf("AddSorted of unsorted %v = %d, %v; want ErrNotSorted", bad, added, err)
		}
		return ""
	}
	want := len(batch)
	for _, x := range batch {
		if _, found := slices.BinarySearchFunc(r.model, x, d.compare); found {
			want--
		}
	}
	added, err := r.set.AddSorted(batch)
	if err != nil || added != want {
		return fmt.Sprintf("AddSorted(%d items) = %d, %v; want %d", len(batch), added, err, want)
	}
	r.model = slices.CompactFunc(slices.SortedFunc(slices.Values(append(r.model, batch...)), d.compare),
		func(a, b T) bool { return d.compare(a, b) == 0 })
	return ""
}

type indexed[T any] struct {
	i int
	x T
}

// checkIteration runs one of the iterators, breaking off after o.Stop items,
// and compares what it yielded with the model.
func checkIteration[T any](d domain[T], r *replica[T], from T, o op) string {
	var got, want []indexed[T]
	collect := func(i int, x T) bool {
		got = append(got, indexed[T]{i, x})
		return len(got) < o.Stop
	}
	rank, _ := slices.BinarySearchFunc(r.model, from, d.compare)
	var name string
	lo, hi, step := 0, len(r.model), 1
	switch o.N % 5 {
	case 0:
		name = "All"
		r.set.All()(collect)
	case 1:
		name = "Backward"
		r.set.Backward()(collect)
		lo, hi, step = len(r.model)-1, -1, -1
	case 2:
		name = "Ascend"
		r.set.Ascend(from)(collect)
		lo = rank
	case 3:
		name = "Descend"
		r.set.Descend(from)(collect)
		lo, hi, step = rank-1, -1, -1
		if rank < len(r.model) && d.compare(r.model[rank], from) == 0 {
			lo = rank
		}
	case 4:
		name = "Values"
		i := 0
		r.set.Values()(func(x T) bool {
			more := collect(i, x)
			i++
			return more
		})
	}
	for i := lo; i != hi && len(want) < max(o.Stop, 1); i += step {
		want = append(want, indexed[T]{i, r.model[i]})
	}
	if !slices.EqualFunc(got, want, func(a, b indexed[T]) bool { return a.i == b.i && d.compare(a.x, b.x) == 0 }) {
		return fmt.Sprintf("%s(%v) stopping after %d = %v, want %v", name, from, o.Stop, got, want)
	}
	return ""
}
