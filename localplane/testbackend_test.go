package localplane_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/jamsocket-go/jamsocket/internal/wsecho"
	"github.com/jamsocket-go/jamsocket/sessionbackend"
)

// runTestBackend is the session backend the process tests run: the test
// binary itself, re-executed. LOCALPLANE_TEST_BACKEND picks the behaviour:
//
//	serve       (default) serve echoHandler on $PORT; exit 0 on SIGTERM
//	ignoreterm  serve, but ignore SIGTERM
//	nolisten    never listen; wait to be killed
//	grandchild  serve, after starting a "nolisten" child of its own
//	sessionbackend  serve echoHandler with package sessionbackend: listen,
//	            take the assignment (from a warm pool's control socket, or
//	            the environment), say Ready; echo the assignment's Env
//	noready     as sessionbackend, but never say Ready
//	gaveup      say Warmed, give up waiting for the assignment after
//	            200 ms (the control connection closes), then idle
//
// A second argument, when given, is the mode (a warm backend's environment
// has no variable of the connect's).
func runTestBackend() int {
	mode := os.Getenv("LOCALPLANE_TEST_BACKEND")
	if len(os.Args) > 2 {
		mode = os.Args[2]
	}
	fmt.Println("backend starting mode=" + mode)
	fmt.Fprintln(os.Stderr, "a line on stderr")
	switch mode {
	case "sessionbackend", "noready":
		return runSessionBackend(mode != "noready")
	case "gaveup":
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := sessionbackend.New().Assignment(ctx)
		fmt.Println("gave up:", err)
		select {}
	case "nolisten":
		select {}
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM)
	case "grandchild":
		cmd := exec.Command(os.Args[0], backendArg)
		cmd.Env = append(os.Environ(), "LOCALPLANE_TEST_BACKEND=nolisten")
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("grandchild pid=%d\n", cmd.Process.Pid)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("listening")
	srv := &http.Server{Handler: echoHandler(nil)}
	ctx, stop := context.WithCancel(context.Background())
	if mode != "ignoreterm" { // Notify would undo the Ignore
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGTERM)
	}
	defer stop()
	go func() {
		<-ctx.Done()
		fmt.Println("got SIGTERM")
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	srv.Serve(ln)
	return 0
}

// runSessionBackend is the test backend written with package
// sessionbackend, in the README's order; without ready it never says
// Ready.
func runSessionBackend(ready bool) int {
	ctx := context.Background()
	sb := sessionbackend.New()
	sb.Host = "127.0.0.1"
	ln, err := sb.Listen(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("listening")
	a, err := sb.Assignment(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("assigned " + a.BackendID)
	if !ready {
		select {}
	}
	if err := a.Ready(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env := maps.Clone(a.Env) // echoed as a cold start's environment
	env["SESSION_BACKEND_ID"], env["SESSION_BACKEND_KEY"] = a.BackendID, a.Key
	env["SESSION_BACKEND_FENCING_TOKEN"] = strconv.FormatInt(a.FencingToken, 10)
	if err := sb.Serve(ctx, ln, echoHandler(env)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// echoed is what echoHandler answers: what the backend saw.
type echoed struct {
	Path    string            `json:"path"`
	Query   string            `json:"query"`
	Headers map[string]string `json:"headers"`
	Env     map[string]string `json:"env"`
	PID     int               `json:"pid"`
}

// echoHandler reports the request, serves a WebSocket echo on /ws and exits
// the process with code 3 on /crash. env, if nil, is read from the process.
func echoHandler(env map[string]string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", wsecho.Serve)
	mux.HandleFunc("/wsheaders", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		data, _ := json.Marshal(verifiedHeaders(r.Header))
		c.Write(r.Context(), websocket.MessageText, data)
		c.Close(websocket.StatusNormalClosure, "")
	})
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("crashing")
		os.Exit(3)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		e := echoed{Path: r.URL.Path, Query: r.URL.RawQuery, Headers: verifiedHeaders(r.Header), Env: map[string]string{}, PID: os.Getpid()}
		for _, k := range []string{"PORT", "SESSION_BACKEND_ID", "SESSION_BACKEND_KEY", "SESSION_BACKEND_FENCING_TOKEN",
			"SESSION_BACKEND_STATIC_TOKEN", "JAMSOCKET_SERVICE", "FOO", "JAMSOCKET_TOKEN", "LOCALPLANE_TEST_PASS", "PATH"} {
			if env != nil {
				if v, ok := env[k]; ok {
					e.Env[k] = v
				}
			} else if v, ok := os.LookupEnv(k); ok {
				e.Env[k] = v
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(e)
	})
	return mux
}

// verifiedHeaders are the x-verified-* and x-test* headers of h, read the
// way a CGI server reads them (case folded, "_" as "-"), each name's values
// joined with ",".
func verifiedHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for name, values := range h {
		l := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if strings.HasPrefix(l, "x-verified-") || strings.HasPrefix(l, "x-test") {
			if old, ok := out[l]; ok {
				values = append([]string{old}, values...)
			}
			out[l] = strings.Join(values, ",")
		}
	}
	return out
}
