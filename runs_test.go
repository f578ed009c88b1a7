package sortedset

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// splitAwayRounds: a B/4 run before the last item of bucket 0 cuts it,
// leaving that item alone in T; a normal split near the end of the run's
// bucket then puts a B/8+1 bucket between it and T; removing the run's items
// from bucket 0 never touches a neighbour of T. Each round adds two buckets
// (T and the B/8+1 part) for B/8+1 items.
func splitAwayRounds(t *testing.T, s *Set[int64]) {
	t.Helper()
	B := s.bucketSize
	for r := 0; ; r++ {
		L := s.buckets[0].items
		m := len(L)
		if m-1 < B/4+1 {
			return
		}
		lo, hi := L[m-2], L[m-1]
		R := B - m + 1
		require.Greater(t, hi-lo, int64(2*R+2))
		for k := 1; k <= R; k++ { // ascending run just before hi
			i, added := s.Add(lo + int64(2*k))
			require.True(t, added)
			require.Equal(t, m-2+k, i)
		}
		// A normal split near the end of the full bucket 0.
		L = s.buckets[0].items
		x := L[len(L)-1] - 1
		i, added := s.Add(x)
		require.True(t, added)
		require.Equal(t, B-1, i)
		// Undo the run's items left in bucket 0.
		for len(s.buckets[0].items) > m-1 {
			_, ok := s.RemoveAt(m - 1)
			require.True(t, ok)
		}
		if err := s.check(); err != nil {
			t.Fatalf("B=%d round %d: %v; %+v", B, r, err, s.Stats())
		}
	}
}

// spacedRun returns a Set of bucket size B holding 3B/4 items 2^40 apart,
// added one by one: one bucket, with room between its items for the runs of
// splitAwayRounds.
func spacedRun(B int) *Set[int64] {
	s := New[int64](WithBucketSize(B))
	for i := range 3 * B / 4 {
		s.Add(int64(i+1) << 40)
	}
	return s
}

func TestRunsSplitAway(t *testing.T) {
	for _, B := range []int{16, 64, 512} {
		t.Run(fmt.Sprint("B=", B), func(t *testing.T) {
			s := spacedRun(B)
			splitAwayRounds(t, s)
			st := s.Stats()
			t.Logf("%+v, %.1f B/item", st, float64(st.Bytes)/float64(st.Len))
		})
	}
}

// openAwayRounds: as splitAwayRounds, but the run goes past the end of
// bucket 0 (between it and bucket 1), so that once bucket 0 is full, a run
// of 3B/4 opens T there (Add's redirect, split's pos == n case) with an array
// of the run's length for its one item.
func openAwayRounds(t *testing.T, s *Set[int64], rounds int) {
	t.Helper()
	B := s.bucketSize
	for r := 0; r < rounds; r++ {
		L := s.buckets[0].items
		m := len(L)
		last, next := L[m-1], s.buckets[1].items[0]
		R := B - m + 1
		step := (next - last) / int64(R+1)
		if step < 2 {
			t.Logf("B=%d: no room left after %d rounds", B, r)
			return
		}
		for k := 1; k <= R; k++ { // ascending run after bucket 0's last item
			i, added := s.Add(last + int64(k)*step)
			require.True(t, added)
			require.Equal(t, m-1+k, i)
		}
		require.Len(t, s.buckets[1].items, 1)
		// A normal split near the end of the full bucket 0.
		L = s.buckets[0].items
		i, added := s.Add(L[len(L)-1] - 1)
		require.True(t, added)
		require.Equal(t, B-1, i)
		// Undo the run's items left in bucket 0.
		for len(s.buckets[0].items) > m {
			_, ok := s.RemoveAt(m)
			require.True(t, ok)
		}
		if err := s.check(); err != nil {
			t.Fatalf("B=%d round %d: %v; %+v", B, r, err, s.Stats())
		}
	}
}

// twoBuckets returns a Set of bucket size B loaded with 2B widely spaced
// items, its first bucket cut down to B/4 items.
func twoBuckets(t *testing.T, B int) *Set[int64] {
	items := make([]int64, 2*B)
	for i := range items {
		items[i] = int64(i+1) << 52
	}
	s, err := FromSorted(items, WithBucketSize(B))
	require.NoError(t, err)
	for len(s.buckets[0].items) > B/4 {
		s.RemoveAt(len(s.buckets[0].items) - 1)
	}
	return s
}

func TestRunsOpenAway(t *testing.T) {
	for _, B := range []int{16, 64, 512} {
		t.Run(fmt.Sprint("B=", B), func(t *testing.T) {
			openAwayRounds(t, twoBuckets(t, B), 100)
		})
	}
}

func TestRunsOpenAwayMemory(t *testing.T) {
	s := twoBuckets(t, defaultBucketSize[int64]())
	openAwayRounds(t, s, 100)
	st := s.Stats()
	t.Logf("%+v: %.1f bytes per item", st, float64(st.Bytes)/float64(st.Len))
	require.LessOrEqual(t, st.Bytes, 4*8*st.Len, "%+v", st)
}

// TestCompact joins the buckets of sparse sets, plain, keyed and with rows
// (B = 512), and checks the layout, the contents and writes afterwards.
func TestCompact(t *testing.T) {
	for _, B := range []int{4, 16, 512} {
		for _, keyed := range []bool{false, true} {
			opts := []Option{WithBucketSize(B)}
			if keyed {
				opts = append(opts, WithKey(func(x int64) uint64 { return (uint64(x) ^ 1<<63) >> 4 })) // monotone, sign included
			}
			s := NewFunc(cmp.Compare[int64], opts...)
			var model []int64
			for i := range int64(20 * B) {
				s.Add(i * 3)
				if i%4 == 0 {
					model = append(model, i*3)
				}
			}
			for i := range int64(20 * B) {
				if i%4 != 0 {
					s.Remove(i * 3)
				}
			}
			before := s.Stats().Buckets
			s.compact()
			require.NoError(t, s.check(), "B=%d keyed=%t", B, keyed)
			require.Equal(t, model, s.ToSlice())
			require.LessOrEqual(t, s.Stats().Buckets, before)
			require.LessOrEqual(t, s.Stats().Buckets, 8*len(model)/(3*B)+1, "%+v", s.Stats())
			for _, x := range []int64{-1, 1, 3*int64(len(model)) + 1} {
				i, added := s.Add(x)
				require.True(t, added)
				j, _ := slices.BinarySearch(model, x)
				require.Equal(t, j, i)
				model = slices.Insert(model, j, x)
			}
			require.NoError(t, s.check())
			require.Equal(t, model, s.ToSlice())
		}
	}
}

// TestFrontRoom drives splits at the head of Sets of 64 buckets and more,
// which take slots of the front room (insertFront), against a sorted slice:
// runs up and down below the smallest item, inserts and removals among the
// first buckets, compact, Clones written on both sides, and Clear. Every
// write's index is checked, and every step ends with the invariant check,
// which compares every Fenwick node with the lengths of dir's slots.
// spacedSet returns a Set of bucket size B loaded with the n multiples
// 0, step, 2·step... and a copy of them as its model.
func spacedSet(t *testing.T, B, n int, step int64) (*Set[int64], []int64) {
	t.Helper()
	items := make([]int64, n)
	for i := range items {
		items[i] = int64(i) * step
	}
	s, err := FromSorted(items, WithBucketSize(B))
	require.NoError(t, err)
	return s, slices.Clone(items)
}

// makeFrontRoom adds a descending run below the smallest item of s until a
// split at the head takes a slot of the front room.
func makeFrontRoom(s *Set[int64], model *[]int64) {
	for x := (*model)[0] - 1; s.lo == 0; x-- {
		s.Add(x)
		*model = slices.Insert(*model, 0, x)
	}
}

func TestFrontRoom(t *testing.T) {
	for _, B := range []int{4, 8, 64} {
		t.Run(fmt.Sprint("B=", B), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(B), 1))
			s, model := spacedSet(t, B, 70*B, 1000)
			usedFront := false
			verify := func(s *Set[int64], model []int64, what string) {
				t.Helper()
				if err := s.check(); err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				require.Equal(t, len(model), s.Len(), what)
				for _, i := range []int{0, 1, len(model) / 2, len(model) - 1, rng.IntN(len(model))} {
					x, ok := s.At(i)
					require.True(t, ok)
					require.Equal(t, model[i], x, "%s: At(%d)", what, i)
				}
			}
			add := func(s *Set[int64], model *[]int64, x int64) {
				i, added := s.Add(x)
				j, found := slices.BinarySearch(*model, x)
				require.Equal(t, !found, added)
				require.Equal(t, j, i, "Add(%d)", x)
				if !found {
					*model = slices.Insert(*model, j, x)
				}
			}
			low := int64(-1)
			for step := range 60 {
				switch step % 4 {
				case 0: // an ascending run below the smallest item
					start := low - int64(2*B+rng.IntN(3*B))
					for x := start; x < low; x++ {
						add(s, &model, x)
					}
					low = start
				case 1: // a descending run below it
					for range 2*B + rng.IntN(3*B) {
						low--
						add(s, &model, low)
					}
				case 2: // inserts and removals among the first buckets
					for range 4 * B {
						x := model[0] + rng.Int64N(int64(model[min(len(model)-1, 3*B)]-model[0]+1))
						if rng.IntN(2) == 0 {
							add(s, &model, x)
						} else if i, removed := s.Remove(x); removed {
							j, _ := slices.BinarySearch(model, x)
							require.Equal(t, j, i)
							model = slices.Delete(model, j, j+1)
						}
					}
					if step%8 == 6 && s.lo > 0 {
						s.compact() // as bound would, with the front room in use
					}
				case 3: // a Clone, then writes at the head of both
					c, cm := s.Clone(), slices.Clone(model)
					for range 3 * B {
						low--
						add(s, &model, low)
						add(c, &cm, cm[0]-1)
					}
					verify(c, cm, "clone")
					if _, ok := c.RemoveAt(0); ok {
						cm = cm[1:]
					}
					verify(c, cm, "clone after RemoveAt")
				}
				usedFront = usedFront || s.lo > 0
				verify(s, model, fmt.Sprint("step ", step))
				require.Equal(t, model, s.ToSlice())
			}
			require.True(t, usedFront, "no split took a slot of the front room")
			s.Clear()
			require.NoError(t, s.check())
			model = model[:0]
			for x := range int64(70 * B) {
				add(s, &model, -x)
			}
			verify(s, model, "after Clear")
		})
	}
}

// A queue that adds below the smallest item and removes the largest keeps
// its Len and bucket count, and so must keep its directory: remaking the
// front room grew dir's capacity by the room every time (a review found
// cap(dir) at 2,627 slots for 229 buckets after 32,000 operations).
func TestFrontRoomUnderAQueue(t *testing.T) {
	const B = 16
	s := New[int64](WithBucketSize(B))
	for i := range int64(200 * B) {
		s.Add(i)
	}
	low := int64(0)
	for range 200 {
		for range 10 * B {
			low--
			s.Add(low)
			s.RemoveAt(s.Len() - 1)
		}
		require.NoError(t, s.check())
	}
	require.LessOrEqual(t, cap(s.dir), 2*s.Stats().Buckets, "%d slots for %d buckets", cap(s.dir), s.Stats().Buckets)
}

// With WithCapacity, remaking the front room copied dir at its full
// capacity: 42 KB allocated per insert at the head of 73 buckets with room
// for 2^16.
func TestFrontRoomAfterWithCapacity(t *testing.T) {
	const B = 16
	s := New[int64](WithBucketSize(B), WithCapacity(1<<19))
	for i := range int64(64 * B) {
		s.Add(i << 10)
	}
	low := int64(0)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 50 * B { // about 50 splits at the head
		low--
		s.Add(low)
		s.RemoveAt(s.Len() - 1)
	}
	runtime.ReadMemStats(&after)
	perAdd := float64(after.TotalAlloc-before.TotalAlloc) / (50 * B)
	require.Less(t, perAdd, 1000.0, "bytes allocated per insert at the head")
	require.NoError(t, s.check())
}

// TestRemoveRangeKeepsBucketsBounded (found in review): the rounds of
// splitAwayRounds leave bucket 0's stretch with two buckets per B/8+1
// items, which bound allows while a long stretch of full buckets follows.
// RemoveRange then took that stretch away in one call and left the few
// items with more buckets than bound allows, and than check does (63
// buckets for 327 items at B = 64), until a later Remove compacted them.
func TestRemoveRangeKeepsBucketsBounded(t *testing.T) {
	for _, B := range []int{16, 64, 512} {
		t.Run(fmt.Sprint("B=", B), func(t *testing.T) {
			s := spacedRun(B)
			tail := make([]int64, 40*B)
			for i := range tail {
				tail[i] = 1<<60 + int64(i)
			}
			_, err := s.AddSorted(tail)
			require.NoError(t, err)
			splitAwayRounds(t, s)
			start, _ := s.IndexOf(tail[0])
			require.Equal(t, len(tail), s.RemoveRange(start, len(tail)))
			require.NoError(t, s.check())
			st := s.Stats()
			require.LessOrEqual(t, st.Buckets, 6*((st.Len+B-1)/B)+1, "%+v", st)
		})
	}
}
