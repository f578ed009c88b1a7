//go:build linux

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A guildd that dies before it
// answers /healthz (bad flag, port taken, unreadable data dir...) must make
// Run return an error promptly, not hang in the deferred stop.
func TestSpawnedGuilddThatExitsAtStartIsReported(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "guildd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho cannot start >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig()
	cfg.Spawn, cfg.Guildd, cfg.Progress = true, bin, 0
	var out strings.Builder
	cfg.Out = &out
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), cfg)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "exited") {
			t.Fatalf("Run returned %v, want a 'guildd exited' error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not return 10 s after guildd exited at start (hangs in spawned.stop)\n%s", out.String())
	}
}

// When restarting guildd fails to exec (binary gone,
// fork failure), Run's deferred stop must return, not panic on a nil
// Process (and crash guildload with a trace instead of the error).
func TestStopAfterFailedStart(t *testing.T) {
	dir := t.TempDir()
	s := &spawned{bin: filepath.Join(dir, "no-such-guildd"), data: filepath.Join(dir, "data"), addr: "127.0.0.1:1", logPath: filepath.Join(dir, "log")}
	if err := s.start(); err == nil {
		t.Fatal("start of a missing binary succeeded")
	}
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("stop after a failed start panicked: %v", v)
		}
	}()
	if err := s.stop(); err != nil {
		t.Logf("stop: %v", err)
	}
}
