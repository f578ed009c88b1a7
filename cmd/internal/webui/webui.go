// Package webui serves guildd's live member-list page.
//
// The page is a single HTML file with its CSS and JavaScript inline, embedded in
// the binary: no build step, no CDN, nothing fetched from outside the server. It
// lists the guilds from GET /guilds, subscribes to the chosen guild's member list
// over the /gateway WebSocket, applies SYNC, INSERT, DELETE, UPDATE and
// INVALIDATE to its copy of the list, and shows it with virtual scrolling: only
// the rows in view are in the DOM, and the subscribed ranges follow the scroll
// position.
package webui

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"net/http"
	"time"
)

//go:embed index.html
var indexHTML []byte

// loaded stands in for the page's modification time, for conditional requests.
var loaded = time.Now()

// contentSecurityPolicy allows the page's inline script and style and
// connections to its own origin (fetch and the WebSocket) only.
const contentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
	"connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler returns the handler for the page. It answers GET and HEAD of "/" and
// "/index.html" and 404s every other path, so it can be mounted as the
// catch-all "GET /" of a mux that serves the API on more specific patterns;
// its errors are JSON, as the API's are.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" && r.URL.Path != "/index.html" {
		writeError(w, http.StatusNotFound, "no such route")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; allowed: GET, HEAD")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	http.ServeContent(w, r, "index.html", loaded, bytes.NewReader(indexHTML))
}

// writeError answers as the API the page is mounted with does: every other
// path of guildd reaches this handler, and its errors are {"error": "..."}.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{msg})
}
