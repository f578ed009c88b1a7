package guild

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPrefixKeyMonotone: the set's uint64 key never contradicts compareKeys
// (sortedset.WithKey's contract), for names of any bytes and group ranks
// up to and past the 16 bits the key holds (past them it used to compare
// by name bytes alone).
func TestPrefixKeyMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	groups := []uint32{0, 1, 2, 0xfffe, 0xffff, 0x10000, 1 << 20}
	rnd := func() key {
		name := make([]byte, rng.IntN(9))
		for i := range name {
			name[i] = "aAz\x00\xffİ"[rng.IntN(7)]
		}
		return key{group: groups[rng.IntN(len(groups))], lname: string(name), id: rng.Uint64N(4)}
	}
	for range 200_000 {
		a, b := rnd(), rnd()
		if compareKeys(a, b) < 0 {
			require.LessOrEqual(t, prefixKey(a), prefixKey(b), "%+v < %+v", a, b)
		}
	}
}
