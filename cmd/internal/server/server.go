// Package server is guildd's HTTP API and WebSocket gateway over the guild
// owners and the store. See cmd/guildd for the routes.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/bucketed/sortedset/cmd/internal/guild"
	"github.com/bucketed/sortedset/cmd/internal/store"
	"github.com/bucketed/sortedset/cmd/internal/wire"
)

// Limits of the HTTP API.
const (
	MaxBody      = 1 << 20 // request body bytes; more is a 413
	MaxNameLen   = 100     // bytes of a guild, role or member name
	MaxRoles     = 250     // roles of a guild, and of a member
	MaxPresences = 10000   // entries of a presences batch; more is a 413
	MaxListCount = 1000
)

// Config tunes a Server; zero fields take the defaults.
type Config struct {
	MaxSessions  int           // concurrent gateway sessions; more get 429 (default 20,000)
	MaxMembers   int           // members per guild; joining a full guild is a 409 (default 10,000,000)
	QueueLen     int           // frames a session may have queued before it is resynchronised (default 256)
	BodyTimeout  time.Duration // time a client has to send a request body; a slower one gets 408 (default 30 s)
	ReplyTimeout time.Duration // time, from a handler's start, for the client to take its reply; then the connection closes (default 60 s; not WebSocket sessions)
	Index        http.Handler  // served at GET / (default: a line of text)
}

// Server holds the guilds. Make one with New, serve Handler, end with Close.
type Server struct {
	cfg     Config
	store   *store.Store
	metrics guild.Metrics

	mu     sync.RWMutex // guards guilds (the registry only; each guild has its owner)
	guilds map[uint64]*guild.Owner

	sessions  atomic.Int64
	writers   *writerPool
	sessWG    sync.WaitGroup
	ctx       context.Context // cancelled by Close: sessions end
	cancel    context.CancelFunc
	hist      map[string]*histogram
	handler   http.Handler
	closeOnce sync.Once

	rollbackOnce sync.Once
}

// New loads every guild from st and bulk-builds its list.
func New(st *store.Store, cfg Config) (*Server, error) {
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 20000
	}
	if cfg.MaxMembers <= 0 {
		cfg.MaxMembers = 10_000_000
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 256
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = 30 * time.Second
	}
	if cfg.ReplyTimeout <= 0 {
		cfg.ReplyTimeout = 60 * time.Second
	}
	s := &Server{cfg: cfg, store: st, guilds: map[uint64]*guild.Owner{}, hist: map[string]*histogram{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	// Each session is on the ready channel at most once; a session that has
	// ended may still be on it while its successor is admitted, hence twice.
	s.writers = newWriterPool(s.ctx, writers, 2*cfg.MaxSessions)
	// Loading allocates a lot that stays live; collecting while the heap
	// grows from nothing would scan it again and again.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	err := st.Load(func(g *store.Guild) error {
		l := guild.NewList(g.ID, g.Name, g.Roles, g.Members)
		s.guilds[g.ID] = guild.NewOwner(l, &s.metrics)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The decoded records are garbage now; hand their pages back so the
	// resident size after start-up is what the sets and maps really hold.
	debug.FreeOSMemory()
	s.routes()
	return s, nil
}

// Handler is the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.handler }

// Close ends every session (close code 1001), stops the owners and commits
// what the store has queued. It does not close the store.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.sessWG.Wait()
		s.mu.Lock()
		for _, o := range s.guilds {
			o.Stop()
		}
		s.mu.Unlock()
	})
}

func (s *Server) routes() {
	mux := http.NewServeMux()
	h := func(pattern string, methods map[string]http.HandlerFunc) {
		hs := s.timed(pattern)
		allow := ""
		for m := range methods {
			if allow != "" {
				allow += ", "
			}
			allow += m
		}
		mux.Handle(pattern, hs(func(w http.ResponseWriter, r *http.Request) {
			fn, ok := methods[r.Method]
			if !ok && r.Method == http.MethodHead {
				fn, ok = methods[http.MethodGet]
			}
			if !ok {
				w.Header().Set("Allow", allow)
				writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; allowed: "+allow)
				return
			}
			fn(w, r)
		}))
	}
	h("/healthz", map[string]http.HandlerFunc{"GET": func(w http.ResponseWriter, r *http.Request) {
		if err := s.store.Err(); err != nil { // writes are refused from now on
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "failing", "error": err.Error()})
			return
		}
		writeJSON(w, 200, map[string]string{"status": "ok"})
	}})
	h("/metrics", map[string]http.HandlerFunc{"GET": s.serveMetrics})
	h("/guilds", map[string]http.HandlerFunc{"GET": s.listGuilds})
	h("/guilds/{guild}", map[string]http.HandlerFunc{"GET": s.getGuild, "PUT": s.putGuild})
	h("/guilds/{guild}/members/{user}", map[string]http.HandlerFunc{"GET": s.getMember, "PUT": s.putMember, "DELETE": s.deleteMember})
	h("/guilds/{guild}/presences", map[string]http.HandlerFunc{"POST": s.postPresences})
	h("/guilds/{guild}/list", map[string]http.HandlerFunc{"GET": s.getList})
	h("/gateway", map[string]http.HandlerFunc{"GET": s.gateway})
	mux.HandleFunc("/guilds/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such route")
	})
	index := s.cfg.Index
	if index == nil {
		index = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/" {
				writeError(w, http.StatusNotFound, "no such route")
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, "guildd: see /guilds, /guilds/{id}/list and /gateway\n")
		})
	}
	mux.Handle("/", index)
	s.handler = s.deadlines(mux)
}

// deadlines bounds how long a client can hold a request's goroutine and
// connection. Its body gets BodyTimeout to arrive, whether or not its
// handler reads it: net/http reads the rest of a body that a handler left
// (up to 256 KiB) before it sends the reply, so a request refused before its
// body was read (unknown guild, bad id, wrong method) and whose body stalls
// would otherwise wait for ever, unanswered. A handler that reads the whole
// body (decodeBody) clears that deadline. The reply gets ReplyTimeout: a
// client that does not read it would otherwise block the handler's write
// for ever. The gateway's hijacked connections start without either (net/http
// clears them) and set their own.
func (s *Server) deadlines(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ErrNotSupported (a ResponseWriter that is not a connection's)
		// leaves the connection without deadlines.
		rc := http.NewResponseController(w)
		if r.Body != nil && r.Body != http.NoBody {
			_ = rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
		}
		_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.ReplyTimeout))
		h.ServeHTTP(w, r)
	})
}

// errorBody is every error response: {"error": "..."}.
type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{msg})
}

// httpError carries a status to the handler's single error exit.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &httpError{code, fmt.Sprintf(format, args...)}
}

// reply writes err as its status, or v as 200.
func reply(w http.ResponseWriter, v any, err error) {
	var he *httpError
	switch {
	case err == nil:
		writeJSON(w, 200, v)
	case errors.As(err, &he):
		writeError(w, he.code, he.msg)
	case errors.Is(err, guild.ErrBusy):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "guild is busy, retry later")
	default:
		writeError(w, http.StatusServiceUnavailable, err.Error())
	}
}

// decodeBody reads one JSON value of at most MaxBody bytes into v. The body
// must be valid UTF-8: encoding/json would quietly turn bad bytes into U+FFFD.
// It must arrive within BodyTimeout (set by deadlines): a client
// trickling its body would otherwise hold a goroutine and a connection for as
// long as it liked (the http.Server's ReadHeaderTimeout covers only the
// headers).
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	// A body read whole ends the deadline: left in place, it would fail the
	// server's read for a client going away, which cancels the request's
	// context, in a handler that takes longer. After an error it stays, and
	// bounds the server's draining of the rest of the body too.
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(http.StatusRequestEntityTooLarge, "body over %d bytes", MaxBody)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fail(http.StatusRequestTimeout, "body not received within %v", s.cfg.BodyTimeout)
		}
		return fail(http.StatusBadRequest, "reading body: %v", err)
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	if !utf8.Valid(data) || hasLoneSurrogate(data) {
		return fail(http.StatusBadRequest, "body is not UTF-8")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fail(http.StatusBadRequest, "bad JSON body: %v", err)
	}
	return nil
}

// hasLoneSurrogate reports whether data has a \u escape of a UTF-16
// surrogate that is not a high one followed by a \u escape of a low one:
// encoding/json would quietly decode it to U+FFFD. A backslash can only be
// inside a string in valid JSON, and json.Unmarshal checks the rest.
func hasLoneSurrogate(data []byte) bool {
	hex4 := func(i int) (rune, bool) { // the 4 hex digits of a \u escape at data[i]
		if i+6 > len(data) || data[i] != '\\' || data[i+1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(string(data[i+2:i+6]), 16, 16)
		return rune(v), err == nil
	}
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' || i+1 >= len(data) {
			continue
		}
		if data[i+1] != 'u' {
			i++ // a two-byte escape such as \\ or \"
			continue
		}
		r, ok := hex4(i)
		if !ok {
			continue // not JSON: Unmarshal says so
		}
		switch {
		case r >= 0xd800 && r < 0xdc00:
			if lo, ok := hex4(i + 6); !ok || lo < 0xdc00 || lo >= 0xe000 {
				return true
			}
			i += 11
		case r >= 0xdc00 && r < 0xe000:
			return true
		default:
			i += 5
		}
	}
	return false
}

func checkName(what, s string) error {
	if s == "" || len(s) > MaxNameLen || !utf8.ValidString(s) {
		return fail(http.StatusBadRequest, "%s must be 1 to %d bytes of UTF-8", what, MaxNameLen)
	}
	return nil
}

func pathID(r *http.Request, name string) (uint64, error) {
	id, err := wire.ParseID(r.PathValue(name))
	if err != nil {
		return 0, fail(http.StatusBadRequest, "%s id: %v", name, err)
	}
	return id, nil
}

func (s *Server) owner(id uint64) *guild.Owner {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.guilds[id]
}

// guildOf parses {guild} and finds its owner (404 if none).
func (s *Server) guildOf(r *http.Request) (uint64, *guild.Owner, error) {
	id, err := pathID(r, "guild")
	if err != nil {
		return 0, nil, err
	}
	o := s.owner(id)
	if o == nil {
		return id, nil, fail(http.StatusNotFound, "unknown guild %d", id)
	}
	return id, o, nil
}

// wait waits for a store commit.
func wait(ctx context.Context, done <-chan error) error {
	if done == nil {
		return nil
	}
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("not stored: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// committed waits for a store commit of a change already made in memory. If
// the commit failed, the memory is ahead of the disk (the write is refused,
// and so were the others of its commit and every one queued after it), so
// every list is brought back to what the store holds before answering.
func (s *Server) committed(ctx context.Context, done <-chan error) error {
	err := wait(ctx, done)
	switch {
	case err == nil:
	case err == ctx.Err(): // the client left before the commit: roll back if it fails
		go func() {
			if <-done != nil {
				s.rollback()
			}
		}()
	case s.store.Err() != nil:
		s.rollback()
	}
	return err
}

// rollback makes every guild what the store holds (once: the store takes no
// writes after a failed commit, so it cannot change again). A closure that
// changed a list is either done before the owner runs this one, and undone
// by it, or runs after it and sees the store's error and changes nothing.
func (s *Server) rollback() {
	s.rollbackOnce.Do(func() {
		stored := map[uint64]*store.Guild{}
		if err := s.store.Load(func(g *store.Guild) error { stored[g.ID] = g; return nil }); err != nil {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.ctx.Err() != nil {
			return // Close stops every owner (or has), and an owner can be stopped only once
		}
		for id, o := range s.guilds {
			g := stored[id]
			if g == nil { // created by a refused PUT /guilds
				// Its sessions are told, or they would wait for updates
				// that never come.
				gone := errorFrame(fmt.Sprintf("guild %d is gone: its creation was not stored", id))
				doWhenFree(o, func(*guild.List) { o.Evict(gone) })
				delete(s.guilds, id)
				o.Stop()
				continue
			}
			doWhenFree(o, func(l *guild.List) { l.Restore(g.Name, g.Roles, g.Members) })
		}
	})
}

// --- guilds ---

type roleJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Position int    `json:"position"`
	Hoist    bool   `json:"hoist"`
}

type guildJSON struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	MemberCount int          `json:"member_count"`
	OnlineCount int          `json:"online_count"`
	Size        int          `json:"size"`
	Groups      []wire.Group `json:"groups"`
	Roles       []roleJSON   `json:"roles"`
}

func describe(l *guild.List) guildJSON {
	g := guildJSON{ID: wire.FormatID(l.ID), Name: l.Name, MemberCount: l.MemberCount(), OnlineCount: l.OnlineCount(),
		Size: l.Size(), Groups: l.Groups(), Roles: []roleJSON{}}
	for _, r := range l.Roles {
		g.Roles = append(g.Roles, roleJSON{wire.FormatID(r.ID), r.Name, r.Position, r.Hoist})
	}
	return g
}

func (s *Server) getGuild(w http.ResponseWriter, r *http.Request) {
	_, o, err := s.guildOf(r)
	var g guildJSON
	if err == nil {
		err = o.Do(r.Context(), func(l *guild.List) { g = describe(l) })
	}
	reply(w, g, err)
}

type guildSummary struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	MemberCount int    `json:"member_count"`
}

func (s *Server) owners() []*guild.Owner {
	s.mu.RLock()
	defer s.mu.RUnlock()
	os := make([]*guild.Owner, 0, len(s.guilds))
	for _, o := range s.guilds {
		os = append(os, o)
	}
	return os
}

func (s *Server) listGuilds(w http.ResponseWriter, r *http.Request) {
	out := []guildSummary{}
	for _, o := range s.owners() {
		var g guildSummary
		if err := o.Do(r.Context(), func(l *guild.List) {
			g = guildSummary{wire.FormatID(l.ID), l.Name, l.MemberCount()}
		}); err != nil {
			reply(w, nil, err)
			return
		}
		out = append(out, g)
	}
	sortSummaries(out)
	writeJSON(w, 200, map[string]any{"guilds": out})
}

func parseRoles(in []roleJSON) ([]guild.Role, error) {
	if len(in) > MaxRoles {
		return nil, fail(http.StatusBadRequest, "at most %d roles", MaxRoles)
	}
	roles := make([]guild.Role, 0, len(in))
	seen := map[uint64]bool{}
	for _, r := range in {
		id, err := wire.ParseID(r.ID)
		if err != nil {
			return nil, fail(http.StatusBadRequest, "role id %q: %v", r.ID, err)
		}
		if seen[id] {
			return nil, fail(http.StatusBadRequest, "duplicate role id %d", id)
		}
		seen[id] = true
		if err := checkName("role name", r.Name); err != nil {
			return nil, err
		}
		roles = append(roles, guild.Role{ID: id, Name: r.Name, Position: r.Position, Hoist: r.Hoist})
	}
	return roles, nil
}

func (s *Server) putGuild(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name  *string    `json:"name"`
		Roles []roleJSON `json:"roles"`
	}
	id, err := pathID(r, "guild")
	if err == nil {
		err = s.decodeBody(w, r, &body)
	}
	if err == nil && body.Name == nil {
		err = fail(http.StatusBadRequest, "name is required")
	}
	if err == nil {
		err = checkName("name", *body.Name)
	}
	var roles []guild.Role
	if err == nil {
		roles, err = parseRoles(body.Roles)
	}
	if err != nil {
		reply(w, nil, err)
		return
	}
	var g guildJSON
	var done <-chan error
	s.mu.Lock()
	o := s.guilds[id]
	if err := s.store.Err(); err != nil { // memory must not run ahead of a store that takes no writes
		s.mu.Unlock()
		reply(w, nil, err)
		return
	}
	if o == nil {
		// Queue the guild record while holding the registry lock: no member
		// write can be queued for this guild before it.
		done = s.store.PutGuild(id, *body.Name, roles)
		l := guild.NewList(id, *body.Name, roles, nil)
		o = guild.NewOwner(l, &s.metrics)
		s.guilds[id] = o
		s.mu.Unlock()
		err = o.Do(r.Context(), func(l *guild.List) { g = describe(l) })
	} else {
		s.mu.Unlock()
		var ferr error
		err = o.Do(r.Context(), func(l *guild.List) {
			if ferr = s.store.Err(); ferr != nil {
				return
			}
			l.SetGuild(*body.Name, roles)
			done = s.store.PutGuild(id, *body.Name, roles)
			g = describe(l)
		})
		if err == nil {
			err = ferr
		}
	}
	// Watched even when the Do failed: a new guild's record was queued
	// before it, and a failed commit must still roll the guild back.
	if cerr := s.committed(r.Context(), done); err == nil {
		err = cerr
	}
	reply(w, g, err)
}

// --- members ---

type memberBody struct {
	Name   *string  `json:"name"`
	Roles  []string `json:"roles"`
	Status *string  `json:"status"`
}

func parseRoleIDs(in []string) ([]uint64, error) {
	if len(in) > MaxRoles {
		return nil, fail(http.StatusBadRequest, "at most %d roles", MaxRoles)
	}
	out := make([]uint64, 0, len(in))
	for _, s := range in {
		id, err := wire.ParseID(s)
		if err != nil {
			return nil, fail(http.StatusBadRequest, "role id %q: %v", s, err)
		}
		for _, x := range out {
			if x == id {
				return nil, fail(http.StatusBadRequest, "duplicate role id %d", id)
			}
		}
		out = append(out, id)
	}
	return out, nil
}

func parseStatus(s string) (guild.Status, error) {
	st, ok := guild.ParseStatus(s)
	if !ok {
		return 0, fail(http.StatusBadRequest, "status must be online, idle, dnd or offline, not %q", s)
	}
	return st, nil
}

type indexJSON struct {
	Index int `json:"index"`
}

// putMember joins or updates; the reply waits for the commit.
func (s *Server) putMember(w http.ResponseWriter, r *http.Request) {
	var body memberBody
	gid, o, err := s.guildOf(r)
	var uid uint64
	if err == nil {
		uid, err = pathID(r, "user")
	}
	if err == nil {
		err = s.decodeBody(w, r, &body)
	}
	if err == nil && body.Name == nil {
		err = fail(http.StatusBadRequest, "name is required")
	}
	if err == nil {
		err = checkName("name", *body.Name)
	}
	var roles []uint64
	if err == nil {
		roles, err = parseRoleIDs(body.Roles)
	}
	st, keep := guild.Offline, body.Status == nil
	if err == nil && !keep {
		st, err = parseStatus(*body.Status)
	}
	if err != nil {
		reply(w, nil, err)
		return
	}
	var idx int
	var done <-chan error
	var ferr error // the closure's verdict; Do's own error is about running it
	err = o.Do(r.Context(), func(l *guild.List) {
		if ferr = s.store.Err(); ferr != nil {
			return
		}
		old, had := l.Get(uid)
		if !had && l.MemberCount() >= s.cfg.MaxMembers {
			ferr = fail(http.StatusConflict, "guild is full (%d members)", s.cfg.MaxMembers)
			return
		}
		if keep && had {
			st = old.Status // presence is not the PUT's business unless given
		}
		m := guild.Member{ID: uid, Name: *body.Name, Roles: roles, Status: st}
		var uerr error
		if idx, uerr = l.Upsert(m); uerr != nil {
			ferr = fail(http.StatusBadRequest, "%v", uerr)
			return
		}
		done = s.store.PutMember(gid, m)
	})
	if err == nil {
		err = ferr
	}
	if err == nil {
		err = s.committed(r.Context(), done)
	}
	reply(w, indexJSON{idx}, err)
}

func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request) {
	gid, o, err := s.guildOf(r)
	var uid uint64
	if err == nil {
		uid, err = pathID(r, "user")
	}
	if err != nil {
		reply(w, nil, err)
		return
	}
	var idx int
	var done <-chan error
	var ferr error // the closure's verdict; Do's own error is about running it
	err = o.Do(r.Context(), func(l *guild.List) {
		if ferr = s.store.Err(); ferr != nil {
			return
		}
		var ok bool
		if idx, ok = l.Remove(uid); !ok {
			ferr = fail(http.StatusNotFound, "unknown member %d", uid)
			return
		}
		done = s.store.DeleteMember(gid, uid)
	})
	if err == nil {
		err = ferr
	}
	if err == nil {
		err = s.committed(r.Context(), done)
	}
	reply(w, indexJSON{idx}, err)
}

type memberJSON struct {
	wire.Member
	Index int `json:"index"`
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request) {
	_, o, err := s.guildOf(r)
	var uid uint64
	if err == nil {
		uid, err = pathID(r, "user")
	}
	var out memberJSON
	if err == nil {
		var ferr error
		err = o.Do(r.Context(), func(l *guild.List) {
			i, ok := l.IndexOf(uid)
			if !ok {
				ferr = fail(http.StatusNotFound, "unknown member %d", uid)
				return
			}
			out = memberJSON{*l.ItemAt(i).Member, i}
		})
		if err == nil {
			err = ferr
		}
	}
	reply(w, out, err)
}

func (s *Server) postPresences(w http.ResponseWriter, r *http.Request) {
	var body []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	_, o, err := s.guildOf(r)
	if err == nil {
		err = s.decodeBody(w, r, &body)
	}
	if err == nil && len(body) > MaxPresences {
		err = fail(http.StatusRequestEntityTooLarge, "at most %d presences per batch", MaxPresences)
	}
	type change struct {
		id uint64
		st guild.Status
	}
	changes := make([]change, 0, len(body))
	for _, p := range body {
		if err != nil {
			break
		}
		var c change
		if c.id, err = wire.ParseID(p.ID); err != nil {
			err = fail(http.StatusBadRequest, "member id %q: %v", p.ID, err)
			break
		}
		c.st, err = parseStatus(p.Status)
		changes = append(changes, c)
	}
	if err != nil {
		reply(w, nil, err)
		return
	}
	var res struct {
		Updated int `json:"updated"`
		Unknown int `json:"unknown"` // ids that are not members (they may have just left)
	}
	err = o.Do(r.Context(), func(l *guild.List) {
		for _, c := range changes {
			if l.SetStatus(c.id, c.st) {
				res.Updated++
			} else {
				res.Unknown++
			}
		}
	})
	reply(w, res, err)
}

func (s *Server) getList(w http.ResponseWriter, r *http.Request) {
	_, o, err := s.guildOf(r)
	q := r.URL.Query()
	start, e1 := strconv.Atoi(q.Get("start"))
	count, e2 := strconv.Atoi(q.Get("count"))
	if err == nil && (e1 != nil || e2 != nil || start < 0 || count < 1 || count > MaxListCount) {
		err = fail(http.StatusBadRequest, "start must be an integer >= 0 and count an integer from 1 to %d", MaxListCount)
	}
	var out struct {
		Size  int         `json:"size"`
		Start int         `json:"start"`
		Items []wire.Item `json:"items"`
	}
	if err == nil {
		err = o.Do(r.Context(), func(l *guild.List) {
			out.Size, out.Start, out.Items = l.Size(), start, l.Window(start, count)
		})
	}
	reply(w, out, err)
}

// timed wraps a route's handler with its latency histogram.
func (s *Server) timed(route string) func(http.HandlerFunc) http.Handler {
	h := newHistogram()
	s.hist[route] = h
	return func(fn http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t := time.Now()
			fn(w, r)
			if route != "/gateway" { // a gateway request lasts as long as its session
				h.observe(time.Since(t))
			}
		})
	}
}
