package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/bucketed/sortedset/cmd/internal/guild"
	"github.com/bucketed/sortedset/cmd/internal/wire"
)

const (
	writeTimeout = 10 * time.Second
	writers      = 4 // goroutines of the writer pool

	// closeWait bounds how long a session waits for the client's reply to
	// a close frame it sent.
	closeWait = 2 * time.Second
)

func errorFrame(msg string) []byte {
	b, _ := json.Marshal(struct {
		T       string `json:"t"`
		Message string `json:"message"`
	}{wire.TypeError, msg})
	return b
}

// gateway upgrades to a WebSocket session: a reader goroutine (this one)
// handles subscribes; the server's writer pool sends the session's queue.
//
// gobwas/ws does the handshake and parses client frames; server frames are
// written by wsConn, which sends all of a session's queued frames with one
// writev and the shared body of each update as is (see writeFrames).
func (s *Server) gateway(w http.ResponseWriter, r *http.Request) {
	if s.sessions.Add(1) > int64(s.cfg.MaxSessions) {
		s.sessions.Add(-1)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "too many sessions")
		return
	}
	defer s.sessions.Add(-1)
	if o := r.Header.Get("Origin"); o != "" {
		// Browsers send Origin; only the page served here may connect.
		if u, err := url.Parse(o); err != nil || !strings.EqualFold(u.Host, r.Host) {
			writeError(w, http.StatusForbidden, "cross-origin gateway request from "+o)
			return
		}
	}
	if code, msg := checkUpgrade(r); code != 0 {
		if code == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		writeError(w, code, msg)
		return
	}
	// Counted before the handshake: once the client has its reply it may
	// expect Close to end the session with 1001.
	s.sessWG.Add(1)
	defer s.sessWG.Done()
	conn, rw, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		if conn != nil {
			conn.Close() // UpgradeHTTP has answered the request
		}
		return
	}
	c := newWSConn(conn)
	defer conn.Close()

	// ctx ends with the session: when it returns, when a write fails, or
	// when the server shuts down (its writer pool then stops, and a reader
	// waiting in WaitRaw for it would wait for ever).
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		if s.ctx.Err() != nil {
			// A client that does not read must not hold up Close: a write
			// waiting for its socket holds the connection (and the close
			// frame waits behind it) for up to writeTimeout.
			time.AfterFunc(closeWait, func() { conn.Close() })
			c.closeWith(ws.StatusGoingAway, "server shutting down")
		}
	}()
	out := newOutbox(c, s.writers, cancel)
	sess := guild.NewSession(s.cfg.QueueLen, nil, func() { s.writers.schedule(out) })
	out.sess = sess

	var cur *guild.Owner
	defer func() {
		if cur != nil {
			unsubscribe(cur, sess)
		}
	}()
	rd := &wsutil.Reader{Source: rw.Reader, State: ws.StateServerSide, MaxFrameSize: wire.MaxFrame, OnIntermediate: c.control}
	for {
		if sess.WaitRaw(ctx) != nil {
			return // the writer failed: the connection is closed
		}
		data, text, err := c.next(rd)
		if err != nil {
			var perr ws.ProtocolError
			switch {
			case errors.Is(err, wsutil.ErrFrameTooLarge):
				c.closeWith(ws.StatusMessageTooBig, "message over 64 KiB")
			case errors.As(err, &perr):
				c.closeWith(ws.StatusProtocolError, perr.Error())
			default:
				return // the peer closed (and got its reply), or the conn failed
			}
			io.Copy(io.Discard, rw.Reader) // until the client closes too, or closeWait
			return
		}
		if !text {
			sess.PushRaw(errorFrame("frames must be JSON text"))
			continue
		}
		msg, err := wire.DecodeClient(data)
		if err != nil {
			sess.PushRaw(errorFrame(err.Error()))
			continue
		}
		gid, _ := wire.ParseID(msg.GuildID)
		o := s.owner(gid)
		if o == nil {
			sess.PushRaw(errorFrame("unknown guild " + msg.GuildID))
			continue
		}
		// Begin runs on o's goroutine, with the Subscribe: a Do that fails
		// (busy) must leave the old subscription as it was. Frames that the
		// old guild pushes after Begin are refused; it is left afterwards.
		if err := o.Do(ctx, func(*guild.List) { o.Subscribe(sess, sess.Begin(), msg.Ranges) }); err != nil {
			if errors.Is(err, guild.ErrBusy) {
				sess.PushRaw(errorFrame("guild is busy, subscribe again later"))
				continue
			}
			c.closeWith(ws.StatusGoingAway, "server shutting down") // the owner has stopped
			io.Copy(io.Discard, rw.Reader)
			return
		}
		if cur != nil && cur != o {
			unsubscribe(cur, sess)
		}
		cur = o
	}
}

// checkUpgrade returns the status and message of the error reply to r when
// r is not a WebSocket handshake (RFC 6455 §4.2.1), or 0. ws.UpgradeHTTP
// checks the same, but answers in plain text, and every error here is JSON.
func checkUpgrade(r *http.Request) (code int, msg string) {
	key, err := base64.StdEncoding.DecodeString(r.Header.Get("Sec-WebSocket-Key"))
	switch {
	case r.Method != http.MethodGet:
		return http.StatusMethodNotAllowed, "the gateway handshake is a GET"
	case !hasToken(r.Header, "Upgrade", "websocket"):
		return http.StatusBadRequest, "the gateway needs a WebSocket upgrade (Upgrade: websocket)"
	case !hasToken(r.Header, "Connection", "upgrade"):
		return http.StatusBadRequest, "the gateway needs Connection: Upgrade"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return http.StatusUpgradeRequired, "the gateway speaks WebSocket version 13"
	case err != nil || len(key) != 16:
		return http.StatusBadRequest, "Sec-WebSocket-Key is not 16 bytes in base64"
	}
	return 0, ""
}

// hasToken reports whether a comma-separated list in the name headers of h
// holds token, ignoring case.
func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// unsubscribe removes sess from o. It waits out a busy inbox rather than give
// up: a session left registered would be fed by the owner for ever.
func unsubscribe(o *guild.Owner, sess *guild.Session) {
	doWhenFree(o, func(*guild.List) { o.Unsubscribe(sess) })
}

// doWhenFree runs fn on o's goroutine, waiting out a busy inbox; it returns
// without running fn only when o has stopped.
func doWhenFree(o *guild.Owner, fn func(*guild.List)) {
	for errors.Is(o.Do(context.Background(), fn), guild.ErrBusy) {
	}
}

// writerPool sends every session's queued frames with a fixed set of
// goroutines. A goroutine per session made each flush to thousands of
// sessions wake thousands of writers at once; they filled the run queue, and
// the owner goroutines and HTTP handlers waited behind all of them (presence
// posts took 40 ms in the server at 5,000 sessions), besides the cost of
// parking and waking each. The pool's goroutines take ready sessions off one
// channel instead, and never wait for a socket (see writeFrames), so a few
// are enough.
type writerPool struct {
	ready chan *outbox
}

// newWriterPool starts n writers that stop with ctx; up to queue sessions
// can wait for one.
func newWriterPool(ctx context.Context, n, queue int) *writerPool {
	p := &writerPool{ready: make(chan *outbox, queue)}
	for range n {
		go func() {
			for {
				select {
				case o := <-p.ready:
					o.write()
					// While sessions are ready a writer never blocks; let
					// the owners and HTTP handlers in between writes rather
					// than once per 10 ms preemption.
					runtime.Gosched()
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	return p
}

// schedule puts o on the ready channel unless it is there or being written:
// a session is written by one writer at a time, which keeps its frames in
// order.
func (p *writerPool) schedule(o *outbox) {
	if o.scheduled.CompareAndSwap(false, true) {
		p.ready <- o
	}
}

// outbox is a session's writing side: its queue, its connection and the seq
// of its last update, which only the writer holding it touches.
type outbox struct {
	sess      *guild.Session
	c         *wsConn
	pool      *writerPool
	fail      func() // ends the session's reader when a write fails
	seq       int64
	frames    []*guild.Frame
	doneFn    func(error) // o.done, made once: a method value passed on allocates
	scheduled atomic.Bool
}

// newOutbox returns the outbox of the session that will write to c; fail is
// called when a write fails. Its caller sets sess.
func newOutbox(c *wsConn, pool *writerPool, fail func()) *outbox {
	o := &outbox{c: c, pool: pool, fail: fail}
	o.doneFn = o.done
	return o
}

// write sends what o's session has queued, numbering updates 1, 2, 3...:
// seq is given at write time, so frames dropped from the queue leave no gap.
func (o *outbox) write() {
	o.frames = o.sess.Take(o.frames[:0])
	if len(o.frames) == 0 {
		o.done(nil)
		return
	}
	o.c.writeFrames(o.frames, &o.seq, o.doneFn)
}

// done ends a write of o: frames queued meanwhile make it schedule o again.
func (o *outbox) done(err error) {
	if err != nil && !errors.Is(err, errClosing) {
		o.c.conn.Close() // the reader sees it and ends the session
		o.fail()         // or, waiting in WaitRaw, sees this
	}
	clear(o.frames) // let the bodies go
	o.scheduled.Store(false)
	if o.sess.Len() > 0 {
		o.pool.schedule(o)
	}
}

// wsConn writes the server's frames of one WebSocket. Its mutex keeps frames
// whole: the writer sends updates, the reader pongs and close replies.
type wsConn struct {
	conn    net.Conn
	mu      sync.Mutex
	closing bool          // a close frame was sent: nothing may follow it
	timeout time.Duration // of a write that waits for the socket
	heads   []byte
	ends    []int
	bufs    net.Buffers

	// The raw connection and the writev callback of tryWrite, made once
	// rather than allocated for each write (a write per frame and session
	// is the server's hot path); the callback's arguments and results go
	// through wbufs, wn and werr.
	rc     syscall.RawConn // nil when conn is not a socket
	writev func(fd uintptr) bool
	wbufs  net.Buffers
	wn     int
	werr   error
}

// newWSConn returns the writing side of conn. A conn that is not a socket,
// whose raw connection is not available, or on a system without writev, has
// no rc: tryWrite leaves all of a write to conn.Write.
func newWSConn(conn net.Conn) *wsConn {
	c := &wsConn{conn: conn, timeout: writeTimeout}
	c.useWritev(conn)
	return c
}

// errClosing is returned by writes after a close frame.
var errClosing = errors.New("gateway: connection is closing")

// writeFrames sends frames as WebSocket text messages with one writev: for
// each, a head made here (frame header, and for an update the prefix with
// its seq, seq+1 for the first) and then its body, shared with every other
// session that gets it. *seq is the seq of the last update sent: it is
// advanced before done is called, once the batch is out or failed. That is at once when the socket takes the
// whole batch; otherwise a goroutine of its own finishes the write (the
// connection stays locked until then), so a client that does not read never
// holds a pool writer.
func (c *wsConn) writeFrames(frames []*guild.Frame, seq *int64, done func(error)) {
	if !c.mu.TryLock() {
		// The reader holds the connection for a pong or a close frame, a
		// write that may wait for the socket up to c.timeout: wait for it
		// on a goroutine of our own, not on the pool's writer.
		go func() {
			c.mu.Lock()
			c.writeFramesLocked(frames, seq, done)
		}()
		return
	}
	c.writeFramesLocked(frames, seq, done)
}

// writeFramesLocked is writeFrames with c.mu held; it unlocks it.
func (c *wsConn) writeFramesLocked(frames []*guild.Frame, seq *int64, done func(error)) {
	if c.closing {
		c.mu.Unlock()
		done(errClosing)
		return
	}
	c.heads, c.ends = c.heads[:0], c.ends[:0]
	var pre [64]byte
	for _, f := range frames {
		if !f.Raw {
			*seq++
		}
		p := guild.AppendPrefix(pre[:0], f, *seq)
		c.heads = append(appendTextHeader(c.heads, len(p)+len(f.Body)), p...)
		c.ends = append(c.ends, len(c.heads))
	}
	start := 0
	for i, f := range frames {
		c.bufs = append(c.bufs, c.heads[start:c.ends[i]], f.Body)
		start = c.ends[i]
	}
	rest, err := c.tryWrite(c.bufs)
	if err != nil || len(rest) == 0 {
		c.finish(err, done)
		return
	}
	go func() {
		c.finish(c.blocking(func() error {
			_, err := rest.WriteTo(c.conn)
			return err
		}), done)
	}()
}

// finish ends writeFrames: it lets go of the bodies, unlocks the connection
// and reports to done.
func (c *wsConn) finish(err error, done func(error)) {
	clear(c.bufs)
	c.bufs = c.bufs[:0]
	c.mu.Unlock()
	done(err)
}

// tryWrite makes one writev of bufs that does not wait for the socket, and
// returns what it could not write. On a conn that is not a socket it writes
// nothing.
func (c *wsConn) tryWrite(bufs net.Buffers) (net.Buffers, error) {
	if c.rc == nil {
		return bufs, nil
	}
	c.wbufs = bufs
	err := c.rc.Write(c.writev)
	n, werr := c.wn, c.werr
	c.wbufs, c.werr = nil, nil
	if err != nil {
		return nil, err
	}
	if werr != nil {
		return nil, werr
	}
	for len(bufs) > 0 && n >= len(bufs[0]) { // drop what was written
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs, nil
}

// appendTextHeader appends the header of an unmasked, final text frame with
// an n-byte payload (RFC 6455 §5.2: 7-bit length, or 126 and 16 bits, or 127
// and 64 bits, big-endian).
func appendTextHeader(dst []byte, n int) []byte {
	const finText = 0x80 | byte(ws.OpText)
	switch {
	case n < 126:
		return append(dst, finText, byte(n))
	case n < 1<<16:
		return append(dst, finText, 126, byte(n>>8), byte(n))
	}
	dst = append(dst, finText, 127)
	for shift := 56; shift >= 0; shift -= 8 {
		dst = append(dst, byte(n>>shift))
	}
	return dst
}

// writeControl sends one control frame.
func (c *wsConn) writeControl(f ws.Frame) error {
	b, err := ws.CompileFrame(f)
	if err != nil {
		return err
	}
	return c.blocking(func() error {
		_, err := c.conn.Write(b)
		return err
	})
}

// blocking runs write, a write that may wait for the socket, under a
// deadline of c.timeout. The deadline is cleared afterwards: tryWrite
// also honours it, and would fail on a deadline left over from a write long
// done.
func (c *wsConn) blocking(write func() error) error {
	c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	err := write()
	c.conn.SetWriteDeadline(time.Time{})
	return err
}

// closeWith starts the closing handshake with code, unless a close frame was
// sent already, and gives the client closeWait to answer.
func (c *wsConn) closeWith(code ws.StatusCode, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.closing = true
	c.writeControl(ws.NewCloseFrame(ws.NewCloseFrameBody(code, reason)))
	c.conn.SetReadDeadline(time.Now().Add(closeWait))
}

// control answers a control frame: a ping with a pong, a close with a close
// (echoing its code) and then wsutil.ClosedError.
func (c *wsConn) control(h ws.Header, r io.Reader) error {
	p, err := io.ReadAll(r) // at most 125 bytes: the reader checked the header
	if err != nil {
		return err
	}
	switch h.OpCode {
	case ws.OpPing:
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closing {
			return nil
		}
		return c.writeControl(ws.NewPongFrame(p))
	case ws.OpClose:
		code, reason := ws.ParseCloseFrameData(p)
		c.mu.Lock()
		if !c.closing {
			c.closing = true
			body := []byte(nil)
			if !code.Empty() {
				body = ws.NewCloseFrameBody(code, "")
			}
			c.writeControl(ws.NewCloseFrame(body))
		}
		c.mu.Unlock()
		return wsutil.ClosedError{Code: code, Reason: reason}
	}
	return nil // pong
}

// next returns the next data message, answering control frames on the way;
// text tells a text message from a binary one. A message over wire.MaxFrame
// bytes, in one frame or several, is wsutil.ErrFrameTooLarge.
func (c *wsConn) next(rd *wsutil.Reader) (data []byte, text bool, err error) {
	for {
		h, err := rd.NextFrame()
		if err != nil {
			return nil, false, err
		}
		if h.OpCode.IsControl() {
			if err := c.control(h, rd); err != nil {
				return nil, false, err
			}
			continue
		}
		data, err = io.ReadAll(io.LimitReader(rd, wire.MaxFrame+1))
		if err == nil && len(data) > wire.MaxFrame {
			err = wsutil.ErrFrameTooLarge
		}
		return data, h.OpCode == ws.OpText, err
	}
}
