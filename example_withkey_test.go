package sortedset_test

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/bucketed/sortedset"
)

// A row of a member list: sorted by group (hoisted roles first, then
// online, then offline), then by name, then by id.
type row struct {
	group uint8
	name  string
	id    uint64
}

func compareRows(a, b row) int {
	return cmp.Or(cmp.Compare(a.group, b.group), strings.Compare(a.name, b.name), cmp.Compare(a.id, b.id))
}

// rowKey packs the leading fields of the order into a uint64: the group in
// the top byte, then the first seven bytes of the name, zero-padded. It is
// monotone: if compareRows(a, b) < 0 then rowKey(a) <= rowKey(b), because
// the key compares the same fields in the same order and only drops the
// tail of the name and the id, so it can tie where the order does not, but
// never invert it. (A name sorts by bytes here; a case-folded order would
// need a case-folded key.)
func rowKey(r row) uint64 {
	k := uint64(r.group) << 56
	for i := 0; i < 7 && i < len(r.name); i++ {
		k |= uint64(r.name[i]) << (48 - 8*i)
	}
	return k
}

// WithKey lets a Set ordered by a comparator search a uint64 key with the
// SIMD kernel; the comparator runs only on items whose keys are equal.
func ExampleWithKey() {
	const (
		moderators = iota
		online
		offline
	)
	s := sortedset.NewFunc(compareRows, sortedset.WithKey(rowKey))
	s.Add(row{offline, "zoe", 1})
	s.Add(row{online, "mallory", 2})
	s.Add(row{moderators, "alice", 3})
	s.Add(row{online, "mallory-the-second", 4}) // same key as "mallory": the comparator decides

	i, _ := s.Add(row{online, "bob", 5})
	fmt.Println("bob inserted at row", i)
	for i, r := range s.All() {
		fmt.Println(i, r.group, r.name)
	}
	// Output:
	// bob inserted at row 1
	// 0 0 alice
	// 1 1 bob
	// 2 1 mallory
	// 3 1 mallory-the-second
	// 4 2 zoe
}
