//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/bucketed/sortedset/cmd/internal/replica"
	"github.com/bucketed/sortedset/cmd/internal/wire"
)

// --- tracked ("hot") changes ---

// tracked is one change whose arrival sessions time: a join, rename or
// presence change of a hot member, whose resulting item (id, name, status)
// identifies it.
type tracked struct {
	seq        uint64
	name       string
	status     string
	sent       atomic.Int64 // unix nanos, stored just before the HTTP request
	deliveries atomic.Int64 // sessions that received it
}

// hotSlot is a hot member: in the top hoisted role, kept non-offline, so every
// session whose ranges cover the top of the list sees each of its changes.
// The generator changes a slot only when its previous request has been
// answered and a cool-down has passed.
type hotSlot struct {
	idx     int
	id      uint64
	present bool   // generator's view
	name    string // generator's view
	status  string // generator's view
	busy    atomic.Bool
	freeAt  atomic.Int64

	mu   sync.Mutex
	hist []*tracked    // recent tracked changes, oldest first (at most histLen)
	all  []*tracked    // every tracked change, oldest first (append-only)
	ver  atomic.Uint64 // changes with hist: cached candidates are stale
}

const histLen = 8

func (h *hotSlot) record(t *tracked) {
	h.mu.Lock()
	if len(h.hist) == histLen {
		copy(h.hist, h.hist[1:])
		h.hist = h.hist[:histLen-1]
	}
	h.hist = append(h.hist, t)
	h.all = append(h.all, t)
	h.ver.Add(1)
	h.mu.Unlock()
}

// since returns every recorded change with seq > last, oldest first: for a
// session lagging behind by more changes than hist holds.
func (h *hotSlot) since(last uint64) []*tracked {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := sort.Search(len(h.all), func(i int) bool { return h.all[i].seq > last })
	return h.all[i:len(h.all):len(h.all)]
}

// candidates are the slot's recorded changes at version ver, and those of
// them whose result is a given item, both oldest first.
type candidates struct {
	ver   uint64
	hist  []*tracked
	cands []*tracked
}

// matches returns the candidates for an item with name and status.
func (h *hotSlot) matches(name, status string) *candidates {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := &candidates{ver: h.ver.Load(), hist: slices.Clone(h.hist)}
	for _, t := range h.hist {
		if t.name == name && t.status == status {
			c.cands = append(c.cands, t)
		}
	}
	return c
}

// --- shared decoding of frames ---

// A server update frame is `{"t":"GUILD_MEMBER_LIST_UPDATE","seq":N` followed
// by a body that the server encodes once per range set and sends to all its
// sessions. Sessions decode a given body once (a cache keyed by the exact
// bytes) and each applies it with its own seq. Frames of any other shape are
// decoded in full.
var updatePrefix = []byte(`{"t":"` + wire.TypeUpdate + `","seq":`)

// decoded is one decoded body and the tracked changes its items show.
type decoded struct {
	body []byte
	u    wire.Update // Seq 0
	tags []*tag
}

// tag is a hot member's item in a body. The changes it can show are looked
// up when a session handles the body, not when it is decoded: a later
// change can give a body with the same bytes (a status cycling back), and
// candidates cached with the body would leave that change untimed. They
// are cached per version of the slot's history, which changes with each
// hot change, rarely against the frames that show it.
type tag struct {
	h            *hotSlot
	sync         bool // from a SYNC (a resync shows the latest state)
	name, status string
	cached       atomic.Pointer[candidates]
}

func (t *tag) candidates() *candidates {
	if c := t.cached.Load(); c != nil && c.ver == t.h.ver.Load() {
		return c
	}
	c := t.h.matches(t.name, t.status)
	t.cached.Store(c)
	return c
}

type frameCache struct {
	seed   maphash.Seed
	shards [64]cacheShard
	hot    map[uint64]*hotSlot // read-only once sessions start
	hits   atomic.Int64
	misses atomic.Int64
}

// cacheShardLen bounds a shard's generation: the cache keeps the last
// 64 × 16 to 64 × 32 bodies decoded, a few seconds of them at 1,000 changes/s,
// while the sessions that share a body read it within one fan-out. At 512 it
// kept all of a 60-s run's 7,909 bodies: guildload's live heap grew from 46
// to 244 MB and its GC marks, up to 724 ms, delayed its reads.
const cacheShardLen = 16

type cacheShard struct {
	mu        sync.Mutex
	cur, prev map[string]*decoded
}

func newFrameCache(hot map[uint64]*hotSlot) *frameCache {
	c := &frameCache{seed: maphash.MakeSeed(), hot: hot}
	for i := range c.shards {
		c.shards[i].cur = map[string]*decoded{}
	}
	return c
}

// split returns the seq and body of an update frame, ok false for other shapes.
func split(frame []byte) (seq int64, body []byte, ok bool) {
	if !bytes.HasPrefix(frame, updatePrefix) {
		return 0, nil, false
	}
	rest := frame[len(updatePrefix):]
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(rest) || rest[i] != ',' {
		return 0, nil, false
	}
	seq, err := strconv.ParseInt(string(rest[:i]), 10, 64)
	if err != nil {
		return 0, nil, false
	}
	return seq, rest[i:], true
}

func (c *frameCache) get(body []byte) (*decoded, error) {
	sh := &c.shards[maphash.Bytes(c.seed, body)&63]
	sh.mu.Lock()
	d := sh.cur[string(body)]
	if d == nil {
		d = sh.prev[string(body)]
	}
	sh.mu.Unlock()
	if d != nil {
		c.hits.Add(1)
		return d, nil
	}
	c.misses.Add(1)
	full := make([]byte, 0, len(updatePrefix)+len(body)+2)
	full = append(append(append(full, updatePrefix...), '0'), body...)
	msg, err := wire.DecodeServer(full)
	if err != nil {
		return nil, err
	}
	if msg.T != wire.TypeUpdate {
		return nil, fmt.Errorf("update frame decodes as %q", msg.T)
	}
	d = &decoded{body: bytes.Clone(body), u: msg.Update, tags: c.tagsOf(&msg.Update)}
	sh.mu.Lock()
	if len(sh.cur) >= cacheShardLen {
		sh.prev, sh.cur = sh.cur, make(map[string]*decoded, cacheShardLen)
	}
	sh.cur[string(body)] = d
	sh.mu.Unlock()
	return d, nil
}

func (c *frameCache) tagsOf(u *wire.Update) []*tag {
	var tags []*tag
	look := func(it *wire.Item, sync bool) {
		if it == nil || it.Member == nil {
			return
		}
		id, err := wire.ParseID(it.Member.ID)
		if err != nil {
			return
		}
		if h := c.hot[id]; h != nil {
			tags = append(tags, &tag{h: h, sync: sync, name: it.Member.Name, status: it.Member.Status})
		}
	}
	for i := range u.Ops {
		op := &u.Ops[i]
		switch op.Op {
		case wire.OpInsert, wire.OpUpdate:
			look(op.Item, false)
		case wire.OpSync:
			for j := range op.Items {
				look(&op.Items[j], true)
			}
		}
	}
	return tags
}

// --- sessions ---

type session struct {
	n      int
	ranges [][2]int
	fd     int // the socket, non-blocking, read by poller p
	p      *poller
	done   chan struct{}

	// Only p's goroutine uses these.
	pending []byte // the start of a frame cut by the end of a read
	frag    []byte // a fragmented message being gathered
	inFrag  bool
	wsErr   error // why feed stopped

	mu       sync.Mutex
	ended    bool // fd is closed
	r        *replica.Replica
	lastSeen []uint64 // per hot slot: seq of the last tracked change received
	fail     error    // first protocol error (bad frame, seq gap, ERROR message)
	closed   error    // read error after the run started
	frames   int64
}

type sessionStats struct {
	frames    atomic.Int64
	bytes     atomic.Int64
	lastFrame atomic.Int64         // unix nanos
	lat       atomic.Pointer[hist] // the current churn phase's
	window    atomic.Pointer[hist]
	failures  atomic.Int64
	cache     *frameCache
}

// dialSession opens a gateway session with gobwas/ws and subscribes. The
// connection then leaves the Go runtime's netpoller: its descriptor is
// duplicated and the net.Conn closed, so that a poller can read it (see
// poller.go). early is what came with the handshake reply.
func dialSession(ctx context.Context, addr string, n int, guildID string, ranges [][2]int, hot int) (s *session, early []byte, err error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, br, _, err := ws.Dial(dctx, "ws://"+addr+"/gateway")
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	if br != nil {
		early = make([]byte, br.Buffered())
		br.Read(early)
		ws.PutReader(br)
	}
	msg := fmt.Sprintf(`{"op":"subscribe","guild_id":%q,"ranges":%s}`, guildID, rangesJSON(ranges))
	if err := wsutil.WriteClientText(c, []byte(msg)); err != nil {
		return nil, nil, err
	}
	fd, err := dupFD(c)
	if err != nil {
		return nil, nil, err
	}
	return &session{n: n, ranges: ranges, fd: fd, done: make(chan struct{}), r: replica.New(), lastSeen: make([]uint64, hot)}, early, nil
}

func rangesJSON(rs [][2]int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%d,%d]", r[0], r[1])
	}
	b.WriteByte(']')
	return b.String()
}

func (s *session) setFail(err error, st *sessionStats) {
	if s.fail == nil {
		s.fail = err
		st.failures.Add(1)
	}
}

// handle applies one message; s.mu is held.
func (s *session) handle(frame []byte, now time.Time, cache *frameCache, st *sessionStats) {
	s.frames++
	seq, body, ok := split(frame)
	if !ok {
		msg, err := wire.DecodeServer(frame)
		switch {
		case err != nil:
			s.setFail(fmt.Errorf("bad frame: %v: %.200s", err, frame), st)
		case msg.T == wire.TypeError:
			s.setFail(fmt.Errorf("ERROR message: %s", msg.Message), st)
		default:
			if err := s.r.Apply(&msg.Update); err != nil {
				s.setFail(err, st)
			}
		}
		return
	}
	d, err := s.p.lookup(body)
	if err != nil {
		s.setFail(fmt.Errorf("bad frame: %v: %.200s", err, frame), st)
		return
	}
	u := d.u
	u.Seq = seq
	if err := s.r.Apply(&u); err != nil {
		s.setFail(err, st)
		return
	}
	for _, t := range d.tags {
		c := t.candidates()
		last := s.lastSeen[t.h.idx]
		hist, cands := c.hist, c.cands
		if len(hist) == histLen && hist[0].seq > last {
			// changes this session has not seen may have left hist
			hist, cands = t.h.since(last), nil
			for _, x := range hist {
				if x.name == t.name && x.status == t.status {
					cands = append(cands, x)
				}
			}
		}
		var pick *tracked
		for _, x := range cands {
			if x.seq > last && x.sent.Load() > 0 {
				pick = x
				if !t.sync {
					break // an op shows the oldest change not yet seen
				}
				// a SYNC shows the latest state: take the newest
			}
		}
		if pick == nil {
			continue
		}
		// The changes before pick that this session has not seen were
		// superseded on the way (coalesced into one op, or replaced by a
		// resync): this frame delivers them too, and they waited longest.
		for _, x := range hist {
			if x.seq > last && x.seq <= pick.seq && x.sent.Load() > 0 {
				d := now.Sub(time.Unix(0, x.sent.Load()))
				st.lat.Load().add(d)
				st.window.Load().add(d)
				x.deliveries.Add(1)
			}
		}
		s.lastSeen[t.h.idx] = pick.seq
	}
}
