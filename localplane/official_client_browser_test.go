package localplane_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/wsecho"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/types"
)

// The official browser client (@jamsocket/client, SessionBackend) against
// the local plane, from a page of an app served on another origin: what
// the client does, step by step, in a real Chromium.

// officialClientPage is the app's page. Its script does what
// @jamsocket/client does with a ConnectResponse (packages/typescript/client/
// src/main.ts): read status_url, then fetch status_url + "/stream" and
// parse its data: lines only, warning about any other line; then what an
// app does through the connection URL: a plain fetch (the polling
// transport of socket.io) and a WebSocket.
const officialClientPage = `<!doctype html>
<meta charset="utf-8"><link rel="icon" href="data:,"><title>app</title>
<script>
const noCache = () => Math.random().toString(36).substring(2, 15)
window.flow = (() => {
  const seen = []
  let onReady, onTerminated
  const ready = new Promise(r => { onReady = r })
  const terminated = new Promise(r => { onTerminated = r })
  const connected = fetch('/connect', {method: 'POST'}).then(r => r.json())
  async function readStatus(conn) {
    const first = await (await fetch(conn.status_url + '?' + noCache(), {mode: 'cors'})).json()
    if (first.status === 'terminated') throw new Error('terminated before the stream')
    // The client's own URL, trailing brace included.
    const res = await fetch(conn.status_url + '/stream?' + noCache() + '}')
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    for (;;) {
      const {value, done} = await reader.read()
      if (done) break
      for (const line of value.split('\n')) {
        if (!line) continue
        if (!line.trim().startsWith('data:')) {
          console.warn('Skipping message from SSE endpoint: ' + line)
          continue
        }
        const msg = JSON.parse(line.slice(5).trim())
        if (seen.includes(msg.status)) continue
        seen.push(msg.status)
        if (msg.status === 'ready') onReady()
        if (msg.status === 'terminated') {
          onTerminated(msg)
          reader.cancel()
          return
        }
      }
    }
    console.error('Jamsocket status stream ended unexpectedly')
  }
  connected.then(readStatus)
  let ws, wsClosed
  return {
    async exchange() {
      const conn = await connected
      await ready
      const polled = await (await fetch(conn.url + 'poll?n=1')).json()
      ws = new WebSocket(conn.url.replace(/^http/, 'ws') + 'ws')
      wsClosed = new Promise(r => ws.addEventListener('close', e => r(e.code)))
      await new Promise((resolve, reject) => {
        ws.onopen = resolve
        ws.onerror = () => reject(new Error('the WebSocket failed'))
      })
      const answer = new Promise(r => ws.addEventListener('message', e => r(e.data), {once: true}))
      ws.send('hello')
      return {backend_id: conn.backend_id, polled: polled.n, echoed: await answer, has_secret: 'secret_token' in conn}
    },
    async afterEnd() {
      const conn = await connected
      const last = await terminated
      const closeCode = await wsClosed
      const gone = await fetch(conn.url + 'poll?n=2')
      const status = await (await fetch(conn.status_url + '?' + noCache(), {mode: 'cors'})).json()
      return {seen, last, close_code: closeCode, gone: gone.status, status: status.status}
    },
  }
})()
</script>`

// appBackend is a session backend that serves an app's page through the
// proxy: JSON on /poll, the WebSocket echo (which takes any origin) on /ws.
func appBackend(localplane.Backend) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/poll", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"n":%q}`, r.URL.Query().Get("n"))
	})
	mux.HandleFunc("/ws", wsecho.Serve)
	return mux
}

// appServer serves officialClientPage and, as the app's server does, a
// /connect that connects to the plane and hands the page the
// ConnectResponse without its secret.
func appServer(t *testing.T, p *plane) string {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, officialClientPage)
	})
	mux.HandleFunc("POST /connect", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Post(p.APIURL()+"/v2/service/acct/svc/connect", "application/json", strings.NewReader(`{"key":"room"}`))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var conn map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&conn); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		delete(conn, "secret_token")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(conn)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// localhost, not the plane's 127.0.0.1: another origin, and another site.
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

// consoleWatch collects the tab's console warnings, errors and exceptions,
// from every source. Its result is complete once a marker logged after
// the steps has come through.
type consoleWatch struct {
	mu       sync.Mutex
	problems []string
	marker   chan struct{}
	done     chan struct{}
	stop     context.CancelFunc
}

const consoleMarker = "console-watch-marker"

func watchConsole(tab context.Context) *consoleWatch {
	ctx, stop := context.WithCancel(tab)
	w := &consoleWatch{marker: make(chan struct{}), done: make(chan struct{}), stop: stop}
	messages := chromedp.Console(ctx)
	go func() {
		defer close(w.done)
		for m, err := range messages {
			if err != nil {
				return
			}
			switch {
			case m.Type == chromedp.ConsoleLog && m.Text == consoleMarker:
				close(w.marker)
			case m.Type == chromedp.ConsoleWarning || m.Type == chromedp.ConsoleError || m.IsException():
				w.mu.Lock()
				w.problems = append(w.problems, m.Source+" "+m.String())
				w.mu.Unlock()
			}
		}
	}()
	return w
}

// result logs the marker, waits for it and returns what was collected.
func (w *consoleWatch) result(t *testing.T, tab context.Context) []string {
	t.Helper()
	do(t, tab, chromedp.Evaluate[chromedp.Void](`console.log("`+consoleMarker+`")`))
	<-w.marker
	w.stop()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.problems
}

// pageExchange is what the page's exchange step reports.
type pageExchange struct {
	BackendID string `json:"backend_id"`
	Polled    string `json:"polled"`
	Echoed    string `json:"echoed"`
	HasSecret bool   `json:"has_secret"`
}

// pageEnd is what the page saw once its backend ended.
type pageEnd struct {
	Seen      []string           `json:"seen"`
	Last      types.BackendState `json:"last"`
	CloseCode int                `json:"close_code"`
	Gone      int                `json:"gone"`
	Status    string             `json:"status"`
}

func TestOfficialClientFlowFromAnotherOrigin(t *testing.T) {
	tab := newTab(t)
	p := startPlane(t, localplane.Config{Handler: appBackend}) // keep-alives every 50 ms
	console := watchConsole(tab)
	do(t, tab, chromedp.Navigate(appServer(t, p)+"/"))

	exchanged := run(t, tab, chromedp.Evaluate[pageExchange](`window.flow.exchange()`, chromedp.EvalAwaitPromise))
	assert.Equal(t, "1", exchanged.Polled, "a polling request through the connection URL")
	assert.Equal(t, wsecho.Prefix+"hello", exchanged.Echoed, "a WebSocket through the connection URL")
	assert.False(t, exchanged.HasSecret, "the page never sees the secret")

	// Two keep-alive intervals of silence on Plane's stream: the Jamsocket
	// stream the page reads had the time to send keep-alives, if it did.
	pl := p.openStream(p.APIURL() + "/pub/b/" + exchanged.BackendID + "/status-stream")
	pl.until(types.StatusReady)
	pl.keepAlives(2)
	require.NoError(t, p.Terminate(exchanged.BackendID, false), "the app's server terminates the backend")

	ended := run(t, tab, chromedp.Evaluate[pageEnd](`window.flow.afterEnd()`, chromedp.EvalAwaitPromise))
	assert.Equal(t, []string{"scheduled", "loading", "starting", "waiting", "ready", "terminating", "terminated"}, ended.Seen)
	assert.Equal(t, types.ReasonExternal, ended.Last.TerminationReason)
	assert.NotZero(t, ended.CloseCode, "the WebSocket was closed when the backend ended")
	assert.Equal(t, http.StatusGone, ended.Gone, "the 410 is readable from the other origin")
	assert.Equal(t, "terminated", ended.Status)

	// The browser logs the 410 it was shown as a failed load; nothing else
	// may be in the console: no warning about a keep-alive line, no CORS
	// refusal.
	var problems []string
	for _, m := range console.result(t, tab) {
		if !(strings.HasPrefix(m, "network ") && strings.Contains(m, "410")) {
			problems = append(problems, m)
		}
	}
	assert.Empty(t, problems, "console warnings and errors")
}
