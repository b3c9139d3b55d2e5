// Command backend is a small session backend, the one the README's local
// development section starts from. It listens on $PORT (8080 in a
// container, as on Plane), answers every HTTP request with what the proxy's
// x-verified-* headers say about the caller, echoes WebSocket messages on
// /ws, and on SIGTERM stops taking new connections and lets the open ones
// finish (up to 10 seconds) before it exits.
//
// Build it into a FROM scratch image and run it with the dev server:
//
//	CGO_ENABLED=0 go build -o examples/backend/backend ./examples/backend
//	jamsocket dev -f examples/backend/Dockerfile -w examples/backend/backend
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stdout, nil))
	if err := serve(log); err != nil {
		log.Error("backend failed", "err", err)
		os.Exit(1)
	}
}

// version names the build; set it with -ldflags "-X main.version=…".
var version = "dev"

// Greeting is the line the backend logs once it listens.
const Greeting = "session backend listening"

func serve(log *slog.Logger) error {
	port := os.Getenv("PORT")
	if port == "" {
		return errors.New("PORT is not set; the dev server (or Plane) sets it")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv := &http.Server{
		Addr:              ":" + port,
		Handler:           handler(os.Getenv("SESSION_BACKEND_ID"), os.Getenv("SESSION_BACKEND_KEY")),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx }, // WebSockets end on SIGTERM
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	log.Info(Greeting, "port", port, "backend", os.Getenv("SESSION_BACKEND_ID"))
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("SIGTERM: draining")
	drain, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(drain); err != nil {
		return fmt.Errorf("draining: %w", err)
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

func handler(backendID, key string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		for {
			typ, msg, err := conn.Read(r.Context())
			if err != nil {
				return
			}
			if err := conn.Write(r.Context(), typ, msg); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a := Answer{Version: version, BackendID: backendID, Key: key, Path: r.URL.Path, User: r.Header.Get("X-Verified-Username"), Verified: map[string]string{}}
		if data := r.Header.Get("X-Verified-User-Data"); json.Valid([]byte(data)) {
			a.UserData = json.RawMessage(data)
		}
		for name, values := range r.Header {
			lower := strings.ToLower(name)
			if strings.HasPrefix(lower, "x-verified-") && lower != "x-verified-secret" {
				a.Verified[lower] = strings.Join(values, ",")
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(a)
	})
	return mux
}
