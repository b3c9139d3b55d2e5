// Command handler is a backend handler: a web server whose POST /session
// gives the browser a session backend for a document.
//
// The browser posts {"document": "doc-42"}; every browser that asks for the
// same document gets the same backend (the document id is the key). The
// answer is ConnectResponse.ForBrowser: the shape the official browser
// libraries (@jamsocket/client, react, socketio) take as it is, with the
// connection URL (which carries a token) and the public status URL; never
// the secret token, which only the session backend sees, as
// x-verified-secret.
//
// Run it against the local dev server (`jamsocket dev`):
//
//	JAMSOCKET_DEV=true go run ./examples/handler
//	curl -X POST localhost:3000/session -d '{"document":"doc-42","wait":true}'
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jamsocket-go/jamsocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	client, err := jamsocket.FromEnv(jamsocket.WithLogger(logger))
	if err != nil {
		logger.Error("configure jamsocket", "error", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv := &http.Server{Addr: *addr, Handler: NewHandler(client, logger), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("listening", "addr", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("serve", "error", err)
		os.Exit(1)
	}
}

// SessionRequest is what the browser posts.
type SessionRequest struct {
	// Document names the shared document; it becomes the backend's key.
	Document string `json:"document"`
	// Wait asks for the answer only once the backend is ready.
	Wait bool `json:"wait"`
}

// NewHandler returns the handler's routes.
func NewHandler(client *jamsocket.Client, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /session", func(w http.ResponseWriter, r *http.Request) {
		var req SessionRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.Document == "" {
			http.Error(w, `{"error":"post {\"document\": \"…\"}"}`, http.StatusBadRequest)
			return
		}
		// In a real application the user comes from your own session.
		conn, err := client.Spawn(r.Context(), &jamsocket.ConnectRequest{
			Key:  req.Document,
			User: r.Header.Get("X-User"),
		})
		if err != nil {
			logger.Error("spawn", "document", req.Document, "error", err)
			http.Error(w, `{"error":"could not get a session backend"}`, http.StatusBadGateway)
			return
		}
		answer := conn.ForBrowser()
		if req.Wait {
			ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
			defer cancel()
			state, err := client.WaitReady(ctx, conn.BackendID)
			if err != nil {
				logger.Error("wait ready", "backend_id", conn.BackendID, "error", err)
				http.Error(w, `{"error":"the session backend did not start"}`, http.StatusBadGateway)
				return
			}
			answer.Status = state.Status
		}
		logger.Info("session", "document", req.Document, "backend", answer)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	})
	return mux
}
