// Package controlsock is the wire format of a session backend's control
// socket, the channel through which a platform with warm pools hands an
// already running backend its assignment. Both ends use it: package
// sessionbackend (the backend) today, the local plane's warm pool later.
//
// The format is the one of the official @jamsocket/session-backend package
// (jamsocket/jamsocket, packages/typescript/session-backend/server/src/main.ts):
// one JSON object per line, over a unix stream socket.
//
//	backend  → platform  {"message":"Warmed"}
//	platform → backend   {"message":{"BackendAssignment":{"backend_id":"…","key":"…",
//	                      "fencing_token":N|null,"static_token":"…"|null,"env":{"NAME":"value"}}}}
//	backend  → platform  {"message":"Ready"}
//
// Field names are matched in exact case, as JavaScript does. Errors never
// quote the line: an assignment carries the static token and the spawn's
// environment.
package controlsock

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Where a backend finds the socket.
const (
	// ContainerPath is the socket's fixed path inside a container, where the
	// official package looks for it (main.ts:5, :77): the platform
	// bind-mounts a directory holding it at /jamsocket-control.
	ContainerPath = "/jamsocket-control/jamsocket-sdk.sock"
	// EnvVar names the socket's path for a backend that is a process of the
	// host (a container has no such variable, and finds ContainerPath).
	EnvVar = "JAMSOCKET_CONTROL_SOCKET"
)

// The two lines a backend sends, exactly as JSON.stringify writes them
// (main.ts:120, :43).
const (
	WarmedLine = `{"message":"Warmed"}` + "\n"
	ReadyLine  = `{"message":"Ready"}` + "\n"
)

// MaxLine bounds one line (an assignment's environment included): a longer
// one is an error, not a reason to grow without limit.
const MaxLine = 1 << 20

// ErrMalformed is what every decoding error wraps.
var ErrMalformed = errors.New("malformed control message")

// Kind says what a control message is.
type Kind int

// The kinds of control message.
const (
	// Other is any well-formed line that is not one of the three below; both
	// ends ignore it (the official package logs and skips it, main.ts:107).
	Other Kind = iota
	Warmed
	Assigned
	Ready
)

// Message is one decoded line.
type Message struct {
	Kind Kind
	// Assignment is set when Kind is Assigned.
	Assignment *Assignment
}

// Assignment is the body of a BackendAssignment, as on the wire: nil
// pointers are null or absent fields.
type Assignment struct {
	BackendID    string
	Key          string
	FencingToken *int64
	StaticToken  *string
	// Env is merged over the backend's own environment; a null value
	// removes the name (JavaScript's spread of an undefined value).
	Env map[string]*string
}

// Decode decodes one line (without its newline). A line that is not JSON,
// or a BackendAssignment of the wrong shape, is an error wrapping
// ErrMalformed; any other JSON is Other, as the official package ignores it.
func Decode(line []byte) (Message, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(line, &top); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return Message{}, malformed("not JSON (%d bytes, error at byte %d)", len(line), syntax.Offset)
		}
		return Message{}, nil // JSON, but not an object: no message in it
	}
	raw, ok := top["message"]
	if !ok {
		return Message{}, nil
	}
	var name string
	if json.Unmarshal(raw, &name) == nil {
		switch name {
		case "Warmed":
			return Message{Kind: Warmed}, nil
		case "Ready":
			return Message{Kind: Ready}, nil
		}
		return Message{}, nil
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(raw, &body) != nil || body == nil {
		return Message{}, nil // a number, an array, null: not an assignment
	}
	assignment, ok := body["BackendAssignment"]
	if !ok || isNull(assignment) {
		return Message{}, nil
	}
	a, err := decodeAssignment(assignment)
	if err != nil {
		return Message{}, err
	}
	return Message{Kind: Assigned, Assignment: a}, nil
}

// EncodeAssignment is the platform's line handing a backend its assignment.
func EncodeAssignment(a Assignment) []byte {
	env := a.Env
	if env == nil {
		env = map[string]*string{}
	}
	line, err := json.Marshal(map[string]any{"message": map[string]any{"BackendAssignment": map[string]any{
		"backend_id": a.BackendID, "key": a.Key, "fencing_token": a.FencingToken, "static_token": a.StaticToken, "env": env,
	}}})
	if err != nil { // strings, integers and maps of them always encode
		panic(fmt.Sprintf("controlsock: encoding an assignment: %v", err))
	}
	return append(line, '\n')
}

// Reader reads lines of at most MaxLine bytes, skipping blank ones.
type Reader struct{ scan *bufio.Scanner }

// NewReader reads lines from r.
func NewReader(r io.Reader) *Reader {
	scan := bufio.NewScanner(r)
	scan.Buffer(make([]byte, 0, 4096), MaxLine)
	return &Reader{scan: scan}
}

// Next returns the next line, valid until the following call; io.EOF when
// the peer closed the socket, or an error wrapping ErrMalformed for a line
// over MaxLine.
func (r *Reader) Next() ([]byte, error) {
	for r.scan.Scan() {
		if line := bytes.TrimSpace(r.scan.Bytes()); len(line) > 0 {
			return line, nil
		}
	}
	switch err := r.scan.Err(); {
	case err == nil:
		return nil, io.EOF
	case errors.Is(err, bufio.ErrTooLong):
		return nil, malformed("a line longer than %d bytes", MaxLine)
	default:
		return nil, err
	}
}

// decodeAssignment checks each field's type: the official package would
// take any value, but a backend id that is not a string is no assignment.
func decodeAssignment(raw json.RawMessage) (*Assignment, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, malformed("BackendAssignment is not an object")
	}
	a := &Assignment{Env: map[string]*string{}}
	if err := decodeField(fields, "backend_id", &a.BackendID); err != nil {
		return nil, err
	}
	if a.BackendID == "" {
		return nil, malformed("BackendAssignment has no backend_id")
	}
	if err := decodeField(fields, "key", &a.Key); err != nil {
		return nil, err
	}
	if err := decodeField(fields, "static_token", &a.StaticToken); err != nil {
		return nil, err
	}
	if err := decodeField(fields, "env", &a.Env); err != nil {
		return nil, err
	}
	if a.Env == nil { // "env": null
		a.Env = map[string]*string{}
	}
	if raw, ok := fields["fencing_token"]; ok && !isNull(raw) {
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return nil, malformed("fencing_token is not an integer")
		}
		a.FencingToken = &n
	}
	return a, nil
}

// decodeField decodes fields[name] into dst when present; the error names
// the field and the wanted type, never the value.
func decodeField(fields map[string]json.RawMessage, name string, dst any) error {
	raw, ok := fields[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return malformed("%s: a JSON %s where %s belongs", name, typeErr.Value, typeErr.Type)
		}
		return malformed("%s does not decode", name)
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}
