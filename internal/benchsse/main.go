// Command benchsse is the server of the stream-memory benchmarks: it runs
// in its own process, so that what the benchmark measures in its own is the
// client's cost per open stream alone.
//
// It listens on a free loopback port, prints its address on stdout, and
// answers every GET with a text/event-stream that sends one ready state and
// then stays open until the client leaves. It exits when stdin closes.
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
)

const event = "data: {\"status\":\"ready\",\"time\":\"2024-11-04T20:42:21.123Z\"}\n\n"

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, event)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})))
}
