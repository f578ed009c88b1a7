package sortedset

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bucketed/sortedset/internal/benchdata"
)

// randomMembers returns n distinct members in compareMembers order: a few
// groups (hoisted roles, online, offline: most members offline), names of
// 5..12 lowercase letters, ids that break the rare name ties.
func randomMembers(rng *rand.Rand, n int) []member {
	ms := make([]member, n)
	for i := range ms {
		ms[i] = randomMember(rng)
	}
	slices.SortFunc(ms, compareMembers)
	return slices.CompactFunc(ms, func(a, b member) bool { return compareMembers(a, b) == 0 })
}

func randomMember(rng *rand.Rand) member {
	group := uint8(3)
	switch r := rng.IntN(100); {
	case r < 3:
		group = uint8(r) // hoisted roles
	case r < 30:
		group = 3 // online
	default:
		group = 4 // offline
	}
	name := make([]byte, 5+rng.IntN(8))
	for i := range name {
		name[i] = byte('a' + rng.IntN(26))
	}
	return member{group: group, name: string(name), id: rng.Uint64()}
}

// BenchmarkWithKeyChurn is the member list's write path at 1M members:
// remove a present member, add a fresh one, with and without WithKey.
// Without a key every probe of the fences and the bucket calls
// compareMembers (a string compare behind an indirect call); with it the
// uint64 kernel does the search and the comparator only breaks ties among
// members whose group and 7-byte name prefix are equal.
//
//	go test -run '^$' -bench WithKeyChurn -count 6 . | benchstat -col /key -
func BenchmarkWithKeyChurn(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		rng := rand.New(rand.NewPCG(11, 11))
		items := randomMembers(rng, n)
		for _, withKey := range []bool{false, true} {
			name := benchdata.SizeName(n) + "/key=none"
			opts := []Option{}
			if withKey {
				name = benchdata.SizeName(n) + "/key=uint64"
				opts = append(opts, WithKey(memberKey))
			}
			b.Run(name, func(b *testing.B) {
				s, err := FromSortedFunc(items, compareMembers, opts...)
				if err != nil {
					b.Fatal(err)
				}
				present := slices.Clone(items)
				rng := rand.New(rand.NewPCG(12, 12))
				b.ReportAllocs()
				for b.Loop() {
					j := rng.IntN(len(present))
					if _, ok := s.Remove(present[j]); !ok {
						b.Fatal("missing member")
					}
					fresh := randomMember(rng)
					if _, added := s.Add(fresh); added {
						present[j] = fresh
					} else {
						present[j] = present[len(present)-1]
						present = present[:len(present)-1]
					}
				}
			})
		}
	}
}
