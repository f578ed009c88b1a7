//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bucketed/sortedset/cmd/internal/wire"
)

const hotCooldown = 100 * time.Millisecond

// job is one request of the churn.
type job struct {
	kind    string
	method  string
	path    string
	body    []byte
	changes int        // list changes it makes when it succeeds
	track   []*tracked // stamped with the send time just before the request
	slots   []*hotSlot // released when the reply is in
}

type churnStats struct {
	sent, applied, httpErr, behind atomic.Int64
	reqLat                         hist     // HTTP round trips of churn requests
	kinds                          sync.Map // kind -> *atomic.Int64
}

func (c *churnStats) kind(k string, n int64) {
	v, _ := c.kinds.LoadOrStore(k, new(atomic.Int64))
	v.(*atomic.Int64).Add(n)
}

// churn drives cfg.Rate list changes per second for cfg.Duration, open loop:
// changes are generated on a clock, not when replies come back, and those the
// request pool cannot take at once are counted as "behind" and dropped.
func (r *runner) churn(ctx context.Context, sessions []*session, st *sessionStats, rate float64, dur time.Duration, lat *hist, main bool) (phase, error) {
	cfg := r.cfg
	cs := &churnStats{}
	st.lat.Store(lat)
	framesAtStart, bytesAtStart := st.frames.Load(), st.bytes.Load()
	// A queue no longer than the pool: changes the pool cannot take now are
	// counted as behind rather than queued, so the clock stays honest.
	jobs := make(chan *job, cfg.ChurnWorkers)
	var wg sync.WaitGroup
	for w := 0; w < cfg.ChurnWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r.doJob(ctx, j, cs)
			}
		}()
	}
	t0 := time.Now()
	lastFrames := framesAtStart
	lastT := t0
	r.setPhase(fmt.Sprintf("churn %.0f/s", rate), func() string {
		now := time.Now()
		el := now.Sub(t0).Seconds()
		f := st.frames.Load()
		fps := float64(f-lastFrames) / now.Sub(lastT).Seconds()
		lastFrames, lastT = f, now
		w := st.window.Swap(&hist{})
		return fmt.Sprintf("t=%.0fs sent %.0f/s applied %.0f/s (errors %d, behind %d, request p50 %v p99 %v) | frames %.0f/s | delivery p50 %v p99 %v max %v (%d samples) | session failures %d",
			el, float64(cs.sent.Load())/el, float64(cs.applied.Load())/el, cs.httpErr.Load(), cs.behind.Load(),
			cs.reqLat.quantile(0.5), cs.reqLat.quantile(0.99), fps,
			w.quantile(0.5), w.quantile(0.99), w.maximum(), w.count(), st.failures.Load())
	})
	rng := rand.New(rand.NewPCG(7, 7))
	var generated int64
	tick := time.NewTicker(5 * time.Millisecond)
	end := t0.Add(dur)
	var all []*tracked
	for now := t0; now.Before(end) && ctx.Err() == nil; now = <-tick.C {
		due := int64(rate*now.Sub(t0).Seconds()) - generated
		var batch []presence
		var bjob job
		emit := func(j *job) {
			select {
			case jobs <- j:
				cs.sent.Add(int64(j.changes))
			default:
				r.dropJob(j, cs)
			}
		}
		for ; due > 0; due-- {
			generated++
			if rng.Float64() < cfg.HotFrac {
				if h := r.pickHot(rng, now); h != nil {
					r.seq++
					seq := r.seq
					t := &tracked{seq: seq}
					h.busy.Store(true)
					switch x := rng.Float64(); {
					case !h.present:
						h.present, h.name, h.status = true, hotName(h.idx, seq), "online"
						t.name, t.status = h.name, h.status
						h.record(t)
						all = append(all, t)
						emit(&job{kind: "hot join", method: "PUT", path: r.memberPath(h.id), changes: 1,
							body: memberBody(h.name, []string{roleStaff}, "online"), track: []*tracked{t}, slots: []*hotSlot{h}})
					case x < 0.5:
						h.status = map[string]string{"online": "idle", "idle": "dnd", "dnd": "online"}[h.status]
						t.name, t.status = h.name, h.status
						h.record(t)
						all = append(all, t)
						batch = append(batch, presence{wire.FormatID(h.id), h.status})
						bjob.track = append(bjob.track, t)
						bjob.slots = append(bjob.slots, h)
					case x < 0.8:
						h.name = hotName(h.idx, seq)
						t.name, t.status = h.name, h.status
						h.record(t)
						all = append(all, t)
						emit(&job{kind: "hot rename", method: "PUT", path: r.memberPath(h.id), changes: 1,
							body: []byte(fmt.Sprintf(`{"name":%q,"roles":[%q]}`, h.name, roleStaff)), track: []*tracked{t}, slots: []*hotSlot{h}})
					default:
						h.present = false
						emit(&job{kind: "hot leave", method: "DELETE", path: r.memberPath(h.id), changes: 1, slots: []*hotSlot{h}})
					}
					continue
				}
			}
			m := r.m
			switch x := rng.Float64(); {
			case x < 0.6 && len(m.present) > 0:
				i := int(m.present[rng.IntN(len(m.present))])
				m.st[i] = nextStatus(rng, m.st[i])
				batch = append(batch, presence{wire.FormatID(m.ids[i]), statuses[m.st[i]]})
			case x < 0.75 || len(m.present) == 0:
				i := len(m.ids)
				m.ids = append(m.ids, joinBase+uint64(i))
				m.st = append(m.st, uint8(rng.IntN(4)))
				m.gen = append(m.gen, 0)
				m.pos = append(m.pos, -1)
				m.add(i)
				emit(&job{kind: "join", method: "PUT", path: r.memberPath(m.ids[i]), changes: 1,
					body: memberBody(randomName(uint64(i), 0), rolesOf(uint64(i)), statuses[m.st[i]])})
			case x < 0.9:
				i := int(m.present[rng.IntN(len(m.present))])
				m.remove(i)
				emit(&job{kind: "leave", method: "DELETE", path: r.memberPath(m.ids[i]), changes: 1})
			default:
				i := int(m.present[rng.IntN(len(m.present))])
				m.gen[i]++
				b := fmt.Sprintf(`{"name":%q,"roles":%s}`, randomName(uint64(i), int(m.gen[i])), rolesJSON(rolesOf(uint64(i))))
				emit(&job{kind: "rename", method: "PUT", path: r.memberPath(m.ids[i]), changes: 1, body: []byte(b)})
			}
		}
		if len(batch) > 0 {
			body, _ := jsonMarshal(batch)
			bjob.kind, bjob.method, bjob.path, bjob.body, bjob.changes = "presence", "POST", "/guilds/"+r.gid+"/presences", body, len(batch)
			j := bjob
			emit(&j)
		}
	}
	tick.Stop()
	for drained := false; !drained; { // what the pool has not started is not sent
		select {
		case j := <-jobs:
			cs.sent.Add(-int64(j.changes))
			r.dropJob(j, cs)
		default:
			drained = true
		}
	}
	close(jobs)
	wg.Wait()
	el := time.Since(t0)
	ph := phase{Rate: rate, Time: el, Sent: cs.sent.Load(), Applied: cs.applied.Load(), Behind: cs.behind.Load(),
		HTTPErrors: cs.httpErr.Load(), ReqP50: cs.reqLat.quantile(0.5), ReqP99: cs.reqLat.quantile(0.99)}
	if main {
		r.rep.ChurnTime = el
		r.rep.ChangesSent, r.rep.ChangesApplied = ph.Sent, ph.Applied
		r.rep.HTTPErrors, r.rep.Behind = ph.HTTPErrors, ph.Behind
		r.rep.ReqP50, r.rep.ReqP99 = ph.ReqP50, ph.ReqP99
		cs.kinds.Range(func(k, v any) bool {
			r.rep.ChangeKinds[k.(string)] = v.(*atomic.Int64).Load()
			return true
		})
	}
	r.logf("churn %.0f/s: %d changes sent, %d applied in %v (%.0f/s); %d HTTP errors, %d not sent because the request pool was busy",
		rate, ph.Sent, ph.Applied, el.Round(time.Millisecond), float64(ph.Applied)/el.Seconds(), ph.HTTPErrors, ph.Behind)

	// quiescence: no frame for a second
	r.setPhase("quiesce", func() string {
		return fmt.Sprintf("last frame %v ago", time.Since(time.Unix(0, st.lastFrame.Load())).Round(time.Millisecond))
	})
	q0 := time.Now()
	for time.Since(time.Unix(0, st.lastFrame.Load())) < time.Second && time.Since(q0) < r.cfg.Quiesce {
		time.Sleep(50 * time.Millisecond)
	}
	ph.FramesPerSec = float64(st.frames.Load()-framesAtStart) / time.Since(t0).Seconds()
	ph.P50, ph.P99, ph.Max, ph.Samples = lat.quantile(0.5), lat.quantile(0.99), lat.maximum(), lat.count()
	if !main {
		return ph, nil
	}
	r.rep.Quiet = time.Since(q0)
	for _, t := range all {
		if t.sent.Load() > 0 {
			r.rep.Tracked++
			r.rep.Deliveries += t.deliveries.Load()
		}
	}
	for _, s := range sessions {
		if s.ranges[0][0] == 0 { // covers the top of the list, so every hot member
			r.rep.TopSessions++
		}
	}
	r.rep.Frames, r.rep.FrameBytes = st.frames.Load()-framesAtStart, st.bytes.Load()-bytesAtStart
	if st.cache != nil {
		r.rep.DecodeHits, r.rep.DecodeMisses = st.cache.hits.Load(), st.cache.misses.Load()
	}
	return ph, nil
}

func (r *runner) memberPath(id uint64) string {
	return "/guilds/" + r.gid + "/members/" + strconv.FormatUint(id, 10)
}

func (r *runner) pickHot(rng *rand.Rand, now time.Time) *hotSlot {
	if len(r.hot) == 0 {
		return nil
	}
	k := rng.IntN(len(r.hot))
	for n := 0; n < len(r.hot); n++ {
		h := r.hot[(k+n)%len(r.hot)]
		if !h.busy.Load() && now.UnixNano() >= h.freeAt.Load() {
			return h
		}
	}
	return nil
}

// dropJob gives up on a change the pool could not take. Its model update
// stays (the model is a guide for the generator, not the truth the check
// uses); a dropped hot change is never stamped, so it is not timed.
func (r *runner) dropJob(j *job, cs *churnStats) {
	cs.behind.Add(int64(j.changes))
	for _, t := range j.track {
		t.sent.Store(-1) // never sent: no frame can be its delivery
	}
	for _, h := range j.slots {
		h.busy.Store(false)
	}
}

func (r *runner) doJob(ctx context.Context, j *job, cs *churnStats) {
	now := time.Now().UnixNano()
	for _, t := range j.track {
		t.sent.Store(now)
	}
	var res presenceReply
	var out any
	if j.kind == "presence" {
		out = &res
	}
	code, err := r.api.do(ctx, j.method, j.path, j.body, out)
	cs.reqLat.add(time.Since(time.Unix(0, now)))
	switch {
	case err != nil || (code != 200 && code != 404):
		cs.httpErr.Add(1)
	case code == 404: // a leave of a member that is gone: nothing changed
	case j.kind == "presence":
		cs.applied.Add(int64(res.Updated))
		cs.kind(j.kind, int64(res.Updated))
	default:
		cs.applied.Add(int64(j.changes))
		cs.kind(j.kind, int64(j.changes))
	}
	free := time.Now().Add(hotCooldown).UnixNano()
	for _, h := range j.slots {
		h.freeAt.Store(free)
		h.busy.Store(false)
	}
}

// --- phase 6: the consistency check ---

type listReply struct {
	Size  int         `json:"size"`
	Start int         `json:"start"`
	Items []wire.Item `json:"items"`
}

func (r *runner) check(ctx context.Context, sessions []*session, st *sessionStats) (checked, mismatches int) {
	r.setPhase("check", func() string { return "comparing sessions with GET /list" })
	bad := sessions
	var samples []string
	for attempt := 0; attempt < 4 && len(bad) > 0; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Second)
		}
		lists := map[[2]int]*listReply{}
		var next []*session
		samples = samples[:0]
		for _, s := range bad {
			if msg := r.mismatch(ctx, s, lists); msg != "" {
				next = append(next, s)
				if len(samples) < 5 {
					samples = append(samples, fmt.Sprintf("session %d %v: %s", s.n, s.ranges, msg))
				}
			}
		}
		bad = next
	}
	r.rep.Checked = len(sessions)
	r.rep.Mismatches += len(bad)
	r.rep.MismatchSamples = append(r.rep.MismatchSamples, samples...)
	r.rep.SessionFailures = st.failures.Load()
	for _, s := range sessions {
		s.mu.Lock()
		if (s.fail != nil || s.closed != nil) && len(r.rep.FailureSamples) < 5 {
			r.rep.FailureSamples = append(r.rep.FailureSamples, fmt.Sprintf("session %d: fail=%v closed=%v", s.n, s.fail, s.closed))
		}
		s.mu.Unlock()
	}
	if len(bad) == 0 {
		r.logf("check: all %d sessions' slots equal GET /list for their ranges", len(sessions))
	} else {
		r.logf("check: %d of %d sessions MISMATCH, e.g. %s", len(bad), len(sessions), strings.Join(samples, "; "))
	}
	return len(sessions), len(bad)
}

func (r *runner) mismatch(ctx context.Context, s *session, lists map[[2]int]*listReply) string {
	for _, rg := range s.ranges {
		l := lists[rg]
		if l == nil {
			l = new(listReply)
			path := fmt.Sprintf("/guilds/%s/list?start=%d&count=%d", r.gid, rg[0], rg[1]-rg[0]+1)
			if err := r.api.must(ctx, "GET", path, nil, l); err != nil {
				return err.Error()
			}
			lists[rg] = l
		}
		s.mu.Lock()
		if s.fail != nil {
			s.mu.Unlock()
			return "protocol: " + s.fail.Error()
		}
		if s.closed != nil {
			s.mu.Unlock()
			return "connection: " + s.closed.Error()
		}
		size := s.r.Size()
		got, ok := s.r.Range(rg[0], rg[1])
		s.mu.Unlock()
		if size != l.Size {
			return fmt.Sprintf("size %d, list says %d", size, l.Size)
		}
		if !ok {
			return fmt.Sprintf("range %v has unknown slots", rg)
		}
		if len(got) != len(l.Items) {
			return fmt.Sprintf("range %v: %d slots, list has %d", rg, len(got), len(l.Items))
		}
		for i := range got {
			if !got[i].Equal(l.Items[i]) {
				return fmt.Sprintf("range %v slot %d: %v, list has %v", rg, rg[0]+i, got[i], l.Items[i])
			}
		}
	}
	return ""
}

// readMetrics picks the queue drops and ops sent from /metrics.
func (r *runner) readMetrics(ctx context.Context) {
	req, err := newGet(ctx, r.api.base+"/metrics")
	if err != nil {
		return
	}
	resp, err := r.api.hc.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 1<<20))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "guildd_queue_drops_total":
			r.rep.QueueDrops = v
		case "guildd_ops_sent_total":
			r.rep.OpsSent = v
		}
	}
}
