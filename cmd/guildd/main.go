// Command guildd is the guild-membership server: guild member lists kept in
// sorted sets, durable in bbolt, streamed to WebSocket sessions as
// index-based GUILD_MEMBER_LIST_UPDATE messages.
//
//	go run -C cmd ./guildd -demo     # http://127.0.0.1:8080
//
// Routes (JSON; errors are {"error": "..."}):
//
//	GET    /                              the live member-list page
//	GET    /healthz, /metrics             liveness; Prometheus text
//	GET    /guilds                        {"guilds": [{"id","name","member_count"}]}
//	PUT    /guilds/{g}                    {"name","roles":[{"id","name","position","hoist"}]}
//	GET    /guilds/{g}                    {"id","name","member_count","online_count","size","groups","roles"}
//	PUT    /guilds/{g}/members/{u}        {"name","roles","status"} -> {"index"} once durable
//	DELETE /guilds/{g}/members/{u}        -> {"index"} once durable, or 404
//	GET    /guilds/{g}/members/{u}        the member and its index
//	POST   /guilds/{g}/presences          [{"id","status"}...] (<= 10,000) -> {"updated","unknown"}
//	GET    /guilds/{g}/list?start=S&count=C  {"size","start","items"}
//	GET    /gateway                       WebSocket: {"op":"subscribe","guild_id","ranges"}
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/bucketed/sortedset/cmd/internal/server"
	"github.com/bucketed/sortedset/cmd/internal/store"
	"github.com/bucketed/sortedset/cmd/internal/webui"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	data := flag.String("data", "guildd-data", "data directory")
	demo := flag.Bool("demo", false, "seed a 100,000-member demo guild (id 1) and keep changing it")
	demoN := flag.Int("demo-members", 100_000, "members of the demo guild when it is first created")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address (e.g. 127.0.0.1:6060); off by default")
	flag.Parse()
	if *demoN < 0 || *demoN > maxDemoMembers {
		log.Fatalf("-demo-members %d is outside [0, %d]", *demoN, maxDemoMembers)
	}
	if *pprofAddr != "" {
		go func() { log.Println(http.ListenAndServe(*pprofAddr, nil)) }() // DefaultServeMux has pprof
	}
	if err := run(*addr, *data, *demo, *demoN); err != nil {
		log.Fatal(err)
	}
}

// maxDemoMembers bounds -demo-members: ten times the default, about 3 GB.
const maxDemoMembers = 1_000_000

func run(addr, data string, demo bool, demoN int) error {
	// Listen first: a taken address fails at once rather than after the
	// store has loaded. Connections wait in the backlog until Serve.
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	t0 := time.Now()
	st, err := store.Open(filepath.Join(data, "guildd.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := server.New(st, server.Config{Index: webui.Handler()})
	if err != nil {
		return err
	}
	log.Printf("loaded the store in %v", time.Since(t0).Round(time.Millisecond))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if demo {
		t := time.Now()
		if err := srv.SeedDemo(demoN); err != nil {
			return err
		}
		log.Printf("demo guild %d ready in %v", server.DemoGuild, time.Since(t).Round(time.Millisecond))
		go srv.RunDemoChurn(ctx)
	}
	// Slow clients may hold a connection for 10 s of headers, the
	// server's BodyTimeout of body, and 2 minutes idle between requests.
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	log.Printf("guildd listening on http://%s", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Printf("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Printf("shutdown: %v", err)
	}
	srv.Close() // sessions get 1001: Shutdown does not track hijacked conns
	return nil  // the deferred st.Close commits what is queued
}
