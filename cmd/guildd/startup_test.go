package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bucketed/sortedset/cmd/internal/guild"
	"github.com/bucketed/sortedset/cmd/internal/store"
)

// seedDB writes a guild with n members into data/guildd.db and closes it.
func seedDB(t *testing.T, data string, n int) string {
	t.Helper()
	path := filepath.Join(data, "guildd.db")
	st, err := store.Open(path)
	require.NoError(t, err)
	require.NoError(t, <-st.PutGuild(1, "g", nil))
	ms := make([]guild.Member, n)
	for i := range ms {
		ms[i] = guild.Member{ID: uint64(i + 1), Name: fmt.Sprintf("member-%06d", i)}
	}
	require.NoError(t, st.BulkPutMembers(1, ms))
	require.NoError(t, st.Close())
	return path
}

// startOnce runs guildd on data and returns its output once it exits (or
// fails the test if it is still running after 15 s).
func startOnce(t *testing.T, bin, data string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-data", data)
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "guildd did not exit on a bad data dir: %s", out)
	return string(out), err
}

// TestCorruptStoreFailsClearly: a damaged guildd.db ends start-up with an
// error naming the file, not with a panic or a fatal fault.
func TestCorruptStoreFailsClearly(t *testing.T) {
	bin := buildGuildd(t)
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"truncated", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(path, fi.Size()/2))
		}},
		{"garbage pages", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			require.NoError(t, err)
			defer f.Close()
			fi, err := f.Stat()
			require.NoError(t, err)
			junk := []byte(strings.Repeat("\xff\x13\x37", 4096/3+1))[:4096]
			for off := int64(4 * 4096); off < fi.Size(); off += 4 * 4096 {
				_, err := f.WriteAt(junk, off)
				require.NoError(t, err)
			}
		}},
		{"short garbage", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("garbage!", 13)), 0o600))
		}},
		{"zeroed meta pages", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			require.NoError(t, err)
			defer f.Close()
			_, err = f.WriteAt(make([]byte, 2*4096), 0)
			require.NoError(t, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			path := seedDB(t, data, 20000)
			tc.damage(t, path)
			out, err := startOnce(t, bin, data)
			t.Logf("%.300s", out)
			require.Error(t, err, "guildd started on a damaged store: %s", out)
			require.NotContains(t, out, "panic", "a damaged store must be a clear error, not a crash")
			require.NotContains(t, out, "fatal error", "a damaged store must be a clear error, not a crash")
			require.NotContains(t, out, "goroutine ", "a damaged store must be a clear error, not a crash")
			require.Contains(t, out, "guildd.db")
		})
	}
}

// TestStoreInUseFailsClearly: a second guildd on the same -data fails soon
// with a clear error and leaves the first one's data intact.
func TestStoreInUseFailsClearly(t *testing.T) {
	bin := buildGuildd(t)
	data := t.TempDir()
	_, url := runGuildd(t, bin, data)
	mustCall(t, "PUT", url+"/guilds/3", `{"name":"g"}`)
	out, err := startOnce(t, bin, data)
	require.Error(t, err, "%s", out)
	t.Logf("second guildd: %s", out)
	require.Contains(t, out, "guildd.db")
	require.Regexp(t, `(?i)lock|in use|another`, out, "the error should say the store is held by another process")
	require.NotContains(t, out, "panic")
	mustCall(t, "GET", url+"/guilds/3", "")
}

// TestDataDirIsAFile: -data naming a file fails clearly.
func TestDataDirIsAFile(t *testing.T) {
	bin := buildGuildd(t)
	f := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(f, []byte("x"), 0o644))
	out, err := startOnce(t, bin, f)
	require.Error(t, err, "%s", out)
	t.Logf("%s", out)
	require.NotContains(t, out, "panic")
}
