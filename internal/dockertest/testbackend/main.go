// Command testbackend is the session backend the container tests run, built
// into a FROM scratch image by dockertest.GoImage. It serves on $PORT on every
// interface (as a container must) and TESTBACKEND_MODE picks its behaviour:
//
//	serve       (default) serve; drain and exit 0 on SIGTERM
//	ignoreterm  serve, but ignore SIGTERM
//	nolisten    never listen; wait to be killed
//
// GET / answers with the x-verified-* headers, the Plane variables of its
// environment and FOO, as JSON; /ws echoes WebSocket messages; /exit?code=N
// exits with code N; /write?name=F&data=D writes D to /plane-data/F,
// /read?name=F answers its content, /symlink?name=F&target=T makes
// /plane-data/F a symbolic link to T, and /list answers the names in
// /plane-data, one a line.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/wsecho"
)

func main() {
	mode := os.Getenv("TESTBACKEND_MODE")
	fmt.Println("testbackend starting mode=" + mode)
	fmt.Fprintln(os.Stderr, "a line on stderr")
	switch mode {
	case "nolisten":
		for { // a bare select{} would be a deadlock the runtime exits on
			time.Sleep(time.Hour)
		}
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM)
	}
	srv := &http.Server{Addr: ":" + os.Getenv("PORT"), Handler: handler(), ReadHeaderTimeout: 10 * time.Second}
	if mode != "ignoreterm" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		go func() {
			<-ctx.Done()
			fmt.Println("got SIGTERM")
			shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(shutdown)
		}()
	}
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", wsecho.Serve)
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		fmt.Printf("exiting with %d\n", code)
		os.Exit(code)
	})
	mux.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if err := os.WriteFile(filepath.Join("/plane-data", filepath.Base(q.Get("name"))), []byte(q.Get("data")), 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		data, err := os.ReadFile(filepath.Join("/plane-data", filepath.Base(r.URL.Query().Get("name"))))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		_, _ = w.Write(data)
	})
	mux.HandleFunc("/symlink", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if err := os.Symlink(q.Get("target"), filepath.Join("/plane-data", filepath.Base(q.Get("name")))); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		entries, err := os.ReadDir("/plane-data")
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		for _, e := range entries {
			fmt.Fprintln(w, e.Name())
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		out := struct {
			Headers map[string]string `json:"headers"`
			Env     map[string]string `json:"env"`
		}{map[string]string{}, map[string]string{}}
		for name := range r.Header {
			if l := strings.ToLower(name); strings.HasPrefix(l, "x-verified-") {
				out.Headers[l] = strings.Join(r.Header.Values(name), ",")
			}
		}
		for _, k := range []string{"PORT", "SESSION_BACKEND_ID", "SESSION_BACKEND_KEY", "SESSION_BACKEND_FENCING_TOKEN",
			"SESSION_BACKEND_STATIC_TOKEN", "JAMSOCKET_SERVICE", "FOO"} {
			if v, ok := os.LookupEnv(k); ok {
				out.Env[k] = v
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	return mux
}
