package guild

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bucketed/sortedset/cmd/internal/replica"
	"github.com/bucketed/sortedset/cmd/internal/wire"
	"github.com/stretchr/testify/require"
)

var testRoles = []Role{{1, "admin", 10, true}, {2, "mod", 5, true}, {3, "vip", 5, true}, {4, "member", 1, false}}

func randMember(rng *rand.Rand, id uint64) Member {
	names := []string{"alice", "Bob", "bob", "carol", "Dave", "eve", "zed", "Ünï", "a", "b"}
	var roles []uint64
	for _, r := range testRoles {
		if rng.IntN(6) == 0 {
			roles = append(roles, r.ID)
		}
	}
	return Member{ID: id, Name: names[rng.IntN(len(names))] + fmt.Sprint(rng.IntN(20)), Roles: roles, Status: Status(rng.IntN(4))}
}

// client is a fake session: a Session plus the replica its frames build.
type client struct {
	s      *Session
	r      *replica.Replica
	ranges [][2]int
	seq    int64
}

func (c *client) pump(t *testing.T) {
	t.Helper()
	for _, f := range c.s.Take(nil) {
		c.seq++
		body := append(AppendPrefix(nil, f, c.seq), f.Body...)
		msg, err := wire.DecodeServer(body)
		require.NoError(t, err)
		require.Equal(t, wire.TypeUpdate, msg.T)
		insideTheList(t, c.r.Size(), body, &msg.Update)
		require.NoError(t, c.r.Apply(&msg.Update))
	}
}

// insideTheList fails t when an INSERT or UPDATE of u indexes past the end
// of a client's list, which had size slots before u, as u's earlier ops
// leave it. The replica pads such a list, but a client that splices as the
// issue words it (an INSERT past the end appends) would put the item in
// the wrong slot.
func insideTheList(t *testing.T, size int, body []byte, u *wire.Update) {
	t.Helper()
	n := size
	for _, op := range u.Ops {
		switch op.Op {
		case wire.OpInsert:
			if op.Index > n {
				t.Fatalf("INSERT %d past the end of a list of %d slots (%d before the message): %s", op.Index, n, size, body)
			}
			n++
		case wire.OpDelete:
			if op.Index < n {
				n--
			}
		case wire.OpUpdate:
			if op.Index >= n {
				t.Fatalf("UPDATE %d past the end of a list of %d slots (%d before the message): %s", op.Index, n, size, body)
			}
		case wire.OpSync:
			n = max(n, op.Range[0]+len(op.Items))
		}
	}
}

func TestOwnerOpsKeepReplicasExact(t *testing.T) {
	var drops atomic.Int64
	for _, seed := range []uint64{1, 2, 3, 4} {
		rng := rand.New(rand.NewPCG(seed, 99))
		var members []Member
		for id := uint64(1); id <= 60; id++ {
			members = append(members, randMember(rng, id))
		}
		l := NewList(7, "g", testRoles, members)
		o := NewOwner(l, nil)
		ctx := context.Background()
		rangeChoices := [][][2]int{{{0, 9}}, {{0, 3}, {5, 8}}, {{10, 20}, {30, 31}, {0, 0}}, {{40, 70}}, {{60, 100}}, {{2, 2}, {3, 9}}, {{0, 299}}}
		var clients []*client
		for i, rc := range rangeChoices {
			c := &client{s: NewSession(1<<20, nil, nil), r: replica.New(), ranges: rc}
			if i == 0 {
				c.s = NewSession(1, &drops, nil) // tiny queue: exercises overflow resync
			}
			gen := c.s.Begin()
			require.NoError(t, o.Do(ctx, func(*List) { o.Subscribe(c.s, gen, rc) }))
			clients = append(clients, c)
		}
		next := uint64(61)
		for step := 0; step < 300; step++ {
			require.NoError(t, o.Do(ctx, func(l *List) {
				for n := rng.IntN(4) + 1; n > 0; n-- {
					if rng.IntN(3) == 0 {
						o.flush(false) // several frames before the clients read
					}
					switch k := rng.IntN(6); k {
					default:
						changeList(t, rng, l, &next, k, math.MaxInt, 30)
					case 5:
						if rng.IntN(10) == 0 { // resubscribe a client to new ranges
							c := clients[1+rng.IntN(len(clients)-1)]
							c.pump(t)
							gen := c.s.Begin()
							c.ranges = rangeChoices[rng.IntN(len(rangeChoices))]
							o.Subscribe(c.s, gen, c.ranges)
						}
					}
				}
			}))
			require.NoError(t, o.Do(ctx, func(l *List) {
				o.flush(false)
				for ci, c := range clients {
					c.pump(t)
					// A change past every range need not reach the client at
					// once, so its size may lag; its ranges' slots may not.
					c.check(t, l, fmt.Sprintf("seed %d step %d client %d", seed, step, ci))
				}
			}))
		}
		o.Stop()
	}
	require.Positive(t, drops.Load(), "the one-frame queue must have overflowed")
}

func TestListOrderAndIndices(t *testing.T) {
	l := NewList(1, "g", testRoles, []Member{
		{10, "zed", []uint64{1}, Online},
		{11, "Bob", nil, Online},
		{12, "alice", nil, Offline},
		{13, "bob", []uint64{2, 3}, DND},
		{14, "carl", []uint64{3}, Idle},
		{9, "bob", []uint64{1}, Offline},
	})
	var got []string
	for _, it := range l.Window(0, 100) {
		got = append(got, it.String())
	}
	// admin(10) > mod(5, id 2) > vip(5, id 3); member 13 has mod and vip: mod wins.
	require.Equal(t, []string{
		"[1 1]", `10:"zed"/online[1]`,
		"[2 1]", `13:"bob"/dnd[2 3]`,
		"[3 1]", `14:"carl"/idle[3]`,
		"[online 1]", `11:"Bob"/online[]`,
		"[offline 2]", `12:"alice"/offline[]`, `9:"bob"/offline[1]`,
	}, got)
	require.Equal(t, 11, l.Size())
	i, ok := l.IndexOf(9)
	require.True(t, ok)
	require.Equal(t, 10, i)
	require.Equal(t, 4, l.OnlineCount())
	_, err := l.Upsert(Member{ID: 1, Name: "x", Roles: []uint64{99}})
	require.ErrorIs(t, err, ErrUnknownRole)
}

// TestFlushSyncsWhenOpsPileUp: a range set gets ops while they are few, and
// one SYNC of its ranges once a flush has more than a quarter of their width
// in ops. Sessions on the same ranges share the encoded frame.
func TestFlushSyncsWhenOpsPileUp(t *testing.T) {
	var members []Member
	for id := uint64(1); id <= 300; id++ {
		members = append(members, Member{ID: id, Name: fmt.Sprintf("m%03d", id), Status: Offline})
	}
	o := NewOwner(NewList(7, "g", nil, members), nil)
	defer o.Stop()
	ctx := context.Background()
	a, b := &client{s: NewSession(100, nil, nil), r: replica.New()}, &client{s: NewSession(100, nil, nil), r: replica.New()}
	for _, c := range []*client{a, b} {
		gen := c.s.Begin()
		require.NoError(t, o.Do(ctx, func(*List) { o.Subscribe(c.s, gen, [][2]int{{100, 199}}) }))
		c.pump(t)
	}
	next := uint64(1000)
	join := func(n int) []*Frame { // n members join above the range, then a flush
		var fa []*Frame
		require.NoError(t, o.Do(ctx, func(l *List) {
			for ; n > 0; n-- {
				_, err := l.Upsert(Member{ID: next, Name: "a", Status: Offline})
				require.NoError(t, err)
				next++
			}
			o.flush(false)
			fa = a.s.Take(nil)
			fb := b.s.Take(nil)
			require.Len(t, fb, 1)
			require.Same(t, &fa[0].Body[0], &fb[0].Body[0], "one encoding for the range set")
		}))
		return fa
	}
	opsOf := func(f *Frame) []string {
		msg, err := wire.DecodeServer(append(AppendPrefix(nil, f, 1), f.Body...))
		require.NoError(t, err)
		var kinds []string
		for _, op := range msg.Ops {
			kinds = append(kinds, op.Op)
		}
		return kinds
	}
	fs := join(5) // 5 inserts above: each is an INSERT at 100 and a DELETE at 200
	require.Len(t, fs, 1)
	require.Len(t, opsOf(fs[0]), 10)
	require.NotContains(t, opsOf(fs[0]), wire.OpSync)
	fs = join(20) // 40 ops > 100/4+8
	require.Len(t, fs, 1)
	require.Equal(t, []string{wire.OpSync}, opsOf(fs[0]))
}

// TestFlushCoalescesHeaderUpdates: changes below a range that only change the
// count of a group whose header is in the range give the range one UPDATE of
// that header per flush, not one per change (which would overflow into a SYNC).
func TestFlushCoalescesHeaderUpdates(t *testing.T) {
	var members []Member
	for id := uint64(1); id <= 10; id++ {
		members = append(members, Member{ID: id, Name: fmt.Sprintf("on%02d", id), Status: Online})
	}
	for id := uint64(11); id <= 200; id++ {
		members = append(members, Member{ID: id, Name: fmt.Sprintf("off%03d", id), Status: Offline})
	}
	o := NewOwner(NewList(7, "g", nil, members), nil)
	defer o.Stop()
	ctx := context.Background()
	c := &client{s: NewSession(100, nil, nil), r: replica.New()}
	gen := c.s.Begin()
	require.NoError(t, o.Do(ctx, func(*List) { o.Subscribe(c.s, gen, [][2]int{{0, 11}}) })) // online header, 10 members, offline header
	c.pump(t)
	require.NoError(t, o.Do(ctx, func(l *List) {
		for id := uint64(1000); id < 1050; id++ { // join past the range: the offline header (slot 11) counts up
			_, err := l.Upsert(Member{ID: id, Name: fmt.Sprintf("zz%d", id), Status: Offline})
			require.NoError(t, err)
		}
		o.flush(false)
		fs := c.s.Take(nil)
		require.Len(t, fs, 1)
		msg, err := wire.DecodeServer(append(AppendPrefix(nil, fs[0], 2), fs[0].Body...))
		require.NoError(t, err)
		require.Len(t, msg.Ops, 1)
		require.Equal(t, wire.OpUpdate, msg.Ops[0].Op)
		require.Equal(t, 11, msg.Ops[0].Index)
		require.Equal(t, wire.Group{ID: "offline", Count: 240}, *msg.Ops[0].Item.Group)
		require.NoError(t, c.r.Apply(&msg.Update))
		for i, want := range l.Window(0, 12) {
			got, ok := c.r.Get(i)
			require.True(t, ok)
			require.True(t, want.Equal(got), "slot %d: %v != %v", i, got, want)
		}
	}))
}

// TestRefusedFramesAreNotCounted: frames refused because the session has
// begun a newer subscription are not counted as ops sent, and queued ERROR
// replies outlive Begin.
func TestRefusedFramesAreNotCounted(t *testing.T) {
	var m Metrics
	o := NewOwner(NewList(7, "g", nil, []Member{{ID: 1, Name: "a", Status: Online}}), &m)
	defer o.Stop()
	ctx := context.Background()
	s := NewSession(100, nil, nil)
	gen := s.Begin()
	require.NoError(t, o.Do(ctx, func(*List) { o.Subscribe(s, gen, [][2]int{{0, 9}}) }))
	sent := m.OpsSent.Load()
	require.Positive(t, sent)
	s.PushRaw([]byte(`{"t":"ERROR"}`))
	s.Begin() // a newer subscription, which this owner does not know of yet
	require.NoError(t, o.Do(ctx, func(l *List) {
		_, err := l.Upsert(Member{ID: 2, Name: "b", Status: Online})
		require.NoError(t, err)
		o.flush(false)
	}))
	require.Equal(t, sent, m.OpsSent.Load())
	fs := s.Take(nil)
	require.Len(t, fs, 1, "the SYNC is dropped by Begin, the ERROR kept")
	require.True(t, fs[0].Raw)
	require.Equal(t, 2, o.Members())
}

// changeList makes change kind of l: 0 a join (a leave once l has
// maxMembers), 1 a leave, 2 a status change, 3 a member's new name and
// roles, 4 (one time in rolesEvery) a role's new position. next is the
// first id never used.
func changeList(t *testing.T, rng *rand.Rand, l *List, next *uint64, kind, maxMembers, rolesEvery int) {
	t.Helper()
	switch kind {
	case 0:
		if l.MemberCount() < maxMembers {
			_, err := l.Upsert(randMember(rng, *next))
			require.NoError(t, err)
			*next++
		} else {
			l.Remove(uint64(rng.IntN(int(*next))))
		}
	case 1:
		for range 5 {
			if _, ok := l.Remove(uint64(rng.IntN(int(*next)))); ok {
				break
			}
		}
	case 2:
		l.SetStatus(uint64(rng.IntN(int(*next))), Status(rng.IntN(4)))
	case 3:
		if id := uint64(rng.IntN(int(*next))); l.Contains(id) {
			_, err := l.Upsert(randMember(rng, id))
			require.NoError(t, err)
		}
	case 4:
		if rng.IntN(rolesEvery) == 0 {
			roles := append([]Role(nil), testRoles...)
			roles[rng.IntN(len(roles))].Position = rng.IntN(20)
			l.SetGuild("g2", roles)
		}
	}
}

// check fails t unless every slot of c's ranges, cut at the list's end, is
// known and equal to l's.
func (c *client) check(t *testing.T, l *List, tag string) {
	t.Helper()
	for _, r := range c.ranges {
		want := l.Window(r[0], r[1]-r[0]+1)
		for i := range want {
			got, ok := c.r.Get(r[0] + i)
			require.True(t, ok, "%s: ranges %v slot %d unknown", tag, c.ranges, r[0]+i)
			require.True(t, want[i].Equal(got), "%s: ranges %v slot %d: %v != %v", tag, c.ranges, r[0]+i, got, want[i])
		}
	}
}

// randRanges returns 1 to 3 ranges starting in [0, 40), mostly narrow.
func randRanges(rng *rand.Rand) [][2]int {
	n := 1 + rng.IntN(3)
	var rs [][2]int
	for range n {
		a := rng.IntN(40)
		w := 1 + rng.IntN(12)
		if rng.IntN(10) == 0 {
			w = 1 + rng.IntN(300)
		}
		rs = append(rs, [2]int{a, a + w - 1})
	}
	return rs
}

// TestOwnerOpsOnShortLists runs random changes, flushes and re-subscribes
// against lists of up to about 50 slots, with ranges around their end and
// one session whose queue overflows; every message is checked (pump) and
// every client's ranges after it.
func TestOwnerOpsOnShortLists(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		var members []Member
		for id := uint64(1); id <= uint64(rng.IntN(30)); id++ {
			members = append(members, randMember(rng, id))
		}
		l := NewList(7, "g", testRoles, members)
		o := NewOwner(l, nil)
		ctx := context.Background()
		var clients []*client
		for i := 0; i < 6; i++ {
			q := 1 << 20
			if i == 0 {
				q = 1 + rng.IntN(3)
			}
			c := &client{s: NewSession(q, nil, nil), r: replica.New(), ranges: randRanges(rng)}
			gen := c.s.Begin()
			require.NoError(t, o.Do(ctx, func(*List) { o.Subscribe(c.s, gen, c.ranges) }))
			clients = append(clients, c)
		}
		next := uint64(100)
		for step := 0; step < 400; step++ {
			require.NoError(t, o.Do(ctx, func(l *List) {
				for _, c := range clients {
					c.pump(t)
					c.check(t, l, "pre")
				}
				for n := rng.IntN(4) + 1; n > 0; n-- {
					switch k := rng.IntN(7); k {
					default:
						changeList(t, rng, l, &next, k, 45, 40)
					case 6:
						changeList(t, rng, l, &next, 0, 45, 40)
					case 5:
						if rng.IntN(5) == 0 {
							c := clients[rng.IntN(len(clients))]
							c.pump(t)
							gen := c.s.Begin()
							c.ranges = randRanges(rng)
							o.Subscribe(c.s, gen, c.ranges)
							c.pump(t)
							c.check(t, l, "after subscribe")
						}
					}
					if rng.IntN(2) == 0 {
						o.flush(false)
						for ci, c := range clients {
							if ci == 0 && rng.IntN(2) == 0 {
								continue // let its queue fill
							}
							c.pump(t)
							c.check(t, l, "mid")
						}
					}
				}
				o.flush(false)
				for _, c := range clients {
					c.pump(t)
					c.check(t, l, "end")
				}
			}))
		}
		o.Stop()
	}
}

// TestDoReportsAFunctionThatRan: when the owner stops right after running
// fn, Do must still return nil, not ErrStopped: callers take ErrStopped to
// mean that fn did not run (a write handler then skips waiting for the
// write's commit).
func TestDoReportsAFunctionThatRan(t *testing.T) {
	for i := range 500 {
		o := NewOwner(NewList(7, "g", nil, nil), nil)
		ran := false
		err := o.Do(context.Background(), func(*List) {
			ran = true
			close(o.quit) // the owner returns as soon as fn does
		})
		<-o.done
		require.True(t, ran, "round %d", i)
		require.NoError(t, err, "round %d: fn ran", i)
	}
}

// TestCountsTickStartsAgain: the counts tick stops while nobody watches the
// guild, and a session that subscribes later still gets the counts-only
// update that a change outside its range makes (only the tick sends those).
func TestCountsTickStartsAgain(t *testing.T) {
	var members []Member
	for id := uint64(1); id <= 20; id++ {
		members = append(members, Member{ID: id, Name: fmt.Sprintf("off%02d", id), Status: Offline})
	}
	o := NewOwner(NewList(7, "g", nil, members), nil)
	defer o.Stop()
	ctx := context.Background()
	c := &client{s: NewSession(100, nil, nil), r: replica.New()}
	subscribe := func() {
		gen := c.s.Begin()
		// Slots 1-5: members only, so neither the offline header (slot
		// 0) nor a member joining at the end is in the range.
		require.NoError(t, o.Do(ctx, func(*List) { o.Subscribe(c.s, gen, [][2]int{{1, 5}}) }))
		c.pump(t)
	}
	subscribe()
	require.NoError(t, o.Do(ctx, func(*List) { o.Unsubscribe(c.s) }))
	time.Sleep(2 * countsPeriod) // a while unwatched, with the tick stopped
	subscribe()
	require.Equal(t, 21, c.r.Size())
	require.NoError(t, o.Do(ctx, func(l *List) {
		_, err := l.Upsert(Member{ID: 99, Name: "zz", Status: Offline}) // slot 21
		require.NoError(t, err)
	}))
	deadline := time.Now().Add(10 * countsPeriod)
	for c.s.Len() == 0 && time.Now().Before(deadline) {
		time.Sleep(countsPeriod / 10)
	}
	require.NotZero(t, c.s.Len(), "no counts update within %v of the change", 10*countsPeriod)
	c.pump(t)
	require.Equal(t, 22, c.r.Size())
}
