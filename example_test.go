package sortedset_test

import (
	"cmp"
	"fmt"
	"math"
	"strings"

	"github.com/bucketed/sortedset"
)

func Example() {
	s := sortedset.New[string]()
	for _, name := range []string{"mallory", "alice", "carol", "bob"} {
		i, _ := s.Add(name)
		fmt.Println("INSERT", i, name)
	}
	i, _ := s.Remove("bob")
	fmt.Println("DELETE", i)
	fmt.Println(s.Slice(0, 100))
	// Output:
	// INSERT 0 mallory
	// INSERT 0 alice
	// INSERT 1 carol
	// INSERT 1 bob
	// DELETE 1
	// [alice carol mallory]
}

func ExampleSet_Add() {
	s := sortedset.From([]int{10, 20, 30})
	fmt.Println(s.Add(25))
	fmt.Println(s.Add(20))
	// Output:
	// 2 true
	// 1 false
}

func ExampleSet_AddSorted() {
	s := sortedset.From([]int{10, 20, 30})
	fmt.Println(s.AddSorted([]int{5, 20, 25, 40}))
	fmt.Println(s.AddSorted([]int{50, 45}))
	fmt.Println(s.ToSlice())
	// Output:
	// 3 <nil>
	// 0 sortedset: input is not strictly increasing: item 1 is not greater than item 0
	// [5 10 20 25 30 40]
}

func ExampleSet_PopMin() {
	s := sortedset.From([]int{30, 10, 20})
	for x, ok := s.PopMin(); ok; x, ok = s.PopMin() {
		fmt.Print(x, " ")
	}
	fmt.Println(s.Len())
	// Output: 10 20 30 0
}

func ExampleSet_RemoveRange() {
	s := sortedset.From([]int{10, 20, 30, 40, 50})
	fmt.Println(s.RemoveRange(1, 3), s.ToSlice())
	fmt.Println(s.RemoveRange(1, math.MaxInt), s.ToSlice())
	// Output:
	// 3 [10 50]
	// 1 [10]
}

func ExampleSet_Rank() {
	s := sortedset.From([]int{10, 20, 30})
	fmt.Println(s.Rank(5), s.Rank(20), s.Rank(21), s.Rank(99))
	// Output: 0 1 2 3
}

func ExampleSet_AppendRange() {
	s := sortedset.From([]int{1, 2, 3, 4, 5, 6, 7})
	page := make([]int, 0, 3)
	for start := 0; start < s.Len(); start += 3 {
		page = s.AppendRange(page[:0], start, 3)
		fmt.Println(page)
	}
	// Output:
	// [1 2 3]
	// [4 5 6]
	// [7]
}

func ExampleSet_Floor() {
	s := sortedset.From([]int{10, 20, 30})
	fmt.Println(s.Floor(25))
	fmt.Println(s.Ceiling(25))
	fmt.Println(s.Floor(5))
	// Output:
	// 1 20 true
	// 2 30 true
	// -1 0 false
}

func ExampleSet_Ascend() {
	s := sortedset.From([]string{"ant", "bee", "cat", "dog"})
	for i, x := range s.Ascend("bz") {
		fmt.Println(i, x)
	}
	// Output:
	// 2 cat
	// 3 dog
}

func ExampleSet_Clone() {
	live := sortedset.From([]int{1, 2, 3})
	snapshot := live.Clone()
	live.Add(4)
	fmt.Println(live.ToSlice(), snapshot.ToSlice())
	// Output: [1 2 3 4] [1 2 3]
}

func ExampleFromSorted() {
	_, err := sortedset.FromSorted([]int{1, 3, 2})
	fmt.Println(err)
	s, _ := sortedset.FromSorted([]int{1, 2, 3})
	fmt.Println(s.Len())
	// Output:
	// sortedset: input is not strictly increasing: item 2 is not greater than item 1
	// 3
}

func ExampleNewFunc() {
	type member struct {
		name string
		id   uint64
	}
	byName := func(a, b member) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name)), cmp.Compare(a.id, b.id))
	}
	s := sortedset.NewFunc(byName)
	s.Add(member{"Zed", 1})
	s.Add(member{"amy", 2})
	i, _ := s.Add(member{"Bob", 3})
	fmt.Println(i, s.Len())
	first, _ := s.At(0)
	fmt.Println(first.name)
	// Output:
	// 1 3
	// amy
}
