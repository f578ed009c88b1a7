//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// The sessions' sockets are read by a few pollers, each an epoll set and a
// goroutine, rather than by a goroutine per session. With a goroutine per
// session every frame cost the client two read syscalls (the one that got the
// frame, then one that found nothing and parked the goroutine) plus a park and
// a wake-up through the runtime's netpoller; a syscall alone costs about
// 1.4 µs on this VM and 5,000 sessions take ~95,000 frames/s. Here one
// level-triggered epoll_wait reports many ready sockets and each is read once.
//
// Frames are parsed in place from the poller's read buffer; only a frame cut
// by the end of a read is copied, into its session's pending bytes.

const pollBuffer = 256 << 10

type poller struct {
	ep       int
	cache    *frameCache
	st       *sessionStats
	stopping *atomic.Bool
	buf      []byte

	// recent are the bodies this poller looked up last, newest first. A
	// flush sends the same body to every session of a range set, and a few
	// range sets are flushed at a time, so comparing with these (bytes.Equal
	// stops at a different length) nearly always finds the body without
	// hashing it and going through the shared cache. Its mutex is for the
	// bytes that come with a handshake, which the dialing goroutine feeds.
	rmu    sync.Mutex
	recent [8]*decoded

	mu       sync.Mutex
	sessions []*session // by the index in each epoll event's data
	live     int
}

// newPollers starts n pollers; they end when stopping is set and every
// session added to them has ended.
func newPollers(n int, cache *frameCache, st *sessionStats, stopping *atomic.Bool) ([]*poller, error) {
	ps := make([]*poller, n)
	for i := range ps {
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return nil, fmt.Errorf("epoll_create1: %w", err)
		}
		ps[i] = &poller{ep: ep, cache: cache, st: st, stopping: stopping, buf: make([]byte, pollBuffer)}
		go ps[i].loop()
	}
	return ps, nil
}

// add starts reading s; bytes that came with the handshake reply are
// handled first.
func (p *poller) add(s *session, early []byte) error {
	s.p = p
	p.mu.Lock() // the poller reads s from p.sessions under it
	idx := len(p.sessions)
	p.sessions = append(p.sessions, s)
	p.live++
	p.mu.Unlock()
	if len(early) > 0 {
		s.mu.Lock()
		ok := s.feed(early, time.Now())
		s.mu.Unlock()
		if !ok {
			s.end(s.wsErr)
			return s.wsErr
		}
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Pad: int32(idx)}
	if err := unix.EpollCtl(p.ep, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		s.end(err)
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

func (p *poller) loop() {
	evs := make([]unix.EpollEvent, 256)
	for {
		// A timeout, so that a poller whose sessions have all ended notices
		// the stop.
		n, err := unix.EpollWait(p.ep, evs, 200)
		if err != nil && !errors.Is(err, unix.EINTR) {
			panic(fmt.Sprintf("guildload: epoll_wait: %v", err))
		}
		for _, ev := range evs[:max(n, 0)] {
			p.mu.Lock()
			s := p.sessions[ev.Pad]
			p.mu.Unlock()
			p.readable(s)
		}
		if p.stopping.Load() {
			p.mu.Lock()
			live := p.live
			p.mu.Unlock()
			if live == 0 {
				unix.Close(p.ep)
				return
			}
		}
	}
}

// readable reads what s's socket has, once: the set is level-triggered, so
// anything left is reported again.
func (p *poller) readable(s *session) {
	if s.ended {
		return // a stale event from the same epoll_wait
	}
	n, err := unix.Read(s.fd, p.buf)
	switch {
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		return
	case err != nil:
		s.end(err)
		return
	case n == 0:
		s.end(errEOF)
		return
	}
	s.mu.Lock()
	ok := s.feed(p.buf[:n], time.Now())
	s.mu.Unlock()
	if !ok {
		s.end(s.wsErr)
	}
}

var errEOF = errors.New("connection closed by the server")

// lookup returns the decoded form of an update body.
func (p *poller) lookup(body []byte) (*decoded, error) {
	p.rmu.Lock()
	defer p.rmu.Unlock()
	for i, d := range p.recent {
		if d != nil && bytes.Equal(d.body, body) {
			copy(p.recent[1:i+1], p.recent[:i])
			p.recent[0] = d
			p.cache.hits.Add(1)
			return d, nil
		}
	}
	d, err := p.cache.get(body)
	if err != nil {
		return nil, err
	}
	copy(p.recent[1:], p.recent[:len(p.recent)-1])
	p.recent[0] = d
	return d, nil
}

// feed parses the WebSocket frames in data after s's pending bytes, handles
// each whole message and keeps an incomplete tail. It returns false when the
// stream is broken or the server closed the session (s.wsErr says which).
// Called with s.mu held.
func (s *session) feed(data []byte, now time.Time) bool {
	fromPending := len(s.pending) > 0
	if fromPending {
		s.pending = append(s.pending, data...)
		data = s.pending
	}
	for {
		h, hl, ok := parseHeader(data)
		if ok && !validHeader(h) { // before h.Length bounds a slice
			s.wsErr = fmt.Errorf("bad frame header %+v", h)
			return false
		}
		if !ok || len(data)-hl < int(h.Length) {
			break
		}
		payload := data[hl : hl+int(h.Length)]
		data = data[hl+int(h.Length):]
		if !s.frame(h, payload, now) {
			return false
		}
	}
	switch {
	case len(data) == 0:
		s.pending = s.pending[:0]
	case fromPending:
		s.pending = s.pending[:copy(s.pending, data)]
	default:
		s.pending = append(s.pending[:0], data...)
	}
	return true
}

// parseHeader reads a server frame's header (RFC 6455 §5.2; server frames
// are not masked): the header and its length, ok false when data does not
// hold all of it yet.
func parseHeader(b []byte) (h ws.Header, n int, ok bool) {
	if len(b) < 2 {
		return h, 0, false
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] & 0x70) >> 4
	h.OpCode = ws.OpCode(b[0] & 0x0f)
	h.Masked = b[1]&0x80 != 0
	n = 2
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return h, 0, false
		}
		h.Length, n = int64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return h, 0, false
		}
		h.Length, n = int64(binary.BigEndian.Uint64(b[2:])), 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, false
		}
		n += 4
	}
	return h, n, true
}

// validHeader reports whether a server frame's header is one RFC 6455
// allows: no reserved bits, not masked, a length without its top bit, and a
// control frame final and at most 125 bytes.
func validHeader(h ws.Header) bool {
	return h.Rsv == 0 && !h.Masked && h.Length >= 0 && (!h.OpCode.IsControl() || h.Fin && h.Length <= 125)
}

// frame handles one frame: data frames make up messages (a fragmented one
// is gathered in s.frag), pings get pongs and a close frame gets its reply.
func (s *session) frame(h ws.Header, payload []byte, now time.Time) bool {
	switch h.OpCode {
	case ws.OpText, ws.OpBinary:
		if s.inFrag {
			s.wsErr = errors.New("new message inside a fragmented one")
			return false
		}
		if !h.Fin {
			s.inFrag, s.frag = true, append(s.frag[:0], payload...)
			return true
		}
		s.message(payload, now)
	case ws.OpContinuation:
		if !s.inFrag {
			s.wsErr = errors.New("continuation frame outside a message")
			return false
		}
		s.frag = append(s.frag, payload...)
		if h.Fin {
			s.inFrag = false
			s.message(s.frag, now)
		}
	case ws.OpPing:
		s.writeControl(ws.NewPongFrame(payload))
	case ws.OpPong:
	case ws.OpClose:
		code, reason := ws.ParseCloseFrameData(payload)
		body := []byte(nil)
		if !code.Empty() {
			body = ws.NewCloseFrameBody(code, "")
		}
		s.writeControl(ws.NewCloseFrame(body))
		s.wsErr = fmt.Errorf("server closed the session: %d %s", code, reason)
		return false
	default:
		s.wsErr = fmt.Errorf("unknown opcode %d", h.OpCode)
		return false
	}
	return true
}

func (s *session) message(frame []byte, now time.Time) {
	st := s.p.st
	st.frames.Add(1)
	st.bytes.Add(int64(len(frame)))
	st.lastFrame.Store(now.UnixNano())
	s.handle(frame, now, s.p.cache, st)
}

// writeControl sends a masked control frame (client frames must be masked).
// The socket is non-blocking; a control frame is tiny and goes out at once
// unless the connection is broken, and then the read side will see it.
func (s *session) writeControl(f ws.Frame) {
	b, err := ws.CompileFrame(ws.MaskFrameInPlace(f))
	if err == nil {
		unix.Write(s.fd, b)
	}
}

// end stops reading s and closes its socket: err is recorded as the
// session's connection error unless the run is stopping.
func (s *session) end(err error) {
	p := s.p
	if !p.stopping.Load() {
		s.mu.Lock()
		if s.closed == nil {
			s.closed = err
		}
		s.mu.Unlock()
		p.st.failures.Add(1)
	}
	unix.EpollCtl(p.ep, unix.EPOLL_CTL_DEL, s.fd, nil)
	s.mu.Lock()
	unix.Close(s.fd)
	s.ended = true
	s.mu.Unlock()
	p.mu.Lock()
	p.live--
	p.mu.Unlock()
	close(s.done)
}

// shutdown makes s's poller see the end of the connection and end s. It may
// be called from any goroutine: it does not close the descriptor, and s.mu
// keeps it from touching one that end has closed (and the kernel may have
// given to another socket).
func (s *session) shutdown() {
	s.mu.Lock()
	if !s.ended {
		unix.Shutdown(s.fd, unix.SHUT_RDWR)
	}
	s.mu.Unlock()
}

// dupFD returns a duplicate of c's descriptor; closing c then takes the
// socket out of the Go runtime's netpoller while the duplicate keeps it open.
// The duplicate shares the socket's open file, which Go made non-blocking.
func dupFD(c net.Conn) (int, error) {
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(cfd uintptr) { fd, derr = unix.FcntlInt(cfd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	return fd, derr
}
