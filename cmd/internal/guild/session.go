package guild

import (
	"sync"
	"sync/atomic"
)

// Frame is one message waiting for a session's writer. An update frame's Body
// is the shared tail of a GUILD_MEMBER_LIST_UPDATE after its seq: the writer
// sends `{"t":"GUILD_MEMBER_LIST_UPDATE","seq":N` + Body, so one encoding
// serves every session with the same ranges while each gets its own seq.
// A frame with Raw set is sent as is and carries no seq (ERROR).
type Frame struct {
	Body []byte
	Raw  bool
}

// Session is the queue between guild owners (producers) and one connection's
// writer (consumer). The mutex guards a handful of fields and is held for a
// few instructions; it is per session, so it is never contended by other
// sessions or guilds.
type Session struct {
	mu    sync.Mutex
	gen   uint64 // current subscription; frames for older ones are refused
	q     []*Frame
	max   int
	ready func()
	drops *atomic.Int64
}

// NewSession returns a session whose queue holds at most max frames; drops
// (may be nil) counts the times it overflowed. ready (may be nil) is called,
// outside the session's lock, after each frame is queued: it is how the
// writer learns there is work.
func NewSession(max int, drops *atomic.Int64, ready func()) *Session {
	if drops == nil {
		drops = new(atomic.Int64)
	}
	if ready == nil {
		ready = func() {}
	}
	return &Session{max: max, ready: ready, drops: drops}
}

// Begin starts a new subscription: frames still queued for the old one are
// dropped (the new SYNC supersedes them) and owners still holding the old
// generation can no longer enqueue.
func (s *Session) Begin() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.q = s.q[:0]
	return s.gen
}

// push enqueues f for subscription gen. It reports overflow when the queue was
// full: the queue has then been emptied and the caller must enqueue a resync
// with force.
func (s *Session) push(gen uint64, f *Frame, force bool) (overflow bool) {
	s.mu.Lock()
	if gen != s.gen {
		s.mu.Unlock()
		return false
	}
	if !force && len(s.q) >= s.max {
		clear(s.q)
		s.q = s.q[:0]
		s.mu.Unlock()
		s.drops.Add(1)
		return true
	}
	s.q = append(s.q, f)
	s.mu.Unlock()
	s.ready()
	return false
}

// PushRaw enqueues a frame that bypasses the limit (ERROR replies; a reader
// sends at most one per client frame, so they are bounded by the client).
func (s *Session) PushRaw(body []byte) {
	s.mu.Lock()
	s.q = append(s.q, &Frame{Body: body, Raw: true})
	s.mu.Unlock()
	s.ready()
}

// Take moves the queued frames into buf and returns it.
func (s *Session) Take(buf []*Frame) []*Frame {
	s.mu.Lock()
	buf = append(buf, s.q...)
	clear(s.q)
	s.q = s.q[:0]
	s.mu.Unlock()
	return buf
}

// Len is the number of queued frames.
func (s *Session) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.q)
}
