package sessionbackend_test

import (
	"bufio"
	"io"
	"net"
	"path/filepath"
	"testing"

	"github.com/jamsocket-go/jamsocket/sessionbackend"
)

const benchAssignment = `{"message":{"BackendAssignment":{"backend_id":"b-1","key":"doc-1","fencing_token":1700000000123,` +
	`"static_token":null,"env":{"A":"1","B":"2"}}}}` + "\n"

// benchPlane answers every connection as a warm pool's platform would:
// reads Warmed, assigns, reads Ready, until the backend closes.
func benchPlane(b *testing.B) string {
	path := filepath.Join(b.TempDir(), "sdk.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			r := bufio.NewReader(conn)
			_, _ = r.ReadString('\n')
			_, _ = io.WriteString(conn, benchAssignment)
			_, _ = r.ReadString('\n')
			_, _ = io.Copy(io.Discard, r)
			_ = conn.Close()
		}
	}()
	b.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	return path
}

// The backend's side of a warm connect: connect, Warmed, the assignment,
// Ready.
func BenchmarkWarmAssignment(b *testing.B) {
	path := benchPlane(b)
	b.ReportAllocs()
	for b.Loop() {
		sb := &sessionbackend.Backend{ControlSocket: path, Env: map[string]string{"PORT": "8080"}}
		a, err := sb.Assignment(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Ready(); err != nil {
			b.Fatal(err)
		}
		_ = sb.Close()
	}
}

// The baseline: the same bytes over the same socket, by hand, with no
// decoding.
func BenchmarkWarmAssignmentBaselineRawSocket(b *testing.B) {
	path := benchPlane(b)
	b.ReportAllocs()
	for b.Loop() {
		conn, err := net.Dial("unix", path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.WriteString(conn, `{"message":"Warmed"}`+"\n"); err != nil {
			b.Fatal(err)
		}
		if _, err := bufio.NewReader(conn).ReadString('\n'); err != nil {
			b.Fatal(err)
		}
		if _, err := io.WriteString(conn, `{"message":"Ready"}`+"\n"); err != nil {
			b.Fatal(err)
		}
		_ = conn.Close()
	}
}
