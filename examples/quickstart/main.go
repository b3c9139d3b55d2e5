// Command quickstart is the whole story of a session backend on one screen,
// on any machine: no Docker, no account.
//
// It starts a local plane in-process, with this same program as the session
// backend (run as a real child process), then: spawns a backend with a key,
// follows its status until ready, calls it through its connection URL and
// prints what the backend saw, connects again with the same key (no second
// spawn), terminates it, and prints the final state.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
)

func main() {
	// The local plane runs this program again as the session backend; it
	// knows by the variables a Plane drone sets.
	if os.Getenv("SESSION_BACKEND_ID") != "" {
		if err := serveBackend(); err != nil {
			fmt.Fprintln(os.Stderr, "backend:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run tells the story on out.
func run(ctx context.Context, out io.Writer) error {
	// The backend's output arrives on the plane's goroutines.
	out = &lockedWriter{w: out}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	plane, err := localplane.New(localplane.Config{
		APIAddr:   "127.0.0.1:0",
		ProxyAddr: "127.0.0.1:0",
		Command:   []string{self},
		Logger:    slog.New(slog.DiscardHandler),
		BackendOutput: func(id, stream, line string) {
			fmt.Fprintf(out, "    [%s %s] %s\n", id, stream, line)
		},
	})
	if err != nil {
		return err
	}
	if err := plane.Start(); err != nil {
		return err
	}
	defer plane.Close()
	fmt.Fprintf(out, "local plane: API %s, proxy %s\n\n", plane.APIURL(), plane.ProxyURL())

	// Dev mode is how an application talks to a local dev server.
	client, err := jamsocket.New(jamsocket.Config{Dev: true, DevPort: portOf(plane.APIURL())})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	start := time.Now()
	conn, err := client.Spawn(ctx, &jamsocket.ConnectRequest{
		Key:  "quickstart-doc",
		User: "alice",
		Auth: map[string]any{"role": "editor"},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "spawn key=quickstart-doc: backend %s, spawned: %t\n", conn.BackendID, conn.Spawned)

	for state, err := range client.StatusStream(ctx, conn.BackendID) {
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %8s  %s\n", time.Since(start).Round(time.Millisecond/10), state.Status)
		if state.Status == jamsocket.StatusReady {
			break
		}
	}

	seen, err := callBackend(ctx, conn.URL+"hello?from=quickstart")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nGET %shello?from=quickstart\n", redactToken(conn.URL))
	fmt.Fprintf(out, "  the backend %s (key %s) saw path %s\n", seen.BackendID, seen.Key, seen.Path)
	for _, name := range []string{"x-verified-username", "x-verified-user-data", "x-verified-backend", "x-verified-path", "x-verified-secret"} {
		value := seen.Headers[name]
		if name == "x-verified-secret" || name == "x-verified-path" {
			value = redactToken(value) // both carry secrets
		}
		fmt.Fprintf(out, "  %-22s %s\n", name+":", value)
	}

	again, err := client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "quickstart-doc", User: "bob"})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nspawn key=quickstart-doc again: backend %s, spawned: %t, status: %s\n", again.BackendID, again.Spawned, again.Status)

	if err := client.Terminate(ctx, conn.BackendID, nil); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nterminate (soft)")
	var final *jamsocket.BackendState
	for state, err := range client.StatusStream(ctx, conn.BackendID) {
		if err != nil {
			return err
		}
		if state.Status.IsEnding() {
			fmt.Fprintf(out, "  %8s  %s\n", time.Since(start).Round(time.Millisecond/10), state.Status)
		}
		final = state
	}
	exit := "unknown"
	if final.ExitError != nil {
		exit = strconv.FormatBool(*final.ExitError)
	}
	fmt.Fprintf(out, "\nfinal state: %s, reason: %s, kind: %s, exit_error: %s\n", final.Status, final.TerminationReason, final.TerminationKind, exit)
	return nil
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// whoAmI is what the backend answers.
type whoAmI struct {
	BackendID string            `json:"backend_id"`
	Key       string            `json:"key"`
	Path      string            `json:"path"`
	Headers   map[string]string `json:"headers"`
}

func callBackend(ctx context.Context, u string) (*whoAmI, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	// A browser cannot forge these: the proxy strips them.
	req.Header.Set("X-Verified-Username", "mallory")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("backend answered %s", resp.Status)
	}
	var seen whoAmI
	return &seen, json.NewDecoder(resp.Body).Decode(&seen)
}

// serveBackend is the session backend: it answers on $PORT with what it
// knows about itself and the caller, and stops on SIGTERM.
func serveBackend() error {
	id, key := os.Getenv("SESSION_BACKEND_ID"), os.Getenv("SESSION_BACKEND_KEY")
	srv := &http.Server{
		Addr:              "127.0.0.1:" + os.Getenv("PORT"),
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			headers := map[string]string{}
			for name := range r.Header {
				if lower := strings.ToLower(name); strings.HasPrefix(lower, "x-verified-") {
					headers[lower] = r.Header.Get(name)
				}
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(whoAmI{BackendID: id, Key: key, Path: r.URL.RequestURI(), Headers: headers})
		}),
	}
	fmt.Printf("listening on port %s\n", os.Getenv("PORT"))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		fmt.Println("SIGTERM: shutting down")
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func portOf(rawURL string) int {
	u, _ := url.Parse(rawURL)
	port, _ := strconv.Atoi(u.Port())
	return port
}

// redactToken hides the connection token, the first path segment of a
// connection URL, wherever it appears.
func redactToken(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		if i := strings.Index(strings.TrimPrefix(s, "/"), "/"); i > 0 {
			return "/[token]" + strings.TrimPrefix(s, "/")[i:]
		}
		return "[redacted]"
	}
	parts := strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 2)
	rest := ""
	if len(parts) == 2 {
		rest = parts[1]
	}
	return u.Scheme + "://" + u.Host + "/[token]/" + rest
}
