//go:build linux

package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The floor (-floor) is what the fan-out alone costs on a machine, before a
// server runs any code of its own: every period, one frame of
// FloorConfig.Frame bytes is written to each of Sockets loopback TCP
// sockets, and read back by pollers like guildload's. No guildd, HTTP,
// WebSocket, JSON or GC work is done, and a fanout starts only when the one
// before it has been written, so a full run's delivery latency with the
// same sessions and flush period should not be expected below it. It is a
// floor for this way of sending, not a proof for every way: the Go
// scheduler's settings move it (GOMAXPROCS=4 on 2 cores lowered the p99
// by about a fifth).

// FloorConfig is a -floor run.
type FloorConfig struct {
	Sockets  int
	Frame    int             // bytes per frame, at least 8 (its send time)
	Periods  []time.Duration // one phase per period
	Duration time.Duration   // per period
	Writers  int             // goroutines writing a fanout, as guildd's writer pool
	Out      io.Writer       // progress lines
}

// FloorResult is one period's phase.
type FloorResult struct {
	Period        time.Duration
	Rounds        int
	Late          int // fanouts that started after their tick: the one before was still being written
	Frames        int64
	Wall, CPU     time.Duration
	Fanout        *hist // from a fanout's start until its last frame is written
	Receive       *hist // from a fanout's start until a frame of it is read
	Delivery      *hist // Receive plus a change time uniform in the gap since the fanout before, weighted by the gap (see addDelivery)
	MissingFrames int64 // written but not read within floorDrain of the last fanout
}

// floorDrain bounds the wait for the last frames of a phase.
const floorDrain = 5 * time.Second

// deliveryGrid is how many evenly spaced change times a period of the gap
// before its fanout each received frame stands for in Delivery.
const deliveryGrid = 16

type floorSocket struct {
	wfd, rfd int
	have     int // bytes of the current frame read so far
	stamp    [8]byte
}

// feed takes the bytes read from s's socket, frames of size bytes that start
// with their fanout's start in unix nanoseconds, and appends the start of
// each frame that data completes to sent.
func (s *floorSocket) feed(data []byte, size int, sent []int64) []int64 {
	for len(data) > 0 {
		if s.have < len(s.stamp) {
			n := copy(s.stamp[s.have:], data)
			s.have += n
			data = data[n:]
		}
		n := min(size-s.have, len(data))
		s.have += n
		data = data[n:]
		if s.have == size {
			sent = append(sent, int64(binary.LittleEndian.Uint64(s.stamp[:])))
			s.have = 0
		}
	}
	return sent
}

// floorPairs opens n loopback TCP connections. Both ends leave the runtime's
// netpoller and the writing end blocks, so that a frame costs what the
// kernel charges for it and little more.
func floorPairs(n int) (socks []*floorSocket, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	defer func() {
		if err != nil {
			closeFloor(socks)
			socks = nil
		}
	}()
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return socks, err
		}
		a, err := ln.Accept()
		if err != nil {
			c.Close()
			return socks, err
		}
		rfd, rerr := dupFD(c)
		wfd, werr := dupFD(a)
		c.Close()
		a.Close()
		s := &floorSocket{wfd: wfd, rfd: rfd}
		socks = append(socks, s)
		if err := errors.Join(rerr, werr); err != nil {
			return socks, err
		}
		if err := unix.SetNonblock(wfd, false); err != nil {
			return socks, err
		}
	}
	return socks, nil
}

func closeFloor(socks []*floorSocket) {
	for _, s := range socks {
		for _, fd := range []int{s.wfd, s.rfd} {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}
}

// floorSample is one frame read: its fanout's start and when it was read,
// in unix nanoseconds.
type floorSample struct{ sent, got int64 }

// floorPoller reads its share of the sockets, level-triggered, each ready
// socket once per epoll_wait, as guildload's poller does.
type floorPoller struct {
	ep      int
	socks   []*floorSocket // by the index in each epoll event's data
	samples []floorSample
	err     error
}

// Frames stamped before since were written by an earlier phase whose drain
// timed out: they are read and dropped, so as not to count as this phase's.
func (p *floorPoller) loop(size int, since int64, received *atomic.Int64, stop *atomic.Bool) {
	buf := make([]byte, pollBuffer)
	evs := make([]unix.EpollEvent, 256)
	var sent []int64
	for !stop.Load() {
		n, err := unix.EpollWait(p.ep, evs, 50)
		if err != nil && !errors.Is(err, unix.EINTR) {
			p.err = fmt.Errorf("epoll_wait: %w", err)
			return
		}
		for _, ev := range evs[:max(n, 0)] {
			s := p.socks[ev.Pad]
			m, err := unix.Read(s.rfd, buf)
			switch {
			case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
				continue
			case err != nil:
				p.err = fmt.Errorf("read: %w", err)
				return
			case m == 0:
				p.err = errors.New("read: a socket closed")
				return
			}
			now := time.Now().UnixNano()
			sent = s.feed(buf[:m], size, sent[:0])
			ours := 0
			for _, t := range sent {
				if t >= since {
					p.samples = append(p.samples, floorSample{sent: t, got: now})
					ours++
				}
			}
			received.Add(int64(ours))
		}
	}
}

// writeFanout writes frame to every socket, socket i by goroutine i mod
// writers.
func writeFanout(socks []*floorSocket, frame []byte, writers int) error {
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := w; i < len(socks); i += writers {
				for b := frame; len(b) > 0; {
					n, err := unix.Write(socks[i].wfd, b)
					if errors.Is(err, unix.EINTR) {
						continue
					}
					if err != nil {
						errs[w] = fmt.Errorf("write: %w", err)
						return
					}
					b = b[n:]
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// RunFloor measures the floor for each period of cfg in turn.
func RunFloor(ctx context.Context, cfg FloorConfig) ([]FloorResult, error) {
	if cfg.Sockets < 1 || cfg.Frame < 8 || cfg.Writers < 1 || cfg.Duration <= 0 || len(cfg.Periods) == 0 || slices.Min(cfg.Periods) <= 0 {
		return nil, fmt.Errorf("floor: need sockets >= 1, a frame of >= 8 bytes, writers >= 1, a duration and periods > 0 (got %+v)", cfg)
	}
	logLine(cfg.Out, "floor: opening %d loopback TCP connections", cfg.Sockets)
	socks, err := floorPairs(cfg.Sockets)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	defer closeFloor(socks)
	var out []FloorResult
	for _, p := range cfg.Periods {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		r, err := floorPhase(ctx, socks, cfg, p)
		if err == nil {
			err = ctx.Err() // interrupted: the phase was cut short, not reported
		}
		if err != nil {
			return out, fmt.Errorf("floor: period %v: %w", p, err)
		}
		logLine(cfg.Out, "floor: period %v: %d fanouts (%d late), delivery p99 %v, cpu %.2f cores",
			p, r.Rounds, r.Late, r.Delivery.quantile(0.99), r.Cores())
		out = append(out, r)
	}
	return out, nil
}

func floorPhase(ctx context.Context, socks []*floorSocket, cfg FloorConfig, period time.Duration) (FloorResult, error) {
	res := FloorResult{Period: period, Fanout: new(hist), Receive: new(hist), Delivery: new(hist)}
	var received atomic.Int64
	var stop atomic.Bool
	since := time.Now().UnixNano() // every fanout of this phase starts after it
	pollers := make([]*floorPoller, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	defer func() {
		stop.Store(true)
		wg.Wait()
		for _, p := range pollers {
			if p != nil {
				unix.Close(p.ep)
			}
		}
	}()
	for i := range pollers {
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return res, fmt.Errorf("epoll_create1: %w", err)
		}
		p := &floorPoller{ep: ep}
		pollers[i] = p
		for j := i; j < len(socks); j += len(pollers) {
			ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Pad: int32(len(p.socks))}
			p.socks = append(p.socks, socks[j])
			if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, socks[j].rfd, &ev); err != nil {
				return res, fmt.Errorf("epoll_ctl: %w", err)
			}
		}
		wg.Go(func() { p.loop(cfg.Frame, since, &received, &stop) })
	}

	frame := make([]byte, cfg.Frame)
	var starts []int64
	var ru0, ru1 unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru0)
	begin := time.Now()
	next := begin
	for time.Since(begin) < cfg.Duration && ctx.Err() == nil {
		if len(starts) > 0 && time.Now().After(next) {
			res.Late++ // the fanout before ran past this one's tick
		}
		time.Sleep(time.Until(next))
		t0 := time.Now()
		binary.LittleEndian.PutUint64(frame, uint64(t0.UnixNano()))
		if err := writeFanout(socks, frame, cfg.Writers); err != nil {
			return res, err
		}
		res.Fanout.add(time.Since(t0))
		starts = append(starts, t0.UnixNano())
		next = t0.Add(period)
	}
	res.Rounds = len(starts)
	res.Frames = int64(res.Rounds) * int64(len(socks))
	for deadline := time.Now().Add(floorDrain); received.Load() < res.Frames && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	res.Wall = time.Since(begin)
	unix.Getrusage(unix.RUSAGE_SELF, &ru1)
	res.CPU = time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	stop.Store(true)
	wg.Wait()
	res.MissingFrames = res.Frames - received.Load()

	for _, p := range pollers {
		if p.err != nil {
			return res, p.err
		}
		for _, s := range p.samples {
			lat := time.Duration(s.got - s.sent)
			res.Receive.add(lat)
			k, _ := slices.BinarySearch(starts, s.sent)
			gap := period
			if k > 0 && k < len(starts) {
				gap = time.Duration(starts[k] - starts[k-1])
			}
			addDelivery(res.Delivery, lat, gap, period)
		}
	}
	return res, nil
}

// addDelivery adds to h the delivery latencies that a frame received lat
// after its fanout's start stands for, when that fanout started gap after
// the one before. A change waits for the next fanout: with changes spread
// evenly over time, the frame stands for the changes of the whole gap, at
// waits of (j+0.5)/k of it, j = 0..k-1.
func addDelivery(h *hist, lat, gap, period time.Duration) {
	k := max(1, int((deliveryGrid*gap+period/2)/period)) // deliveryGrid a period
	for j := range k {
		h.add(lat + gap*time.Duration(2*j+1)/time.Duration(2*k))
	}
}

// Cores is the CPU the phase used, in cores.
func (r FloorResult) Cores() float64 { return r.CPU.Seconds() / r.Wall.Seconds() }

// PrintFloor writes the table of a -floor run.
func PrintFloor(w io.Writer, cfg FloorConfig, res []FloorResult) {
	fmt.Fprintf(w, "\n== guildload floor ==\n")
	fmt.Fprintf(w, "%d loopback TCP connections; each fanout writes a %d-byte frame to every one (%d writer goroutines) and %d epoll pollers read them; %v per period; %d CPUs.\n",
		cfg.Sockets, cfg.Frame, cfg.Writers, runtime.GOMAXPROCS(0), cfg.Duration, runtime.NumCPU())
	fmt.Fprintf(w, "No server, HTTP, WebSocket or JSON: what the fan-out alone costs here, for a server that flushes every period.\n\n")
	fmt.Fprintf(w, "%-8s %9s %6s %9s %9s %9s %10s %10s %10s %11s %11s %7s\n",
		"period", "fanouts/s", "late", "frames/s", "cpu", "cpu/frame", "fanout p99", "recv p50", "recv p99", "deliv p50", "deliv p99", "missing")
	for _, r := range res {
		fps := float64(r.Frames) / r.Wall.Seconds()
		perFrame := time.Duration(0)
		if r.Frames > 0 {
			perFrame = r.CPU / time.Duration(r.Frames)
		}
		fmt.Fprintf(w, "%-8v %9.1f %6d %9.0f %9.2f %9v %10v %10v %10v %11v %11v %7d\n",
			r.Period, float64(r.Rounds)/r.Wall.Seconds(), r.Late, fps, r.Cores(), perFrame,
			r.Fanout.quantile(0.99), r.Receive.quantile(0.5), r.Receive.quantile(0.99),
			r.Delivery.quantile(0.5), r.Delivery.quantile(0.99), r.MissingFrames)
	}
	if len(res) > 0 {
		best := slices.MinFunc(res, func(a, b FloorResult) int {
			return int(a.Delivery.quantile(0.99) - b.Delivery.quantile(0.99))
		})
		fmt.Fprintf(w, "\nlowest delivery p99: %v, flushing every %v (cpu %.2f of %d cores with no server work)\n",
			best.Delivery.quantile(0.99), best.Period, best.Cores(), runtime.NumCPU())
	}
}
