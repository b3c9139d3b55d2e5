// Package wsecho is the WebSocket echo of the project's test backends (the
// process and container backends the tests run): each message comes back
// with "echo: " in front, so a test can tell an answer from its own message.
package wsecho

import (
	"net/http"

	"github.com/coder/websocket"
)

// Prefix is what each echoed message starts with.
const Prefix = "echo: "

// Serve accepts the WebSocket and echoes each message until the peer or
// the backend goes.
func Serve(w http.ResponseWriter, r *http.Request) {
	// Any origin, as a real session backend must: the browser opens the
	// socket from the app's page, and the connection URL's token is what
	// authorizes it.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer c.CloseNow()
	for {
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		if err := c.Write(r.Context(), typ, append([]byte(Prefix), msg...)); err != nil {
			return
		}
	}
}
