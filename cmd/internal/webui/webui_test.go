package webui

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHandlerServesPage(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()

	for _, path := range []string{"/", "/index.html"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, res.StatusCode)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		if res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", path)
		}
		if string(body) != string(indexHTML) {
			t.Errorf("GET %s: body is not the embedded page (%d bytes, want %d)", path, len(body), len(indexHTML))
		}
	}

	for _, path := range []string{"/app.js", "/guilds/x", "/favicon.ico"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, res.StatusCode)
		}
	}

	res, err := http.Post(srv.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: status %d, Allow %q; want 405 with Allow: GET, HEAD", res.StatusCode, res.Header.Get("Allow"))
	}
}

// TestPageIsSelfContained checks that the page loads nothing from outside the
// server it came from: no absolute URLs, no external scripts or styles.
func TestPageIsSelfContained(t *testing.T) {
	page := string(indexHTML)
	for _, bad := range []string{"http://", "https://", "<script src", "<link rel=\"stylesheet\"", "@import", "//cdn"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, want := range []string{"/gateway", "'/guilds'", "window.__memberlist", "dataset.index", "op: 'subscribe'"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestErrorsAreJSON: the page's handler is guildd's catch-all, so its errors
// are the API's: {"error": "..."} (a mistyped API path such as /guild/1 or
// /healthz/ got net/http's plain-text "404 page not found").
func TestErrorsAreJSON(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/guild/1", http.StatusNotFound},
		{"GET", "/healthz/", http.StatusNotFound},
		{"POST", "/", http.StatusMethodNotAllowed},
		{"DELETE", "/index.html", http.StatusMethodNotAllowed},
	} {
		req, err := http.NewRequest(c.method, srv.URL+c.path, nil)
		require.NoError(t, err)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var body struct{ Error string }
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		require.Equal(t, c.code, res.StatusCode, "%s %s", c.method, c.path)
		require.Equal(t, "application/json", res.Header.Get("Content-Type"), "%s %s", c.method, c.path)
		require.NoError(t, err, "%s %s", c.method, c.path)
		require.NotEmpty(t, body.Error, "%s %s", c.method, c.path)
	}
}
