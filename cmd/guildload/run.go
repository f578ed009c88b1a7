//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bucketed/sortedset/cmd/internal/wire"
)

// Config is one load run.
type Config struct {
	Addr             string
	Spawn            bool
	Guildd           string
	Guild            uint64
	Members          int
	Workers          int
	Sessions         int
	Rate             float64
	Duration         time.Duration
	HotFrac          float64
	HotMembers       int
	ChurnWorkers     int
	PresenceDuration time.Duration
	PresenceBatch    int
	PresenceWorkers  int
	Progress         time.Duration
	SkipRestart      bool
	PID              int
	Quiesce          time.Duration // longest wait for sessions to go quiet (default 60 s)
	SweepRates       []float64     // churn phases run before the main one, each checked
	Snapshot         string        // with Spawn: a copy of the populated store to reuse (made when missing)
	SweepDuration    time.Duration
	GuilddPprof      string // with Spawn: guildd's -pprof address
	Out              io.Writer
}

func defaultConfig() Config {
	return Config{Addr: "127.0.0.1:8080", Guild: 777, Members: 100_000, Workers: 128, Sessions: 500, Rate: 1000,
		Duration: 20 * time.Second, HotFrac: 0.05, HotMembers: 40, ChurnWorkers: 256, PresenceDuration: 5 * time.Second,
		PresenceBatch: 10_000, PresenceWorkers: 4, Progress: 5 * time.Second, Quiesce: 60 * time.Second}
}

// Report is what a run measured.
type Report struct {
	Members, Sessions                int
	Writes, WriteErrors              int64
	WriteTime                        time.Duration
	PresenceApplied                  int64
	PresenceTime                     time.Duration
	PresenceCheck                    string // "" when GET /guilds/{g} agrees with the blast
	LoadTime                         time.Duration
	LoadLog                          string
	MemAfterLoad, MemEnd             procMem
	ChurnTime                        time.Duration
	ChangesSent, ChangesApplied      int64
	ChangeKinds                      map[string]int64
	HTTPErrors, Behind               int64
	ReqP50, ReqP99                   time.Duration
	Tracked, Deliveries, TopSessions int64
	Lat                              *hist
	Frames, FrameBytes               int64 // received in the main phase (churn and quiesce)
	DecodeHits, DecodeMisses         int64
	SessionFailures                  int64
	FailureSamples                   []string
	Checked, Mismatches              int
	MismatchSamples                  []string
	Quiet                            time.Duration
	QueueDrops, OpsSent              int64
	Command                          string
	Sweep                            []phase // every churn phase, the main one last
}

// phase is one churn phase at one rate.
type phase struct {
	Rate                float64
	Time                time.Duration
	Sent, Applied       int64
	Behind, HTTPErrors  int64
	P50, P99, Max       time.Duration
	Samples             int64
	ReqP50, ReqP99      time.Duration
	FramesPerSec        float64
	Checked, Mismatches int
}

// OK reports whether the consistency checks passed.
func (r *Report) OK() bool {
	return r.Mismatches == 0 && r.SessionFailures == 0 && r.PresenceCheck == ""
}

type runner struct {
	cfg    Config
	out    io.Writer
	api    *api
	addr   string
	srv    *spawned
	gid    string
	rep    *Report
	m      *model
	hot    []*hotSlot
	seq    uint64 // of the last tracked change
	reused bool   // started from cfg.Snapshot: the members exist already
	phase  atomic.Pointer[string]
	prog   atomic.Pointer[func() string]
}

// Run performs every phase and returns the report; err is for failures
// that stopped the run (a partial report may come with it).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Quiesce <= 0 {
		cfg.Quiesce = 60 * time.Second
	}
	if cfg.PresenceBatch <= 0 || cfg.PresenceBatch > 10_000 {
		cfg.PresenceBatch = 10_000
	}
	r := &runner{cfg: cfg, out: cfg.Out, addr: cfg.Addr, gid: strconv.FormatUint(cfg.Guild, 10),
		rep: &Report{Members: cfg.Members, Sessions: cfg.Sessions, ChangeKinds: map[string]int64{}, Lat: &hist{},
			Command: strings.Join(os.Args, " ")}}
	if cfg.Spawn {
		dir, err := os.MkdirTemp("", "guildload-*")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		bin := cfg.Guildd
		if bin == "" {
			r.logf("building guildd")
			if bin, err = buildGuildd(dir); err != nil {
				return nil, err
			}
		}
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		r.addr = addr
		r.srv = &spawned{bin: bin, data: filepath.Join(dir, "data"), addr: addr, logPath: filepath.Join(dir, "guildd.log"), pprof: cfg.GuilddPprof}
		if cfg.Snapshot != "" {
			if _, err := os.Stat(cfg.Snapshot); err == nil {
				r.logf("starting from the snapshot %s (no member writes are measured)", cfg.Snapshot)
				if err := copyFile(cfg.Snapshot, filepath.Join(r.srv.data, "guildd.db")); err != nil {
					return nil, err
				}
				r.reused = true
			}
		}
		if err := r.srv.start(); err != nil {
			return nil, err
		}
		defer func() {
			if err := r.srv.stop(); err != nil {
				r.logf("stopping guildd: %v", err)
			}
		}()
	}
	r.api = newAPI(r.addr, max(cfg.Workers, cfg.ChurnWorkers, cfg.PresenceWorkers)+8)
	stopProg := r.progressLoop()
	defer stopProg()
	err := r.run(ctx)
	return r.rep, err
}

func (r *runner) logf(format string, args ...any) { logLine(r.out, format, args...) }

// logLine writes a progress line stamped with the time of day; a nil w
// takes none.
func logLine(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
}

func (r *runner) setPhase(name string, prog func() string) {
	r.phase.Store(&name)
	r.prog.Store(&prog)
	r.logf("phase: %s", name)
}

func (r *runner) progressLoop() func() {
	if r.cfg.Progress <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.cfg.Progress)
		defer t.Stop()
		lastT, lastSelf, lastSrv, lastPID := time.Now(), cpuTime(0), time.Duration(0), 0
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			p, f := r.phase.Load(), r.prog.Load()
			if p == nil || f == nil || *f == nil {
				continue
			}
			line := (*f)()
			now, self := time.Now(), cpuTime(0)
			el := now.Sub(lastT).Seconds()
			line += fmt.Sprintf(" | cpu: guildload %.0f%%", 100*(self-lastSelf).Seconds()/el)
			if pid := r.serverPID(); pid != 0 {
				srv := cpuTime(pid)
				if pid == lastPID {
					line += fmt.Sprintf(" guildd %.0f%%", 100*(srv-lastSrv).Seconds()/el)
				}
				lastSrv, lastPID = srv, pid
				if m, err := readProcMem(pid); err == nil {
					line += fmt.Sprintf(", rss %d MiB", m.RSS>>20)
				}
			}
			line += " | loadavg " + loadAvg()
			if p := cpuPressure(); p != "" {
				line += ", cpu pressure " + p
			}
			lastT, lastSelf = now, self
			r.logf("[%s] %s", *p, line)
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (r *runner) serverPID() int {
	if r.srv != nil {
		return r.srv.pid()
	}
	return r.cfg.PID
}

func (r *runner) healthy(ctx context.Context) bool {
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	code, err := r.api.do(cctx, "GET", "/healthz", nil, nil)
	return err == nil && code == 200
}

func (r *runner) guild(ctx context.Context) (guildInfo, error) {
	var g guildInfo
	err := r.api.must(ctx, "GET", "/guilds/"+r.gid, nil, &g)
	return g, err
}

func (r *runner) run(ctx context.Context) error {
	cfg := r.cfg
	// wait for the server
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for !r.healthy(wctx) {
		if r.srv != nil {
			select {
			case err := <-r.srv.exited:
				r.srv.exited <- err // for stop, which waits for it
				return fmt.Errorf("guildd exited: %v (log %s)", err, r.srv.logPath)
			default:
			}
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("no guildd answering /healthz at %s", r.addr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := r.api.must(ctx, "PUT", "/guilds/"+r.gid, map[string]any{"name": "guildload", "roles": guildRoles}, nil); err != nil {
		return err
	}
	r.m = newModel(cfg.Members)
	r.hot = make([]*hotSlot, cfg.HotMembers)
	for k := range r.hot {
		r.hot[k] = &hotSlot{idx: k, id: hotBase + uint64(k), present: true, name: hotName(k, 0), status: "online"}
	}
	if r.reused {
		g, err := r.guild(ctx)
		if err != nil {
			return err
		}
		if want := cfg.Members + len(r.hot); g.MemberCount != want {
			return fmt.Errorf("snapshot %s has %d members in guild %s, want %d (same -members and -hot-members as when it was made)",
				cfg.Snapshot, g.MemberCount, r.gid, want)
		}
		for i := range cfg.Members {
			r.m.add(i)
		}
	} else if err := r.populate(ctx); err != nil {
		return err
	}
	if r.srv != nil && !cfg.SkipRestart {
		if err := r.restart(ctx); err != nil {
			return err
		}
	}
	if pid := r.serverPID(); pid != 0 {
		time.Sleep(2 * time.Second) // the server's GC and scavenger settle after the load
		r.rep.MemAfterLoad, _ = readProcMem(pid)
	}
	if err := r.presenceBlast(ctx); err != nil {
		return err
	}
	sessions, stats, stopping, err := r.openSessions(ctx)
	defer func() {
		stopping.Store(true)
		for _, s := range sessions {
			s.shutdown()
		}
		for _, s := range sessions {
			<-s.done
		}
	}()
	if err != nil {
		return err
	}
	for _, rate := range cfg.SweepRates {
		ph, err := r.churn(ctx, sessions, stats, rate, cfg.SweepDuration, &hist{}, false)
		if err != nil {
			return err
		}
		ph.Checked, ph.Mismatches = r.check(ctx, sessions, stats)
		r.rep.Sweep = append(r.rep.Sweep, ph)
	}
	ph, err := r.churn(ctx, sessions, stats, cfg.Rate, cfg.Duration, r.rep.Lat, true)
	if err != nil {
		return err
	}
	ph.Checked, ph.Mismatches = r.check(ctx, sessions, stats)
	r.rep.Sweep = append(r.rep.Sweep, ph)
	if pid := r.serverPID(); pid != 0 {
		r.rep.MemEnd, _ = readProcMem(pid)
	}
	r.readMetrics(ctx)
	return nil
}

// --- model of the members, for the generator ---

type model struct {
	ids     []uint64
	st      []uint8
	gen     []uint16
	pos     []int32 // index in present, -1 when absent
	present []int32
}

func newModel(n int) *model {
	m := &model{ids: make([]uint64, n), st: make([]uint8, n), gen: make([]uint16, n), pos: make([]int32, n), present: make([]int32, 0, n)}
	for i := range n {
		m.ids[i] = memberBase + uint64(i)
		m.st[i] = stOffline
		m.pos[i] = -1
	}
	return m
}

func (m *model) add(i int) {
	if m.pos[i] < 0 {
		m.pos[i] = int32(len(m.present))
		m.present = append(m.present, int32(i))
	}
}

func (m *model) remove(i int) {
	p := m.pos[i]
	if p < 0 {
		return
	}
	last := m.present[len(m.present)-1]
	m.present[p] = last
	m.pos[last] = p
	m.present = m.present[:len(m.present)-1]
	m.pos[i] = -1
}

func memberBody(name string, roles []string, status string) []byte {
	b, _ := json.Marshal(map[string]any{"name": name, "roles": roles, "status": status})
	return b
}

// --- phase 1: members ---

func (r *runner) populate(ctx context.Context) error {
	cfg := r.cfg
	n := cfg.Members
	total := n + len(r.hot)
	var next, acked, failed atomic.Int64
	t0 := time.Now()
	r.setPhase("members", func() string {
		a := acked.Load()
		el := time.Since(t0).Seconds()
		return fmt.Sprintf("%d/%d acknowledged PUTs, %.0f/s, %d errors", a, total, float64(a)/el, failed.Load())
	})
	initial := func(i int) uint8 { // statuses at creation: about 30% non-offline
		switch h := (uint64(i) * 0x9E3779B97F4A7C15) >> 58; {
		case h < 12:
			return stOnline
		case h < 16:
			return stIdle
		case h < 19:
			return stDND
		}
		return stOffline
	}
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j := int(next.Add(1) - 1)
				if j >= total || ctx.Err() != nil || failed.Load() > 1000 {
					return
				}
				var path string
				var body []byte
				if j < len(r.hot) {
					h := r.hot[j]
					path = fmt.Sprintf("/guilds/%s/members/%d", r.gid, h.id)
					body = memberBody(h.name, []string{roleStaff}, "online")
				} else {
					i := j - len(r.hot)
					path = fmt.Sprintf("/guilds/%s/members/%d", r.gid, r.m.ids[i])
					body = memberBody(randomName(uint64(i), 0), rolesOf(uint64(i)), statuses[initial(i)])
				}
				for attempt := 0; ; attempt++ {
					code, err := r.api.do(ctx, "PUT", path, body, nil)
					if err == nil && code == 200 {
						acked.Add(1)
						break
					}
					if err == nil && (code == 429 || code == 503) && attempt < 100 {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					if failed.Add(1) == 1 {
						if err == nil {
							err = fmt.Errorf("PUT %s: HTTP %d", path, code)
						}
						firstErr.Store(&err)
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	r.rep.Writes, r.rep.WriteErrors, r.rep.WriteTime = acked.Load(), failed.Load(), el
	r.logf("members: %d acknowledged membership writes in %v = %.0f/s (%d errors)", acked.Load(), el.Round(time.Millisecond),
		float64(acked.Load())/el.Seconds(), failed.Load())
	if e := firstErr.Load(); e != nil {
		return fmt.Errorf("creating members: %d errors, first: %w", failed.Load(), *e)
	}
	for i := range n {
		r.m.st[i] = initial(i)
		r.m.add(i)
	}
	g, err := r.guild(ctx)
	if err != nil {
		return err
	}
	if g.MemberCount != total {
		return fmt.Errorf("after creating members GET /guilds/%s says %d members, want %d", r.gid, g.MemberCount, total)
	}
	return nil
}

// --- phase 2: restart and time the load from disk ---

func (r *runner) restart(ctx context.Context) error {
	r.setPhase("restart", func() string { return "waiting for the server" })
	if err := r.srv.stop(); err != nil {
		return fmt.Errorf("stopping guildd: %w", err)
	}
	if r.cfg.Snapshot != "" && !r.reused {
		if err := copyFile(filepath.Join(r.srv.data, "guildd.db"), r.cfg.Snapshot); err != nil {
			return fmt.Errorf("saving the snapshot: %w", err)
		}
		r.logf("saved the populated store as %s", r.cfg.Snapshot)
	}
	want := r.cfg.Members + len(r.hot)
	t0 := time.Now()
	if err := r.srv.start(); err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	err := r.srv.waitUp(lctx, func() bool {
		if !r.healthy(lctx) {
			return false
		}
		g, err := r.guild(lctx)
		return err == nil && g.MemberCount == want
	})
	if err != nil {
		return fmt.Errorf("waiting for guildd to load %d members: %w", want, err)
	}
	r.rep.LoadTime = time.Since(t0)
	r.rep.LoadLog = r.srv.lastLogLine("loaded the store")
	r.logf("restart: guildd answered /healthz and GET /guilds/%s with %d members %v after exec (server log: %q)",
		r.gid, want, r.rep.LoadTime.Round(time.Millisecond), r.rep.LoadLog)
	// presence is ephemeral: everyone is offline now
	for i := range r.m.st {
		r.m.st[i] = stOffline
	}
	return nil
}

// --- phase 3: presence blast ---

type presence struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

type presenceReply struct {
	Updated int `json:"updated"`
	Unknown int `json:"unknown"`
}

// nextStatus picks a status other than cur: offline members come online
// (online, idle or dnd), others go offline half of the time.
func nextStatus(rng *rand.Rand, cur uint8) uint8 {
	if cur == stOffline {
		return uint8(rng.IntN(3))
	}
	if rng.IntN(2) == 0 {
		return stOffline
	}
	s := uint8(rng.IntN(2))
	if s >= cur {
		s++
	}
	return s
}

func (r *runner) presenceBlast(ctx context.Context) error {
	cfg := r.cfg
	// hot members are online (a restart made them offline)
	var hp []presence
	for _, h := range r.hot {
		hp = append(hp, presence{wire.FormatID(h.id), "online"})
	}
	if len(hp) > 0 {
		if err := r.api.must(ctx, "POST", "/guilds/"+r.gid+"/presences", hp, nil); err != nil {
			return err
		}
	}
	if cfg.PresenceDuration <= 0 || cfg.Members == 0 {
		return nil
	}
	var applied, sent atomic.Int64
	t0 := time.Now()
	r.setPhase("presence", func() string {
		el := time.Since(t0).Seconds()
		return fmt.Sprintf("%d presence changes applied, %.0f/s", applied.Load(), float64(applied.Load())/el)
	})
	deadline := t0.Add(cfg.PresenceDuration)
	W := cfg.PresenceWorkers
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for w := 0; w < W; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			// worker w owns members i ≡ w (mod W), so its batches, sent one at a
			// time, apply in the order the model assumes
			own := (cfg.Members - w + W - 1) / W
			if own <= 0 {
				return
			}
			batch := make([]presence, 0, cfg.PresenceBatch)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				batch = batch[:0]
				for k := 0; k < cfg.PresenceBatch; k++ {
					i := w + W*rng.IntN(own)
					s := nextStatus(rng, r.m.st[i])
					r.m.st[i] = s
					batch = append(batch, presence{wire.FormatID(r.m.ids[i]), statuses[s]})
				}
				var res presenceReply
				code, err := r.api.do(ctx, "POST", "/guilds/"+r.gid+"/presences", batch, &res)
				if err == nil && code != 200 {
					err = fmt.Errorf("POST presences: HTTP %d", code)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				applied.Add(int64(res.Updated))
				sent.Add(int64(len(batch)))
			}
		}(w)
	}
	wg.Wait()
	el := time.Since(t0)
	r.rep.PresenceApplied, r.rep.PresenceTime = applied.Load(), el
	r.logf("presence: %d changes applied in %v = %.0f/s (batches of %d, %d concurrent)", applied.Load(),
		el.Round(time.Millisecond), float64(applied.Load())/el.Seconds(), cfg.PresenceBatch, W)
	if e := firstErr.Load(); e != nil {
		return *e
	}
	// read the counts back
	want := len(r.hot)
	for _, s := range r.m.st {
		if s != stOffline {
			want++
		}
	}
	g, err := r.guild(ctx)
	if err != nil {
		return err
	}
	if g.OnlineCount != want || applied.Load() != sent.Load() {
		r.rep.PresenceCheck = fmt.Sprintf("GET /guilds/%s: online_count %d, expected %d; %d applied of %d sent",
			r.gid, g.OnlineCount, want, applied.Load(), sent.Load())
		r.logf("presence: MISMATCH: %s", r.rep.PresenceCheck)
	} else {
		r.logf("presence: GET /guilds/%s agrees: online_count %d, member_count %d", r.gid, g.OnlineCount, g.MemberCount)
	}
	return nil
}

// --- phase 4: sessions ---

func (r *runner) rangeSets(size int) [][][2]int {
	w := func(a, n int) [2]int { return [2]int{a, a + n - 1} }
	return [][][2]int{
		{w(0, 100), w(100, 100)},
		{w(0, 100), w(1000, 300)},
		{w(5000, 300)},
		{w(size/2, 100)},
		{w(0, 100), w(size/3, 300), w(max(size-300, 400), 300)},
	}
}

func (r *runner) openSessions(ctx context.Context) ([]*session, *sessionStats, *atomic.Bool, error) {
	cfg := r.cfg
	stopping := new(atomic.Bool)
	stats := &sessionStats{}
	stats.lat.Store(&hist{})
	stats.window.Store(&hist{})
	g, err := r.guild(ctx)
	if err != nil {
		return nil, stats, stopping, err
	}
	hotByID := map[uint64]*hotSlot{}
	for _, h := range r.hot {
		hotByID[h.id] = h
	}
	cache := newFrameCache(hotByID)
	pollers, err := newPollers(runtime.GOMAXPROCS(0), cache, stats, stopping)
	if err != nil {
		return nil, stats, stopping, err
	}
	deep := r.rangeSets(g.Size)
	sessions := make([]*session, cfg.Sessions)
	var opened atomic.Int64
	r.setPhase("sessions", func() string {
		return fmt.Sprintf("%d/%d sessions open, %d frames", opened.Load(), cfg.Sessions, stats.frames.Load())
	})
	var next atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.Sessions || firstErr.Load() != nil {
					return
				}
				ranges := [][2]int{{0, 99}}
				if i%10 == 9 { // one in ten deeper
					ranges = deep[(i/10)%len(deep)]
				}
				var s *session
				var early []byte
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					if s, early, err = dialSession(ctx, r.addr, i, r.gid, ranges, len(r.hot)); err == nil {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err != nil {
					err = fmt.Errorf("session %d: %w", i, err)
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				sessions[i] = s
				if err := pollers[i%len(pollers)].add(s, early); err != nil {
					err = fmt.Errorf("session %d: %w", i, err)
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				opened.Add(1)
			}
		}()
	}
	wg.Wait()
	var out []*session
	for _, s := range sessions {
		if s != nil {
			out = append(out, s)
		}
	}
	if e := firstErr.Load(); e != nil {
		return out, stats, stopping, *e
	}
	// every session has its SYNC
	deadline := time.Now().Add(2 * time.Minute)
	for {
		waiting := 0
		var closed error
		for _, s := range out {
			s.mu.Lock()
			switch {
			case s.r.Seq() == 0 && s.closed != nil:
				closed = fmt.Errorf("session %d closed before its SYNC: %w", s.n, s.closed)
			case s.r.Seq() == 0 && s.fail == nil:
				waiting++
			}
			s.mu.Unlock()
		}
		if closed != nil {
			return out, stats, stopping, closed
		}
		if err := ctx.Err(); err != nil {
			return out, stats, stopping, err
		}
		if waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			return out, stats, stopping, fmt.Errorf("%d sessions got no SYNC in 2 minutes", waiting)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.logf("sessions: %d open and synced (%d on [0,99] only)", len(out), len(out)-len(out)/10)
	stats.cache = cache
	return out, stats, stopping, nil
}
