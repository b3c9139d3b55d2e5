package localplane_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/jamsocket-go/jamsocket/localplane"
)

// The console is served at "/" of the API listener; Console returns it as
// a handler to mount in a server of your own, here under /plane/.
func ExampleServer_Console() {
	srv, err := localplane.New(localplane.Config{
		APIAddr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0",
		Handler: func(b localplane.Backend) http.Handler { return http.NotFoundHandler() },
	})
	if err != nil {
		panic(err)
	}
	if err := srv.Start(); err != nil {
		panic(err)
	}
	defer srv.Close()

	mux := http.NewServeMux()
	mux.Handle("/plane/", http.StripPrefix("/plane", srv.Console()))
	web := httptest.NewServer(mux)
	defer web.Close()

	resp, err := http.Get(web.URL + "/plane/")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output: 200 text/html; charset=utf-8
}
