package guild

import (
	"context"
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

// MaxRaw is how many raw frames (ERROR replies) a session may hold for its
// writer. They are answers to client frames, so the client bounds them only
// if it reads: the reader waits (WaitRaw) while MaxRaw are queued, and a
// client that sends bad frames without reading stalls on its own socket
// instead of growing the server's memory.
const MaxRaw = 16

// Session is the queue between guild owners (producers) and one connection's
// writer (consumer). The mutex guards a handful of fields and is held for a
// few instructions; it is per session, so it is never contended by other
// sessions or guilds.
type Session struct {
	mu    sync.Mutex
	gen   uint64 // current subscription; frames for older ones are refused
	q     []*Frame
	raw   int // raw frames in q
	max   int
	ready func()
	drops *atomic.Int64
	taken chan struct{} // Take took raw frames: wakes WaitRaw
}

// NewSession returns a session whose queue holds at most max update frames;
// drops (may be nil) counts the times it overflowed. ready (may be nil) is
// called, outside the session's lock, after each frame is queued: it is how
// the writer learns there is work.
func NewSession(max int, drops *atomic.Int64, ready func()) *Session {
	if drops == nil {
		drops = new(atomic.Int64)
	}
	if ready == nil {
		ready = func() {}
	}
	return &Session{max: max, ready: ready, drops: drops, taken: make(chan struct{}, 1)}
}

// Begin starts a new subscription: update frames still queued for the old
// one are dropped (the new SYNC supersedes them) and owners still holding
// the old generation can no longer enqueue. Queued ERROR replies stay.
func (s *Session) Begin() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.dropUpdates()
	return s.gen
}

// dropUpdates empties the queue of update frames, keeping raw ones in order.
// Called with s.mu held.
func (s *Session) dropUpdates() {
	kept := s.q[:0]
	for _, f := range s.q {
		if f.Raw {
			kept = append(kept, f)
		}
	}
	clear(s.q[len(kept):])
	s.q = kept
}

// push enqueues f for subscription gen and reports whether it did. It
// refuses f when gen is not the session's subscription any more, and
// reports overflow when max update frames were queued: they have then been
// dropped and the caller must enqueue a resync with force.
func (s *Session) push(gen uint64, f *Frame, force bool) (queued, overflow bool) {
	s.mu.Lock()
	if gen != s.gen {
		s.mu.Unlock()
		return false, false
	}
	if !force && len(s.q)-s.raw >= s.max {
		s.dropUpdates()
		s.mu.Unlock()
		s.drops.Add(1)
		return false, true
	}
	s.q = append(s.q, f)
	s.mu.Unlock()
	s.ready()
	return true, false
}

// PushRaw enqueues a frame that is sent as is and carries no seq (an ERROR
// reply). The reader that pushes them calls WaitRaw before it reads on.
func (s *Session) PushRaw(body []byte) {
	s.mu.Lock()
	s.q = append(s.q, &Frame{Body: body, Raw: true})
	s.raw++
	s.mu.Unlock()
	s.ready()
}

// WaitRaw returns when fewer than MaxRaw raw frames are queued, or with
// ctx's error when ctx ends first.
func (s *Session) WaitRaw(ctx context.Context) error {
	for {
		s.mu.Lock()
		n := s.raw
		s.mu.Unlock()
		if n < MaxRaw {
			return nil
		}
		select {
		case <-s.taken:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Take moves the queued frames into buf and returns it.
func (s *Session) Take(buf []*Frame) []*Frame {
	s.mu.Lock()
	buf = append(buf, s.q...)
	clear(s.q)
	s.q = s.q[:0]
	tookRaw := s.raw > 0
	s.raw = 0
	s.mu.Unlock()
	if tookRaw {
		select {
		case s.taken <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
	return buf
}

// Len is the number of queued frames.
func (s *Session) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.q)
}
