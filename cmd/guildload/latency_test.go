//go:build linux

package main

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hotSession is a session subscribed to the top of a guild whose one hot
// member, id 1000, starts online as "Staff 000".
func hotSession(t *testing.T) (*session, *hotSlot) {
	h := &hotSlot{idx: 0, id: 1000, present: true, name: "Staff 000", status: "online"}
	s := testSession()
	s.p.cache = newFrameCache(map[uint64]*hotSlot{1000: h})
	s.lastSeen = make([]uint64, 1)
	s.handle(hotFrame(1, `{"op":"SYNC","range":[0,1],"items":[{"group":{"id":"11","count":1}},`+hotItem("Staff 000", "online")+`]}`), time.Now(), s.p.cache, s.p.st)
	require.NoError(t, s.fail)
	return s, h
}

func hotItem(name, status string) string {
	return fmt.Sprintf(`{"member":{"id":"1000","name":%q,"roles":["11"],"status":%q}}`, name, status)
}

func hotFrame(seq int, ops ...string) []byte {
	f := fmt.Sprintf(`{"t":"GUILD_MEMBER_LIST_UPDATE","seq":%d,"guild_id":"1","member_count":1,"online_count":1,"size":2,"groups":[{"id":"11","count":1}],"ops":[`, seq)
	for i, op := range ops {
		if i > 0 {
			f += ","
		}
		f += op
	}
	return []byte(f + "]}")
}

// track records a change of h, sent at sent.
func track(h *hotSlot, seq uint64, name, status string, sent time.Time) *tracked {
	tr := &tracked{seq: seq, name: name, status: status}
	tr.sent.Store(sent.UnixNano())
	h.record(tr)
	return tr
}

// TestRepeatedBodyTimesEachChange: a status that cycles back gives a body
// with the same bytes as an earlier one; the change it shows now is timed
// too (the candidates were cached with the body, and half the changes of
// this run went untimed).
func TestRepeatedBodyTimesEachChange(t *testing.T) {
	s, h := hotSession(t)
	var all []*tracked
	for k, st := range []string{"idle", "dnd", "online", "idle", "dnd", "online"} {
		all = append(all, track(h, uint64(k+1), "Staff 000", st, time.Now()))
		s.handle(hotFrame(k+2, `{"op":"UPDATE","index":1,"item":`+hotItem("Staff 000", st)+`}`), time.Now(), s.p.cache, s.p.st)
		require.NoError(t, s.fail)
	}
	for _, tr := range all {
		require.Equal(t, int64(1), tr.deliveries.Load(), "change %d (to %s)", tr.seq, tr.status)
	}
	require.Equal(t, int64(6), s.p.st.lat.Load().count())
}

// TestSupersededChangesAreTimed: a frame that shows a slot's latest change
// also delivers the earlier ones the session has not seen (coalesced by the
// server, or replaced by a resync), and those waited longest.
func TestSupersededChangesAreTimed(t *testing.T) {
	s, h := hotSession(t)
	now := time.Now()
	old := track(h, 1, "Staff 000 #1", "online", now.Add(-400*time.Millisecond))
	recent := track(h, 2, "Staff 000 #2", "online", now.Add(-50*time.Millisecond))
	s.handle(hotFrame(2, `{"op":"SYNC","range":[0,1],"items":[{"group":{"id":"11","count":1}},`+hotItem("Staff 000 #2", "online")+`]}`), now, s.p.cache, s.p.st)
	require.NoError(t, s.fail)
	require.Equal(t, int64(1), old.deliveries.Load())
	require.Equal(t, int64(1), recent.deliveries.Load())
	require.Equal(t, int64(2), s.p.st.lat.Load().count())
	require.GreaterOrEqual(t, s.p.st.lat.Load().maximum(), 400*time.Millisecond)
}

// TestFeedRejectsBadLengths: a 64-bit length with its top bit set (RFC 6455
// forbids it) is a protocol error, not a negative slice bound that panics
// the poller.
func TestFeedRejectsBadLengths(t *testing.T) {
	s := testSession()
	b := []byte{0x81, 127, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(b[2:], 1<<63|5)
	require.False(t, s.feed(append(b, "hello"...), time.Now()))
	require.Error(t, s.wsErr)
}

// FuzzFeed: any bytes from the server, cut into reads anywhere, end in
// messages or a protocol error, never a panic of the poller.
func FuzzFeed(f *testing.F) {
	f.Add(hotFrame(1, `{"op":"INVALIDATE","range":[0,1]}`), uint8(3))
	f.Add([]byte{0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'}, uint8(1))
	f.Add([]byte{0x01, 2, 'a', 'b', 0x89, 0, 0x80, 1, 'c'}, uint8(2))
	f.Fuzz(func(t *testing.T, stream []byte, cut uint8) {
		s := testSession()
		n := int(cut) + 1
		for rest := stream; len(rest) > 0; {
			k := min(n, len(rest))
			if !s.feed(rest[:k], time.Now()) {
				require.Error(t, s.wsErr)
				return
			}
			rest = rest[k:]
		}
	})
}
