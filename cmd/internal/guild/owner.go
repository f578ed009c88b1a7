package guild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/bucketed/sortedset/cmd/internal/wire"
)

// Metrics are counters shared by all owners.
type Metrics struct {
	OpsSent    atomic.Int64 // ops written into update frames, times sessions
	QueueDrops atomic.Int64
}

// ErrBusy is returned by Do when the owner's inbox stays full.
var ErrBusy = errors.New("guild is busy")

// ErrStopped is returned by Do after Stop.
var ErrStopped = errors.New("guild is stopped")

const (
	inboxSize    = 4096
	batchMax     = 1024                   // commands applied between two flushes
	countsPeriod = 250 * time.Millisecond // counts-only updates at most this often
	// flushEvery coalesces: a range set gets at most one update frame per
	// period, however many changes hit it. Every frame costs each of its
	// sessions a write and its client a read, and at thousands of sessions
	// those dominate the CPU (5,000 sessions at 20 ms saturated two cores),
	// so the period trades up to this much delay for far fewer frames.
	flushEvery = 50 * time.Millisecond
	busyWait   = 2 * time.Second
)

// Owner is the goroutine that owns one guild's List: every read and write
// runs on it (Do), so the list needs no lock. It turns list changes into
// per-range-set ops and, after each batch of commands, encodes each range
// set's update once and queues the same bytes to all its sessions.
type Owner struct {
	list    *List
	inbox   chan func()
	quit    chan struct{}
	done    chan struct{}
	metrics *Metrics

	subs    map[*Session]*sub
	sets    map[string]*rangeSet
	version uint64 // bumped by every list change: resync bodies are cached per version
	members atomic.Int64
}

type sub struct {
	s   *Session
	gen uint64
	rs  *rangeSet
}

// rangeSet is the sessions that share one set of (merged) ranges, and the ops
// pending for them since the last flush.
type rangeSet struct {
	ranges   [][2]int // sorted, disjoint, not adjacent
	subs     map[*Session]*sub
	ops      []wire.Op
	full     bool // too many ops, or a Reset: send a SYNC of every range instead
	dirty    bool // counts changed since the last frame
	lastSent time.Time
	width    int

	resyncBody []byte // INVALIDATE + SYNC of the ranges at resyncVer, shared by
	resyncVer  uint64 // all sessions of the set that overflow at that version
}

// NewOwner starts the goroutine for list.
func NewOwner(list *List, m *Metrics) *Owner {
	if m == nil {
		m = new(Metrics)
	}
	o := &Owner{list: list, inbox: make(chan func(), inboxSize), quit: make(chan struct{}), done: make(chan struct{}),
		metrics: m, subs: map[*Session]*sub{}, sets: map[string]*rangeSet{}}
	list.SetObserver(o)
	o.members.Store(int64(list.MemberCount()))
	go o.run()
	return o
}

// Members is the guild's member count after the last command that Do
// finished. It does not wait for the owner, as a metrics scrape must not.
func (o *Owner) Members() int { return int(o.members.Load()) }

// Do runs fn on the owner goroutine and waits for it. It gives up with
// ErrBusy when the inbox stays full (backpressure: the HTTP layer answers 429),
// and returns ErrStopped only when fn did not run.
func (o *Owner) Do(ctx context.Context, fn func(l *List)) error {
	fin := make(chan struct{})
	t := time.NewTimer(busyWait)
	defer t.Stop()
	select {
	case o.inbox <- func() {
		defer close(fin)
		fn(o.list)
		o.members.Store(int64(o.list.MemberCount()))
	}:
	case <-t.C:
		return ErrBusy
	case <-o.quit:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-fin:
		return nil
	case <-o.done:
		// fn runs before the owner can stop, so fin is closed by now if
		// it ran; the select above picks either when both are ready.
		select {
		case <-fin:
			return nil
		default:
			return ErrStopped
		}
	}
}

// Stop ends the goroutine; commands already queued may not run.
func (o *Owner) Stop() {
	close(o.quit)
	<-o.done
}

func (o *Owner) run() {
	defer close(o.done)
	// The counts tick runs only while sessions watch: flush has nothing to
	// send otherwise, and a server holds many guilds that nobody watches
	// (2,000 idle owners took 15-25 µs of CPU each per second, ticking).
	tick := time.NewTicker(countsPeriod)
	tick.Stop() // started below while sessions watch
	defer tick.Stop()
	ticking := false
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	var last time.Time
	for {
		if watched := len(o.sets) > 0; watched != ticking {
			if watched {
				tick.Reset(countsPeriod)
			} else {
				tick.Stop()
			}
			ticking = watched
		}
		select {
		case fn := <-o.inbox:
			fn()
		drain:
			for n := 1; n < batchMax; n++ {
				select {
				case fn := <-o.inbox:
					fn()
				default:
					break drain
				}
			}
			if wait := flushEvery - time.Since(last); wait <= 0 {
				o.flush(false)
				last = time.Now()
			} else if !armed {
				timer.Reset(wait)
				armed = true
			}
		case <-timer.C:
			armed = false
			o.flush(false)
			last = time.Now()
		case <-tick.C:
			o.flush(true)
		case <-o.quit:
			return
		}
	}
}

// Subscribe (call it inside Do) moves session s, whose subscription gen was
// just returned by s.Begin, to ranges of this guild and queues a SYNC of each
// requested range. Pending ops are flushed first so s does not get ops for
// changes its SYNC already shows.
func (o *Owner) Subscribe(s *Session, gen uint64, ranges [][2]int) {
	o.flush(false)
	o.unsubscribe(s)
	merged := mergeRanges(ranges)
	k := fmt.Sprint(merged)
	rs := o.sets[k]
	if rs == nil {
		rs = &rangeSet{ranges: merged, subs: map[*Session]*sub{}}
		for _, r := range merged {
			rs.width += r[1] - r[0] + 1
		}
		o.sets[k] = rs
	}
	x := &sub{s, gen, rs}
	rs.subs[s] = x
	o.subs[s] = x
	var ops []wire.Op
	for _, r := range ranges {
		ops = append(ops, o.syncOp(r))
	}
	o.send(x, &Frame{Body: o.encode(ops)}, len(ops), true)
}

// Unsubscribe (inside Do) forgets session s.
func (o *Owner) Unsubscribe(s *Session) { o.unsubscribe(s) }

func (o *Owner) unsubscribe(s *Session) {
	x := o.subs[s]
	if x == nil {
		return
	}
	delete(o.subs, s)
	delete(x.rs.subs, s)
	if len(x.rs.subs) == 0 {
		delete(o.sets, fmt.Sprint(x.rs.ranges))
	}
}

// Evict (inside Do) queues body, sent as is (an ERROR), to every subscribed
// session and forgets them all: the guild is going away.
func (o *Owner) Evict(body []byte) {
	for s := range o.subs {
		s.PushRaw(body)
		o.unsubscribe(s)
	}
}

// Sessions is the number of subscribed sessions (inside Do).
func (o *Owner) Sessions() int { return len(o.subs) }

func mergeRanges(in [][2]int) [][2]int {
	rs := slices.Clone(in)
	slices.SortFunc(rs, func(a, b [2]int) int { return a[0] - b[0] })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && r[0] <= out[n-1][1]+1 {
			out[n-1][1] = max(out[n-1][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}

func (o *Owner) syncOp(r [2]int) wire.Op {
	return wire.Op{Op: wire.OpSync, Range: r, Items: o.list.Window(r[0], r[1]-r[0]+1)}
}

// encode makes the shared body of an update with ops and the current counts.
func (o *Owner) encode(ops []wire.Op) []byte {
	l := o.list
	b, err := json.Marshal(wire.UpdateBody{GuildID: wire.FormatID(l.ID), MemberCount: l.MemberCount(),
		OnlineCount: l.OnlineCount(), Size: l.Size(), Groups: l.Groups(), Ops: ops})
	if err != nil {
		panic(err) // plain structs of strings and ints always encode
	}
	b[0] = ',' // `{"guild_id"...` becomes `,"guild_id"...`, to follow `"seq":N`
	return b
}

// resync is INVALIDATE + SYNC of every range of rs, encoded once per list
// version: when many sessions fall behind together they share it.
func (o *Owner) resync(rs *rangeSet) []byte {
	if rs.resyncBody != nil && rs.resyncVer == o.version {
		return rs.resyncBody
	}
	var ops []wire.Op
	for _, r := range rs.ranges {
		ops = append(ops, wire.Op{Op: wire.OpInvalidate, Range: r})
	}
	for _, r := range rs.ranges {
		ops = append(ops, o.syncOp(r))
	}
	rs.resyncBody, rs.resyncVer = o.encode(ops), o.version
	return rs.resyncBody
}

// send queues f to x's session; on overflow the session gets a resync.
func (o *Owner) send(x *sub, f *Frame, nops int, force bool) {
	queued, overflow := x.s.push(x.gen, f, force)
	if overflow {
		o.metrics.QueueDrops.Add(1)
		rb := o.resync(x.rs)
		x.s.push(x.gen, &Frame{Body: rb}, true)
		o.metrics.OpsSent.Add(int64(2 * len(x.rs.ranges)))
		return
	}
	if queued { // not refused: the session has moved to a newer subscription
		o.metrics.OpsSent.Add(int64(nops))
	}
}

// flush sends every range set its pending ops. With counts, range sets whose
// only news is new counts get a counts-only update (rate-limited).
func (o *Owner) flush(counts bool) {
	now := time.Now()
	for _, rs := range o.sets {
		var ops []wire.Op
		switch {
		case rs.full:
			for _, r := range rs.ranges {
				ops = append(ops, o.syncOp(r))
			}
		case len(rs.ops) > 0:
			ops = rs.ops
		case rs.dirty && counts && now.Sub(rs.lastSent) >= countsPeriod:
			ops = []wire.Op{}
		default:
			continue
		}
		f := &Frame{Body: o.encode(ops)} // one frame, queued to every session: writers only read it
		for _, x := range rs.subs {
			o.send(x, f, len(ops), false)
		}
		rs.ops, rs.full, rs.dirty, rs.lastSent = nil, false, false, now
	}
}

// addOp appends an op for rs, or gives up on ops for this flush when a SYNC
// would be about as cheap. A client splices each op into its copy, moving
// up to a range of items, while a SYNC is one copy of the range: at a
// quarter of the width in ops (most with an item) a SYNC is already not much
// larger, and far cheaper to apply (ranges deep in a churning list see two
// ops per change before them; guildload's replicas spent 15% of their CPU
// moving items for them).
func (rs *rangeSet) addOp(op wire.Op) {
	if rs.full {
		return
	}
	if len(rs.ops) >= rs.width/4+8 {
		rs.ops, rs.full = nil, true
		return
	}
	rs.ops = append(rs.ops, op)
}

func (o *Owner) item(i int) *wire.Item {
	it := o.list.ItemAt(i)
	return &it
}

// Inserted translates "k items were inserted at i" into ops for each range
// [a, b] that keep the client's slots [a, min(b, size-1)] right and leave its
// slots after b where they were (so ranges do not disturb each other): the
// m = min(k, b-s+1) new items at s = max(a, i) are inserted, and the m old
// items pushed past b are deleted at b+1. Called with the list already
// changed; size and items are those after the change.
func (o *Owner) Inserted(i, k int) {
	o.version++
	newL := o.list.Size()
	oldL := newL - k
	for _, rs := range o.sets {
		rs.dirty = true
		clen := oldL // the client's length as the ops so far leave it
		for _, r := range rs.ranges {
			a, b := r[0], r[1]
			if i > b {
				continue
			}
			s := max(a, i)
			if s > clen {
				// The range begins past the client's end: an INSERT at s
				// cannot be spliced there. Append the new items up to b
				// instead, so the client's end follows the list's.
				for x := clen; x < newL && x <= b; x++ {
					rs.addOp(wire.Op{Op: wire.OpInsert, Index: x, Item: o.item(x)})
					clen++
				}
				continue
			}
			m := min(k, b-s+1)
			for x := s; x < s+m && x < newL; x++ {
				rs.addOp(wire.Op{Op: wire.OpInsert, Index: x, Item: o.item(x)})
				clen++
			}
			// old slots [b-m+1, b] that existed are now at b+1...
			for n := min(b, oldL-1) - (b - m + 1) + 1; n > 0; n-- {
				rs.addOp(wire.Op{Op: wire.OpDelete, Index: b + 1})
				clen--
			}
		}
	}
}

// Deleted translates "k items were deleted at i" the same way: the m slots
// from s = max(a, i) leave the range (deleted, or shifted below a), and the m
// items that moved up into the range's end are inserted there.
func (o *Owner) Deleted(i, k int) {
	o.version++
	newL := o.list.Size()
	oldL := newL + k
	for _, rs := range o.sets {
		rs.dirty = true
		for _, r := range rs.ranges {
			a, b := r[0], r[1]
			if i > b {
				continue
			}
			s := max(a, i)
			m := min(k, b-s+1)
			for n := min(m, oldL-s); n > 0; n-- {
				rs.addOp(wire.Op{Op: wire.OpDelete, Index: s})
			}
			for x := b - m + 1; x <= b && x < newL; x++ {
				rs.addOp(wire.Op{Op: wire.OpInsert, Index: x, Item: o.item(x)})
			}
		}
	}
}

// Updated sends UPDATE i to the range sets that contain i.
func (o *Owner) Updated(i int) {
	o.version++
	for _, rs := range o.sets {
		rs.dirty = true
		for _, r := range rs.ranges {
			if i >= r[0] && i <= r[1] {
				rs.addUpdate(i, o.item(i))
			}
		}
	}
}

// addUpdate adds UPDATE i, or rewrites the pending UPDATE of slot i when only
// UPDATEs (which move no slot) follow it: the client ends with the same slots
// either way. Every join, leave or presence change updates its group's
// header, so without this a range holding a busy header (say "online")
// collected one UPDATE of it per change until it overflowed into a SYNC:
// at 1,000 changes/s the sessions on [0, 99] got a 100-item SYNC in most
// frames instead of one UPDATE.
func (rs *rangeSet) addUpdate(i int, it *wire.Item) {
	for k := len(rs.ops) - 1; k >= 0 && rs.ops[k].Op == wire.OpUpdate; k-- {
		if rs.ops[k].Index == i {
			rs.ops[k].Item = it
			return
		}
	}
	rs.addOp(wire.Op{Op: wire.OpUpdate, Index: i, Item: it})
}

// Reset makes every range set resynchronise at the next flush.
func (o *Owner) Reset() {
	o.version++
	for _, rs := range o.sets {
		rs.ops, rs.full = nil, true
	}
}

// UpdatePrefix is what a writer sends before the seq of an update frame.
var UpdatePrefix = []byte(`{"t":"` + wire.TypeUpdate + `","seq":`)

// AppendPrefix appends what a writer sends before f.Body: for an update,
// UpdatePrefix and seq; nothing for a Raw frame.
func AppendPrefix(dst []byte, f *Frame, seq int64) []byte {
	if f.Raw {
		return dst
	}
	return strconv.AppendInt(append(dst, UpdatePrefix...), seq, 10)
}
