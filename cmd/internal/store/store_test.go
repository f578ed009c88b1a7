package store

import (
	"encoding/binary"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/bucketed/sortedset/cmd/internal/guild"
)

func TestRoundTripAndOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	s, err := Open(path)
	require.NoError(t, err)
	roles := []guild.Role{{ID: 7, Name: "r", Position: -3, Hoist: true}}
	require.NoError(t, <-s.PutGuild(1, "g", roles))
	require.NoError(t, s.Err())
	// Writes queued in order apply in order, also within one batch.
	var last <-chan error
	for i := 0; i < 100; i++ {
		s.PutMember(1, guild.Member{ID: 5, Name: "old", Roles: []uint64{7}})
		last = s.DeleteMember(1, 5)
	}
	s.PutMember(1, guild.Member{ID: 6, Name: "Zoë", Roles: []uint64{7, 1 << 60}})
	require.NoError(t, <-last)
	require.Error(t, <-s.PutMember(2, guild.Member{ID: 1, Name: "x"}), "member of a guild never stored")
	require.ErrorIs(t, <-s.PutMember(1, guild.Member{ID: 9, Name: "y"}), ErrFailed, "writes after a failed commit are refused")
	require.ErrorIs(t, s.Err(), ErrFailed)
	require.NoError(t, s.Close())

	s, err = Open(path)
	require.NoError(t, err)
	defer s.Close()
	var got []*Guild
	require.NoError(t, s.Load(func(g *Guild) error { got = append(got, g); return nil }))
	require.Len(t, got, 1)
	require.Equal(t, "g", got[0].Name)
	require.Equal(t, roles, got[0].Roles)
	require.Equal(t, []guild.Member{{ID: 6, Name: "Zoë", Roles: []uint64{7, 1 << 60}}}, got[0].Members)
}

// TestGroupCommit: concurrent writers share commits.
func TestGroupCommit(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "db"))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, <-s.PutGuild(1, "g", nil))
	t0 := time.Now()
	<-s.PutMember(1, guild.Member{ID: 1, Name: "a"})
	one := time.Since(t0)
	var wg sync.WaitGroup
	t0 = time.Now()
	for w := 0; w < 200; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			require.NoError(t, <-s.PutMember(1, guild.Member{ID: uint64(w), Name: "a"}))
		}(w)
	}
	wg.Wait()
	t.Logf("one commit %v; 200 concurrent writes %v", one, time.Since(t0))
}

// TestLoadRejectsBadKeys: a guild or member key that is not 8 bytes (a
// damaged file) is an error from Load, not an index panic at start-up.
func TestLoadRejectsBadKeys(t *testing.T) {
	for _, where := range []string{"guild", "member"} {
		s, err := Open(filepath.Join(t.TempDir(), "db"))
		require.NoError(t, err)
		require.NoError(t, <-s.PutGuild(1, "g", nil))
		require.NoError(t, s.db.Update(func(tx *bolt.Tx) error {
			if where == "guild" {
				return tx.Bucket(bGuilds).Put([]byte{1, 2, 3}, encodeGuild("x", nil))
			}
			var k [8]byte
			binary.BigEndian.PutUint64(k[:], 1)
			return tx.Bucket(bMembers).Bucket(k[:]).Put([]byte{1, 2, 3}, encodeMember(guild.Member{Name: "m"}))
		}))
		var lerr error
		require.NotPanics(t, func() { lerr = s.Load(func(*Guild) error { return nil }) }, where)
		require.ErrorIs(t, lerr, errCorrupt, where)
		require.NoError(t, s.Close())
	}
}

// BenchmarkOpenAndLoad1M times what start-up does with a store of 1,000,000
// members: Open (which first reads every page, see verify) and Load.
func BenchmarkOpenAndLoad1M(b *testing.B) {
	path := filepath.Join(b.TempDir(), "guildd.db")
	s, err := Open(path)
	require.NoError(b, err)
	require.NoError(b, <-s.PutGuild(1, "g", nil))
	ms := make([]guild.Member, 1_000_000)
	for i := range ms {
		ms[i] = guild.Member{ID: uint64(i + 1), Name: "member " + strconv.Itoa(i), Roles: []uint64{7}}
	}
	require.NoError(b, s.BulkPutMembers(1, ms))
	require.NoError(b, s.Close())
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			s, err := Open(path)
			require.NoError(b, err)
			require.NoError(b, s.Close())
		}
	})
	b.Run("load", func(b *testing.B) {
		s, err := Open(path)
		require.NoError(b, err)
		defer s.Close()
		for b.Loop() {
			n := 0
			require.NoError(b, s.Load(func(g *Guild) error { n += len(g.Members); return nil }))
			require.Equal(b, len(ms), n)
		}
	})
}
