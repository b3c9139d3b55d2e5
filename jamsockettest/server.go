// Package jamsockettest runs a real local plane inside a test, in the spirit
// of net/http/httptest: NewServer starts one on free ports, with your session
// backend as an in-process handler (or a command), and hands back a Client
// configured for it. Everything is torn down when the test ends.
//
//	func TestEditor(t *testing.T) {
//		srv := jamsockettest.NewServer(t, nil) // backends answer with jamsockettest.Echo
//		conn, err := srv.Client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-1"})
//		…
//	}
//
// Backends can also be real processes: a command of yours, or the test
// binary itself (SelfCommand, served by BackendMain in TestMain).
//
// The plane is the real thing (package localplane), not a mock: statuses
// move through the real lifecycle, the proxy passes real requests and
// WebSockets with the verified headers, and keys, idle and lifetime limits,
// and termination behave as on Jamsocket.
package jamsockettest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/internal/dockerbuild"
	"github.com/jamsocket-go/jamsocket/internal/dockertest"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// Options adjust NewServer. The zero value (or nil) serves Echo backends to
// a Client of the Jamsocket surface.
type Options struct {
	// Handler serves each backend in-process; Echo when both Handler and
	// Command are empty.
	Handler func(localplane.Backend) http.Handler
	// Command runs each backend as a process instead (see
	// localplane.Config.Command).
	Command []string
	// Image runs each backend as a Docker container of this local image
	// instead, made as Plane makes it (see localplane.ContainerConfig): your
	// real artifact. It needs a Docker engine (DOCKER_HOST or the default
	// socket): without one NewServer skips the test, saying what is missing,
	// or fails it when JAMSOCKET_REQUIRE_DOCKER=1.
	Image string
	// Dockerfile, when Image is empty, is built with the docker CLI (the
	// build context is DockerContext, default the Dockerfile's directory)
	// once per test binary, and its image runs as Image does.
	Dockerfile, DockerContext string
	// WarmPool keeps this many backends started before any spawn asks for
	// one (localplane.Config.WarmPool): a spawn takes one and it is ready as
	// soon as it says so. Command and Image backends only, written for it:
	// SelfCommand with BackendMain, or a program using package
	// sessionbackend.
	WarmPool int
	// Token is the API token the plane demands and the Client sends;
	// "test-token" when empty. Configure may still change it.
	Token string
	// Plane makes Client speak Plane's controller API (jamsocket.NewPlane)
	// instead of Jamsocket's.
	Plane bool
	// Configure, if set, adjusts the plane's configuration last (startup
	// timeout, grace period, logger, …).
	Configure func(*localplane.Config)
	// ClientOptions are passed to the Client.
	ClientOptions []jamsocket.Option
	// TracerProvider, if set, receives the OpenTelemetry spans of the
	// Client (jamsocket.WithTracerProvider, before ClientOptions) and of
	// the plane (localplane.Config.TracerProvider): its connects, each
	// backend's start with its steps, the runner's start and the readiness
	// probe. The plane reads the caller's trace context as W3C
	// traceparent, so a spawn is one trace from the caller's span to the
	// backend's readiness.
	TracerProvider trace.TracerProvider
}

// Server is a running local plane and a Client for it.
type Server struct {
	// Plane is the running local plane.
	Plane *localplane.Server
	// Client is configured for Plane, with the token.
	Client *jamsocket.Client
	// APIURL and ProxyURL are the plane's two listeners.
	APIURL, ProxyURL string
	// ConsoleURL is the plane's web console (APIURL + "/"): open it in a
	// browser, e.g. while a test is paused in a debugger.
	ConsoleURL string

	token string
	plane bool
}

// Test identities the Jamsocket-surface Client uses.
const (
	Account = "test-account"
	Service = "test-service"
)

// NewServer starts a local plane on free loopback ports and registers its
// Close with t.Cleanup. It fails the test if the plane cannot start.
func NewServer(t testing.TB, opts *Options) *Server {
	t.Helper()
	if opts != nil && (opts.Image != "" || opts.Dockerfile != "") {
		cli, err := dockertest.Connect(context.Background())
		if err != nil {
			dockertest.Unavailable(t, err)
		}
		_ = cli.Close()
		if _, err := exec.LookPath("docker"); err != nil && opts.Image == "" {
			dockertest.Unavailable(t, fmt.Errorf("the docker command (which builds Options.Dockerfile) is not installed: %w", err))
		}
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("jamsockettest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("jamsockettest: closing the local plane: %v", err)
		}
	})
	return s
}

// Start is NewServer for code without a testing.TB (examples, programs): the
// caller must Close the server.
func Start(opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	token := opts.Token
	if token == "" {
		token = "test-token"
	}
	cfg := localplane.Config{
		APIAddr:   "127.0.0.1:0",
		ProxyAddr: "127.0.0.1:0",
		Token:     token,
		Command:   opts.Command,
		Handler:   opts.Handler,
		WarmPool:  opts.WarmPool,
		Logger:    slog.New(slog.DiscardHandler),

		TracerProvider: opts.TracerProvider,
		Propagator:     propagation.TraceContext{},
	}
	switch {
	case opts.Image != "" || opts.Dockerfile != "":
		image, err := containerImage(opts)
		if err != nil {
			return nil, err
		}
		cfg.Container = &localplane.ContainerConfig{Image: image}
	case cfg.Handler == nil && len(cfg.Command) == 0:
		cfg.Handler = Echo
	}
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	plane, err := localplane.New(cfg)
	if err != nil {
		return nil, err
	}
	if err := plane.Start(); err != nil {
		return nil, fmt.Errorf("starting the local plane: %w", err)
	}
	// Configure may have changed the token: the Client sends the one the
	// plane demands.
	s := &Server{Plane: plane, APIURL: plane.APIURL(), ProxyURL: plane.ProxyURL(), ConsoleURL: plane.APIURL() + "/", token: cfg.Token, plane: opts.Plane}
	clientOpts := opts.ClientOptions
	if opts.TracerProvider != nil {
		clientOpts = append([]jamsocket.Option{jamsocket.WithTracerProvider(opts.TracerProvider)}, clientOpts...)
	}
	if s.Client, err = s.NewClient(clientOpts...); err != nil {
		_ = plane.Close()
		return nil, err
	}
	return s, nil
}

// NewClient returns another Client for the plane, with other options.
func (s *Server) NewClient(opts ...jamsocket.Option) (*jamsocket.Client, error) {
	if s.plane {
		return jamsocket.NewPlane(jamsocket.PlaneConfig{
			ControllerURL: s.APIURL, Token: s.token,
			Executable: jamsocket.PlaneExecutable{Image: "jamsockettest"},
		}, opts...)
	}
	return jamsocket.New(jamsocket.Config{
		Account: Account, Service: Service, Token: s.token, APIURL: s.APIURL,
	}, opts...)
}

// Terminate stops a backend from outside, as an operator or a crash would,
// without going through the API.
func (s *Server) Terminate(backendID string, hard bool) error {
	return s.Plane.Terminate(backendID, hard)
}

// Backends lists every backend the plane knows, live or recently terminated.
func (s *Server) Backends() []localplane.BackendView { return s.Plane.Backends() }

// Close terminates every backend, waits for their processes to be gone, and
// stops the plane. NewServer registers it with t.Cleanup; calling it earlier
// is fine.
func (s *Server) Close() error { return s.Plane.Close() }

// EchoResponse is what an Echo backend answers: who it is and what the
// proxy told it about the caller.
type EchoResponse struct {
	BackendID string `json:"backend_id"`
	Key       string `json:"key"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	// Verified holds the x-verified-* headers the backend received, by
	// lower-case name.
	Verified map[string]string `json:"verified"`
}

// Echo is a session backend that answers every request with an
// EchoResponse in JSON, and every WebSocket message with the same message.
func Echo(b localplane.Backend) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			echoWebSocket(w, r)
			return
		}
		resp := EchoResponse{BackendID: b.ID, Key: b.Key, Method: r.Method, Path: r.URL.RequestURI(), Verified: map[string]string{}}
		for name, values := range r.Header {
			if lower := strings.ToLower(name); strings.HasPrefix(lower, "x-verified-") {
				resp.Verified[lower] = strings.Join(values, ",")
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	})
}

// echoWebSocket sends each message back until the peer or the backend goes.
func echoWebSocket(w http.ResponseWriter, r *http.Request) {
	// Any origin, as a real session backend must: the browser opens the
	// socket from the app's page, never the backend's own origin, and the
	// connection URL's token is what authorizes it.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
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
}

var (
	builtMu sync.Mutex
	built   = map[[2]string]string{} // Dockerfile and context -> image id
)

// containerImage is the image of Options.Image, or of Options.Dockerfile,
// built once per test binary.
func containerImage(opts *Options) (string, error) {
	if opts.Image != "" {
		return opts.Image, nil
	}
	dockerfile, err := filepath.Abs(opts.Dockerfile)
	if err != nil {
		return "", err
	}
	buildContext := opts.DockerContext
	if buildContext == "" {
		buildContext = filepath.Dir(dockerfile)
	}
	key := [2]string{dockerfile, buildContext}
	builtMu.Lock()
	defer builtMu.Unlock()
	if id, ok := built[key]; ok {
		return id, nil
	}
	id, err := dockerbuild.Build(context.Background(), dockerfile, buildContext, dockerbuild.Options{})
	if err != nil {
		return "", fmt.Errorf("building %s: %w", opts.Dockerfile, err)
	}
	built[key] = id
	return id, nil
}
