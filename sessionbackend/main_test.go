package sessionbackend_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/jamsocket-go/jamsocket/sessionbackend"
)

// childVar, set, makes the test binary a tiny session backend (childMain),
// so that a test can stop a real process with a real SIGTERM.
const childVar = "SESSIONBACKEND_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childVar) != "" {
		os.Exit(childMain())
	}
	goleak.VerifyTestMain(m)
}

// childMain is a session backend as a user writes one: New, Listen,
// Assignment, Ready, Serve. GET /slow answers its headers at once and its
// body when the drain begins.
func childMain() int {
	ctx := context.Background()
	sb := sessionbackend.New()
	sb.Host = "127.0.0.1"
	ln, err := sb.Listen(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	a, err := sb.Assignment(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := a.Ready(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(ln.Addr(), a.BackendID, a.Key)
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		<-sessionbackend.Draining(r.Context())
		_, _ = io.WriteString(w, "finished while draining")
	})
	if err := sb.Serve(ctx, ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("drained")
	return 0
}

// childEnv is the environment of a re-executed test binary: PATH, GORACE
// so that under -race it does not sleep at exit, GOCOVERDIR under -cover
// (without it the child warns at exit; with it the go command counts the
// child's coverage), and extra.
func childEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "GORACE=atexit_sleep_ms=0", childVar + "=1"}
	if f := flag.Lookup("test.gocoverdir"); f != nil && f.Value.String() != "" {
		env = append(env, "GOCOVERDIR="+f.Value.String())
	}
	return append(env, extra...)
}
