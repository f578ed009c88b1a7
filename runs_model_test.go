package sortedset

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

type runRec struct{ k int64 }

// randomRuns (written in review): a differential test against a sorted
// slice with ascending and descending runs at random places (head, tail,
// inside), removals of whole runs, of random items and by index, and
// check(), bucket limit included, after every operation.
func randomRuns[T any](t *testing.T, s *Set[T], mk func(int64) T, val func(T) int64, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var model []int64
	add := func(v int64) {
		i, added := s.Add(mk(v))
		j, found := slices.BinarySearch(model, v)
		if added == found || i != j {
			t.Fatalf("Add(%d) = %d,%t; want %d,%t", v, i, added, j, !found)
		}
		if !found {
			model = slices.Insert(model, j, v)
		}
	}
	rem := func(v int64) {
		i, ok := s.Remove(mk(v))
		j, found := slices.BinarySearch(model, v)
		if ok != found || (found && i != j) {
			t.Fatalf("Remove(%d) = %d,%t; want %d,%t", v, i, ok, j, found)
		}
		if found {
			model = slices.Delete(model, j, j+1)
		}
	}
	for step := 0; step < steps; step++ {
		switch k := rng.IntN(10); {
		case k < 3: // run
			n := rng.IntN(3*s.bucketSize) + 1
			var start int64
			if len(model) > 0 && rng.IntN(4) > 0 {
				start = model[rng.IntN(len(model))] + 1
			} else {
				start = rng.Int64N(1 << 40)
			}
			d := int64(1)
			if rng.IntN(2) == 0 {
				d = -1
				start += int64(n)
			}
			for x := range n {
				add(start + d*int64(x)*int64(1+rng.IntN(2)*0))
			}
		case k < 5:
			add(rng.Int64N(1 << 40))
		case k < 7 && len(model) > 0:
			n := rng.IntN(2*s.bucketSize) + 1
			i := rng.IntN(len(model))
			for range n {
				if i >= len(model) {
					break
				}
				if rng.IntN(2) == 0 {
					rem(model[i])
				} else {
					x, ok := s.RemoveAt(i)
					if !ok || val(x) != model[i] {
						t.Fatalf("RemoveAt(%d) = %v,%t want %d", i, x, ok, model[i])
					}
					model = slices.Delete(model, i, i+1)
				}
			}
		case k < 9 && len(model) > 0:
			rem(model[rng.IntN(len(model))])
		default:
			rem(rng.Int64N(1 << 40))
		}
		if err := s.check(); err != nil {
			t.Fatalf("seed %d step %d: %v", seed, step, err)
		}
		if s.Len() != len(model) {
			t.Fatalf("len")
		}
	}
	got := make([]int64, 0, len(model))
	for x := range s.Values() {
		got = append(got, val(x))
	}
	if !slices.Equal(got, model) {
		t.Fatalf("seed %d: contents differ", seed)
	}
}

func TestRandomRunsMatchModel(t *testing.T) {
	for _, B := range []int{2, 3, 4, 7, 8, 16, 64} {
		for seed := uint64(0); seed < 20; seed++ {
			id := func(x int64) int64 { return x }
			randomRuns(t, New[int64](WithBucketSize(B)), id, id, seed, 400)
			mk := func(x int64) runRec { return runRec{x} }
			val := func(r runRec) int64 { return r.k }
			c := func(a, b runRec) int { return cmp.Compare(a.k, b.k) }
			randomRuns(t, NewFunc(c, WithBucketSize(B)), mk, val, seed, 400)
			randomRuns(t, NewFunc(c, WithBucketSize(B), WithKey(func(r runRec) uint64 { return uint64(r.k) >> 3 })), mk, val, seed, 400)
		}
	}
}
