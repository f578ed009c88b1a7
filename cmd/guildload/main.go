//go:build linux

// Command guildload is a load generator for guildd. It creates a guild of N
// members with concurrent PUTs, blasts presence batches, opens S gateway
// sessions, drives a churn of R list changes per second, times how long each
// tracked change takes to reach each session, and finally checks that every
// session's replicated slots equal GET /guilds/{g}/list.
//
// With -spawn it builds and starts its own guildd on a free loopback port
// with a temporary data dir, restarts it to time the load from disk, and
// reads the server's memory from /proc. It runs on Linux only: it reads the
// sessions with epoll. Run it inside the cmd module:
//
//	go run -C cmd ./guildload -spawn -members 1000000 -sessions 5000 -rate 1000 -duration 60s
//
// Traffic goes only to the -addr given (default 127.0.0.1:8080) or to the
// spawned server on 127.0.0.1, and every phase stops by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	cfg := defaultConfig()
	flag.StringVar(&cfg.Addr, "addr", cfg.Addr, "guildd to load (ignored with -spawn)")
	flag.BoolVar(&cfg.Spawn, "spawn", false, "build and start a guildd of our own on a free loopback port with a temp data dir")
	flag.StringVar(&cfg.Guildd, "guildd", "", "with -spawn: a prebuilt guildd binary instead of building one")
	flag.Uint64Var(&cfg.Guild, "guild", cfg.Guild, "guild id to create and load")
	flag.IntVar(&cfg.Members, "members", cfg.Members, "members to create (N)")
	flag.IntVar(&cfg.Workers, "workers", cfg.Workers, "concurrent PUTs while creating members")
	flag.IntVar(&cfg.Sessions, "sessions", cfg.Sessions, "gateway sessions (S)")
	flag.Float64Var(&cfg.Rate, "rate", cfg.Rate, "list changes per second during the churn (R)")
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "churn duration")
	flag.Float64Var(&cfg.HotFrac, "hot", cfg.HotFrac, "fraction of churn changes made to hot (tracked, top-of-list) members")
	flag.IntVar(&cfg.HotMembers, "hot-members", cfg.HotMembers, "hot members (the Staff group at the top of the list)")
	flag.IntVar(&cfg.ChurnWorkers, "churn-workers", cfg.ChurnWorkers, "concurrent requests during the churn")
	flag.DurationVar(&cfg.PresenceDuration, "presence-duration", cfg.PresenceDuration, "length of the presence blast (0 skips it)")
	flag.IntVar(&cfg.PresenceBatch, "presence-batch", cfg.PresenceBatch, "presences per POST in the blast (<= 10000)")
	flag.IntVar(&cfg.PresenceWorkers, "presence-workers", cfg.PresenceWorkers, "concurrent POSTs in the blast")
	flag.DurationVar(&cfg.Progress, "progress", cfg.Progress, "interval of progress lines")
	flag.BoolVar(&cfg.SkipRestart, "no-restart", false, "with -spawn: do not restart the server to time the load from disk")
	flag.StringVar(&cfg.Snapshot, "snapshot", "", "with -spawn: file to save the populated store to, or, when it exists, to start from instead of creating members")
	flag.IntVar(&cfg.PID, "pid", 0, "without -spawn: the server's pid, to read its memory from /proc")
	sweep := flag.String("sweep", "", "comma-separated churn rates to run (each for -sweep-duration, each checked) before the main -rate phase")
	flag.DurationVar(&cfg.SweepDuration, "sweep-duration", 20*time.Second, "duration of each -sweep phase")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof for guildload itself on this address (the spawned guildd gets -guildd-pprof)")
	flag.StringVar(&cfg.GuilddPprof, "guildd-pprof", "", "with -spawn: start guildd with -pprof on this address")
	floor := flag.Bool("floor", false, "measure the machine's floor instead: a frame to each of -sessions loopback sockets every period, with no server (see floor.go)")
	floorPeriods := flag.String("floor-periods", "30ms,50ms,75ms,100ms", "with -floor: comma-separated flush periods, one phase each")
	floorDuration := flag.Duration("floor-duration", 8*time.Second, "with -floor: duration of each phase")
	floorFrame := flag.Int("floor-frame", 1400, "with -floor: bytes per frame (a 1M-member churn run's average is about 1,400)")
	flag.Parse()
	if *pprofAddr != "" {
		go func() { log.Println(http.ListenAndServe(*pprofAddr, nil)) }() // DefaultServeMux has pprof
	}
	for _, f := range strings.FieldsFunc(*sweep, func(r rune) bool { return r == ',' }) {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "guildload: bad -sweep rate %q\n", f)
			os.Exit(2)
		}
		cfg.SweepRates = append(cfg.SweepRates, v)
	}

	raiseNoFile(cfg.Sessions)
	if *floor {
		os.Exit(runFloorCommand(cfg.Sessions, *floorPeriods, *floorDuration, *floorFrame))
	}
	// The sessions' replicas allocate on every op; memory is cheap here and
	// the CPU is shared with the server, so collect less often.
	debug.SetGCPercent(400)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.Out = os.Stdout
	rep, err := Run(ctx, cfg)
	if rep != nil {
		rep.print(os.Stdout, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "guildload:", err)
		os.Exit(1)
	}
	if !rep.OK() {
		fmt.Fprintln(os.Stderr, "guildload: FAILED: consistency check or session errors (see report)")
		os.Exit(1)
	}
}

// raiseNoFile lifts the soft open-files limit towards the hard one; each
// session is a socket here and one in a spawned server (which inherits it).
func raiseNoFile(sessions int) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
	if need := uint64(sessions) + 1024; r.Cur < need {
		fmt.Fprintf(os.Stderr, "guildload: warning: open-files limit %d is below %d needed for %d sessions\n", r.Cur, need, sessions)
	}
}

// runFloorCommand runs -floor and returns the exit code.
func runFloorCommand(sockets int, periods string, d time.Duration, frame int) int {
	fc := FloorConfig{Sockets: sockets, Frame: frame, Duration: d, Writers: 4, Out: os.Stdout}
	for _, f := range strings.FieldsFunc(periods, func(r rune) bool { return r == ',' }) {
		p, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || p <= 0 {
			fmt.Fprintf(os.Stderr, "guildload: bad -floor-periods entry %q\n", f)
			return 2
		}
		fc.Periods = append(fc.Periods, p)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := RunFloor(ctx, fc)
	PrintFloor(os.Stdout, fc, res)
	if err != nil {
		fmt.Fprintln(os.Stderr, "guildload:", err)
		return 1
	}
	return 0
}
