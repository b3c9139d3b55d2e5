// Command backend is a small session backend, the one the README's local
// development section starts from, written with package sessionbackend. It
// listens on $PORT (8080 when unset, as in a container on Plane), answers
// every HTTP request with what the proxy's x-verified-* headers say about
// the caller, echoes WebSocket messages on /ws, and on SIGTERM stops taking
// new connections, closes its WebSockets with 1001 (going away) and lets
// the requests in flight finish before it exits. It works in a warm pool
// too: it learns its backend id and key from sessionbackend.
//
// Build it into a FROM scratch image and run it with the dev server:
//
//	CGO_ENABLED=0 go build -o examples/backend/backend ./examples/backend
//	jamsocket dev -f examples/backend/Dockerfile -w examples/backend/backend
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/coder/websocket"

	"github.com/jamsocket-go/jamsocket/sessionbackend"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stdout, nil))
	if err := serve(context.Background(), log); err != nil {
		log.Error("backend failed", "err", err)
		os.Exit(1)
	}
}

// version names the build; set it with -ldflags "-X main.version=…".
var version = "dev"

// Greeting is the line the backend logs once it listens.
const Greeting = "session backend listening"

func serve(ctx context.Context, log *slog.Logger) error {
	sb := sessionbackend.New()
	sb.Logger = log
	ln, err := sb.Listen(ctx)
	if err != nil {
		return err
	}
	log.Info(Greeting, "port", sb.Port)
	a, err := sb.Assignment(ctx)
	if err != nil {
		return err
	}
	log.Info("assigned", "assignment", a)
	if err := a.Ready(); err != nil {
		return err
	}
	if err := sb.Serve(ctx, ln, handler(a)); err != nil {
		return err
	}
	log.Info("drained; exiting")
	return nil
}

// Answer is what the backend answers an HTTP request with.
type Answer struct {
	// Version is the build's version (see version).
	Version   string `json:"version"`
	BackendID string `json:"backend_id"`
	Key       string `json:"key"`
	Path      string `json:"path"`
	// User is x-verified-username, UserData x-verified-user-data (the
	// connect's auth, as JSON).
	User     string          `json:"user"`
	UserData json.RawMessage `json:"user_data,omitempty"`
	// Verified holds every x-verified-* header, by lower-case name, except
	// the secret.
	Verified map[string]string `json:"verified"`
}

func handler(a *sessionbackend.Assignment) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", echo)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		id := sessionbackend.IdentityOf(r)
		answer := Answer{Version: version, BackendID: a.BackendID, Key: a.Key, Path: r.URL.Path, User: id.User, Verified: map[string]string{}}
		if data, err := sessionbackend.UserData[json.RawMessage](r); err == nil {
			answer.UserData = data
		}
		for name, values := range r.Header {
			lower := strings.ToLower(name)
			if strings.HasPrefix(lower, "x-verified-") && lower != "x-verified-secret" {
				answer.Verified[lower] = strings.Join(values, ",")
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	})
	return mux
}

// echo sends each WebSocket message back until the peer goes, or the
// backend drains: then it closes with 1001 (going away).
func echo(w http.ResponseWriter, r *http.Request) {
	// Any origin: the page that opens the socket is the app's, never the
	// backend's own, and what authorizes the connection is the token in its
	// URL (the proxy refuses a request without a valid one), not the origin.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx := r.Context()
	go func() {
		select {
		case <-sessionbackend.Draining(ctx):
			_ = conn.Close(websocket.StatusGoingAway, "the backend is stopping")
		case <-ctx.Done():
		}
	}()
	for {
		typ, msg, err := conn.Read(ctx)
		if err != nil {
			return
		}
		if err := conn.Write(ctx, typ, msg); err != nil {
			return
		}
	}
}
