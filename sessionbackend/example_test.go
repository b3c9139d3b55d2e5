package sessionbackend_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/jamsocket-go/jamsocket/sessionbackend"
)

// A session backend's main: listen, learn the assignment, initialise for
// the key, say ready, serve until SIGTERM and drain. The same program runs
// in a warm pool and without one.
func ExampleNew() {
	ctx := context.Background()
	sb := sessionbackend.New() // PORT, SESSION_BACKEND_*, the control socket
	ln, err := sb.Listen(ctx)
	if err != nil {
		log.Fatal(err)
	}
	a, err := sb.Assignment(ctx)
	if err != nil {
		log.Fatal(err)
	}
	room := http.NewServeMux() // per-key state would be loaded here, for a.Key
	room.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "room %s, hello %s\n", a.Key, sessionbackend.IdentityOf(r).User)
	})
	if err := a.Ready(); err != nil {
		log.Fatal(err)
	}
	if err := sb.Serve(ctx, ln, room); err != nil {
		log.Fatal(err)
	}
}

// Without a control socket the assignment is the environment's. New fills
// Env from the process's environment; here it is given.
func ExampleBackend_Assignment() {
	sb := &sessionbackend.Backend{Env: map[string]string{
		"SESSION_BACKEND_ID": "b-1", "SESSION_BACKEND_KEY": "doc-42", "SESSION_BACKEND_FENCING_TOKEN": "1700000000000",
		"DATABASE_URL": "postgres://db/app",
	}}
	a, err := sb.Assignment(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.BackendID, a.Key, a.FencingToken, a.Env)
	// Output: b-1 doc-42 1700000000000 map[DATABASE_URL:postgres://db/app]
}

// Ready tells a warm pool's platform to route requests here; without a
// control socket there is nothing to tell.
func ExampleAssignment_Ready() {
	sb := &sessionbackend.Backend{Env: map[string]string{"SESSION_BACKEND_ID": "b-1", "SESSION_BACKEND_KEY": "doc-42"}}
	a, err := sb.Assignment(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Ready())
	// Output: <nil>
}

// Serve stops on SIGTERM or when its context ends, and drains: the
// request still running is served before Serve returns.
func ExampleBackend_Serve() {
	sb := &sessionbackend.Backend{Host: "127.0.0.1", Port: 0} // port 0: any free one
	ln, err := sb.Listen(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- sb.Serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			stop() // as if SIGTERM came now
			<-sessionbackend.Draining(r.Context())
			fmt.Fprintln(w, "served while draining")
		}))
	}()
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(body))
	fmt.Println("Serve:", <-served)
	// Output:
	// served while draining
	// Serve: <nil>
}

// A WebSocket or a stream ends when the backend drains: its handler
// watches Draining, and says goodbye while its context still lives.
func ExampleDraining() {
	events := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for {
			select {
			case <-sessionbackend.Draining(r.Context()):
				fmt.Fprint(w, "event: bye\ndata: the backend is stopping\n\n")
				return
			case <-r.Context().Done():
				return
			}
		}
	}
	_ = events
}

// The proxy tells the backend who the request is from.
func ExampleIdentityOf() {
	r := httptest.NewRequest("GET", "/doc", nil) // as the proxy passes it on:
	r.Header.Set("X-Verified-Username", "ann")
	r.Header.Set("X-Verified-User-Data", `{"role":"editor"}`)
	r.Header.Set("X-Verified-Secret", "secret-of-the-token")
	id := sessionbackend.IdentityOf(r)
	fmt.Println(id.User, string(id.UserData))
	fmt.Println(id) // no secret
	// Output:
	// ann {"role":"editor"}
	// user="ann" backend="" user_data=17B secret=true
}

// UserData decodes the connect's auth into a type of yours.
func ExampleUserData() {
	type Auth struct {
		Role string `json:"role"`
	}
	r := httptest.NewRequest("GET", "/doc", nil)
	r.Header.Set("X-Verified-User-Data", `{"role":"editor"}`)
	auth, err := sessionbackend.UserData[Auth](r)
	if err != nil {
		log.Fatal(err) // ErrNoUserData, or a *UserDataError
	}
	fmt.Println(auth.Role)
	// Output: editor
}
