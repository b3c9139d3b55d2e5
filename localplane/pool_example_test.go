package localplane_test

import (
	"context"
	"fmt"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
)

// A warm pool keeps backends started before anyone asks: a spawn takes one
// that has said Warmed and is ready as soon as it says Ready. The backend
// must speak the control socket's protocol, as one written with package
// sessionbackend does (here the test binary, re-executed).
func ExampleServer_WarmPool() {
	full := make(chan struct{}, 1)
	srv, err := localplane.New(localplane.Config{
		APIAddr: "127.0.0.1:0", ProxyAddr: "127.0.0.1:0",
		Command:  sessionBackendCommand(), // e.g. []string{"./my-backend"}
		WarmPool: 1,
		OnWarmPool: func(v localplane.WarmPoolView) {
			if v.Ready == v.Size {
				select {
				case full <- struct{}{}:
				default:
				}
			}
		},
	})
	if err != nil {
		panic(err)
	}
	if err := srv.Start(); err != nil {
		panic(err)
	}
	defer srv.Close()
	<-full
	fmt.Printf("%+v\n", srv.WarmPool())

	ctx := context.Background()
	client, err := jamsocket.New(jamsocket.Config{Account: "local", Service: "app", Token: "-", APIURL: srv.APIURL()})
	if err != nil {
		panic(err)
	}
	conn, err := client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-1"})
	if err != nil {
		panic(err)
	}
	state, err := client.WaitReady(ctx, conn.BackendID)
	if err != nil {
		panic(err)
	}
	fmt.Println(state.Status)
	// Output:
	// {Size:1 Warming:0 Ready:1 Off:}
	// ready
}
