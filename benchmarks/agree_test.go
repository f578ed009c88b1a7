package benchmarks

import (
	"slices"
	"testing"

	"github.com/bucketed/sortedset/internal/benchdata"
)

// TestContainersAgree checks that the five containers, built and driven the
// way the benchmarks drive them, hold the same items, so that the benchmarks
// compare equal work.
func TestContainersAgree(t *testing.T) {
	items := benchdata.Items(5_000)
	s, sl, tw, gg := newSortedset(t, items), benchdata.SortedSlice(slices.Clone(items)), newTidwall(items), newGoogle(items)
	ts := newTidwallSet(items)
	c := benchdata.NewChurner(items)
	for range 20_000 {
		old, fresh := c.Next()
		s.Remove(old)
		s.Add(fresh)
		sl.Remove(old)
		sl.Add(fresh)
		tw.Delete(old)
		tw.Set(fresh)
		gg.Delete(old)
		gg.ReplaceOrInsert(fresh)
		ts.Delete(old)
		ts.Insert(fresh)
	}
	want := []int64(sl)
	if got := s.ToSlice(); !slices.Equal(got, want) {
		t.Fatalf("sortedset differs from the slice after churn")
	}
	if got := tw.Items(); !slices.Equal(got, want) {
		t.Fatalf("tidwall differs from the slice after churn")
	}
	if got := ts.Keys(); !slices.Equal(got, want) {
		t.Fatalf("tidwallset differs from the slice after churn")
	}
	var got []int64
	gg.Ascend(func(x int64) bool { got = append(got, x); return true })
	if !slices.Equal(got, want) {
		t.Fatalf("google differs from the slice after churn")
	}
	for _, i := range benchdata.Ints(len(want), 11)[:200] {
		if x, ok := s.At(i); !ok || x != want[i] {
			t.Fatalf("sortedset.At(%d) = %d, %v; want %d", i, x, ok, want[i])
		}
		if x, ok := tw.GetAt(i); !ok || x != want[i] {
			t.Fatalf("tidwall.GetAt(%d) = %d, %v; want %d", i, x, ok, want[i])
		}
		if x, ok := ts.GetAt(i); !ok || x != want[i] || !ts.Contains(want[i]) {
			t.Fatalf("tidwallset.GetAt(%d) = %d, %v; want %d", i, x, ok, want[i])
		}
		if j, ok := s.IndexOf(want[i]); !ok || j != i {
			t.Fatalf("sortedset.IndexOf(%d) = %d, %v; want %d", want[i], j, ok, i)
		}
		// The tidwall Slice workload: GetAt, then Seek and Next.
		end := min(i+100, len(want))
		page := make([]int64, 0, end-i)
		first, _ := tw.GetAt(i)
		it := tw.Iter()
		for ok := it.Seek(first); ok && len(page) < cap(page); ok = it.Next() {
			page = append(page, it.Item())
		}
		it.Release()
		setPage := make([]int64, 0, end-i)
		sit := ts.Iter()
		for ok := sit.Seek(want[i]); ok && len(setPage) < cap(setPage); ok = sit.Next() {
			setPage = append(setPage, sit.Key())
		}
		if !slices.Equal(page, want[i:end]) || !slices.Equal(setPage, want[i:end]) || !slices.Equal(s.Slice(i, 100), want[i:end]) {
			t.Fatalf("Slice(%d, 100) differs", i)
		}
	}
}
