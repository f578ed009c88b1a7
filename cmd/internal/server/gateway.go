package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/bucketed/sortedset/cmd/internal/guild"
	"github.com/bucketed/sortedset/cmd/internal/wire"
)

const writeTimeout = 10 * time.Second

func errorFrame(msg string) []byte {
	b, _ := json.Marshal(struct {
		T       string `json:"t"`
		Message string `json:"message"`
	}{wire.TypeError, msg})
	return b
}

// gateway upgrades to a WebSocket session: a reader goroutine (this one)
// handles subscribes, a writer goroutine drains the session's queue.
func (s *Server) gateway(w http.ResponseWriter, r *http.Request) {
	if s.sessions.Add(1) > int64(s.cfg.MaxSessions) {
		s.sessions.Add(-1)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "too many sessions")
		return
	}
	defer s.sessions.Add(-1)
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the request
	}
	s.sessWG.Add(1)
	defer s.sessWG.Done()
	c.SetReadLimit(wire.MaxFrame) // larger frames: Read fails and the conn closes with 1009

	// The session's own context: cancelling a context given to Read makes
	// the library drop the connection, so shutdown closes it properly (1001)
	// from a watcher instead.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.ctx.Done():
			c.Close(websocket.StatusGoingAway, "server shutting down")
		case <-ctx.Done():
		}
	}()
	sess := guild.NewSession(s.cfg.QueueLen, nil)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop(ctx, c, sess)
		cancel()
	}()

	var cur *guild.Owner
	defer func() {
		if cur != nil {
			cur.Do(context.Background(), func(*guild.List) { cur.Unsubscribe(sess) })
		}
	}()
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			// A too-big frame was already answered with 1009 by Read, a
			// shutdown with 1001 by the watcher.
			cancel()
			c.CloseNow()
			<-writerDone
			return
		}
		if typ != websocket.MessageText {
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
		gen := sess.Begin()
		if cur != nil && cur != o {
			old := cur
			old.Do(ctx, func(*guild.List) { old.Unsubscribe(sess) })
		}
		cur = o
		if err := o.Do(ctx, func(*guild.List) { o.Subscribe(sess, gen, msg.Ranges) }); err != nil {
			if errors.Is(err, guild.ErrBusy) {
				sess.PushRaw(errorFrame("guild is busy, subscribe again later"))
				continue
			}
			c.CloseNow()
			<-writerDone
			return
		}
	}
}

// writeLoop sends queued frames, numbering updates 1, 2, 3...: seq is given
// at write time, so frames dropped from the queue leave no gap.
func (s *Server) writeLoop(ctx context.Context, c *websocket.Conn, sess *guild.Session) {
	var seq int64
	var frames []*guild.Frame
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-sess.Notify():
		}
		frames = sess.Take(frames[:0])
		// One deadline for the whole batch: a context per frame costs more
		// than the frame when thousands of sessions each get a small one.
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		for i, f := range frames {
			if !f.Raw {
				seq++
			}
			buf = guild.AppendMessage(buf[:0], f, seq)
			frames[i] = nil
			if err := c.Write(wctx, websocket.MessageText, buf); err != nil {
				cancel()
				return
			}
		}
		cancel()
	}
}
