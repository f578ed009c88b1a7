//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// spawned is a guildd process that guildload built and started itself.
type spawned struct {
	bin, data, addr, logPath string
	pprof                    string // guildd's -pprof address, if any
	cmd                      *exec.Cmd
	exited                   chan error
}

// buildGuildd compiles cmd/guildd into dir. It must run inside the cmd
// module (e.g. `go run -C cmd ./guildload`, or the package's tests).
func buildGuildd(dir string) (string, error) {
	bin := filepath.Join(dir, "guildd")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/bucketed/sortedset/cmd/guildd")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build guildd (run guildload inside the cmd module, or pass -guildd): %v\n%s", err, out)
	}
	return bin, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs the server; it does not wait for it to listen.
func (s *spawned) start() error {
	lf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{"-addr", s.addr, "-data", s.data}
	if s.pprof != "" {
		args = append(args, "-pprof", s.pprof)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Should guildload die without stopping it, the server stops too. (The
	// signal follows the OS thread that started it; guildload locks no
	// goroutine to a thread, so Go does not end that thread early.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return err
	}
	s.cmd = cmd // only a started one: stop signals and waits for it
	s.exited = make(chan error, 1)
	go func() { s.exited <- cmd.Wait(); lf.Close() }()
	return nil
}

// stop sends SIGTERM and waits for the exit (SIGKILL after 60 s).
func (s *spawned) stop() error {
	if s.cmd == nil {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.cmd = nil
		return err
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		err := <-s.exited
		s.cmd = nil
		return fmt.Errorf("guildd did not stop in 60 s after SIGTERM; killed: %v", err)
	}
}

func (s *spawned) pid() int {
	if s == nil || s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// waitUp polls until fn reports true, the process exits or ctx ends.
func (s *spawned) waitUp(ctx context.Context, fn func() bool) error {
	for {
		if fn() {
			return nil
		}
		select {
		case err := <-s.exited:
			s.exited <- err
			return fmt.Errorf("guildd exited: %v (log: %s)", err, s.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// lastLogLine returns the last line of the server log containing substr.
func (s *spawned) lastLogLine(substr string) string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	var last string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			last = sc.Text()
		}
	}
	return last
}

// procMem is a process's resident memory from /proc/PID/status.
type procMem struct {
	RSS, Anon, File int64 // bytes
}

func readProcMem(pid int) (procMem, error) {
	var m procMem
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return m, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.RSS = v << 10
		case "RssAnon:":
			m.Anon = v << 10
		case "RssFile:":
			m.File = v << 10
		}
	}
	return m, nil
}

// cpuTime is a process's user+system CPU time from /proc/PID/stat (pid 0:
// this process).
func cpuTime(pid int) time.Duration {
	p := "self"
	if pid != 0 {
		p = strconv.Itoa(pid)
	}
	data, err := os.ReadFile("/proc/" + p + "/stat")
	if err != nil {
		return 0
	}
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // utime: field 14 of the full line
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// loadAvg is the first field of /proc/loadavg.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to + ".tmp")
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(to+".tmp", to)
}

// cpuPressure is the "some avg10" of /proc/pressure/cpu: the share of the
// last 10 s in which runnable tasks waited for a CPU ("" if unavailable).
func cpuPressure() string {
	data, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return ""
	}
	for _, f := range strings.Fields(strings.SplitN(string(data), "\n", 2)[0]) {
		if v, ok := strings.CutPrefix(f, "avg10="); ok {
			return v + "%"
		}
	}
	return ""
}
