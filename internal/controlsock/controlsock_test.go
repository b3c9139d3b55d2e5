package controlsock_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/controlsock"
)

func ptr[T any](v T) *T { return &v }

func TestDecodeTheThreeMessages(t *testing.T) {
	m, err := controlsock.Decode([]byte(strings.TrimSpace(controlsock.WarmedLine)))
	require.NoError(t, err)
	assert.Equal(t, controlsock.Warmed, m.Kind)
	m, err = controlsock.Decode([]byte(strings.TrimSpace(controlsock.ReadyLine)))
	require.NoError(t, err)
	assert.Equal(t, controlsock.Ready, m.Kind)

	// The line Plane's serde would write, fields in any order, unknown ones
	// ignored.
	m, err = controlsock.Decode([]byte(`{"message":{"BackendAssignment":{"env":{"A":"1","GONE":null},"key":"doc-1",` +
		`"backend_id":"b-1","fencing_token":1700000000123,"static_token":"s.tok","extra":true}}}`))
	require.NoError(t, err)
	require.Equal(t, controlsock.Assigned, m.Kind)
	assert.Equal(t, &controlsock.Assignment{
		BackendID: "b-1", Key: "doc-1", FencingToken: ptr(int64(1700000000123)), StaticToken: ptr("s.tok"),
		Env: map[string]*string{"A": ptr("1"), "GONE": nil},
	}, m.Assignment)

	m, err = controlsock.Decode([]byte(`{"message":{"BackendAssignment":{"backend_id":"b-2","key":"k","fencing_token":null,"static_token":null,"env":null}}}`))
	require.NoError(t, err)
	assert.Equal(t, &controlsock.Assignment{BackendID: "b-2", Key: "k", Env: map[string]*string{}}, m.Assignment)
}

// What the official package would skip (it tests msg.message &&
// msg.message.BackendAssignment, main.ts:61-63) is Other, not an error;
// names are matched in exact case, as JavaScript reads them.
func TestDecodeIgnoresWhatIsNotAMessage(t *testing.T) {
	for _, line := range []string{
		`{}`, `null`, `5`, `"Warmed"`, `[1,2]`, `{"message":null}`, `{"message":"Hello"}`, `{"message":"warmed"}`,
		`{"Message":"Warmed"}`, `{"message":7}`, `{"message":{}}`, `{"message":{"BackendAssignment":null}}`,
		`{"message":{"backendAssignment":{"backend_id":"b"}}}`, `{"message":{"Other":{}}}`,
	} {
		m, err := controlsock.Decode([]byte(line))
		require.NoError(t, err, line)
		assert.Equal(t, controlsock.Message{Kind: controlsock.Other}, m, line)
	}
}

// A line that is not JSON, or an assignment of the wrong shape, is an error
// that names what is wrong and never quotes the line: it can hold the
// static token and the environment.
func TestDecodeMalformedNeverQuotesTheLine(t *testing.T) {
	for line, says := range map[string]string{
		``:                         "not JSON",
		`{"message":"Warmed"`:      "not JSON",
		`{"static_token": sekret}`: "not JSON",
		`{"message":{"BackendAssignment":"sekret"}}`:                                                "not an object",
		`{"message":{"BackendAssignment":{"key":"sekret"}}}`:                                        "no backend_id",
		`{"message":{"BackendAssignment":{"backend_id":7,"key":"sekret"}}}`:                         "backend_id: a JSON number where string belongs",
		`{"message":{"BackendAssignment":{"backend_id":"b","key":"k","static_token":5}}}`:           "static_token",
		`{"message":{"BackendAssignment":{"backend_id":"b","env":{"SEKRET_NAME":5}}}}`:              "env: a JSON number",
		`{"message":{"BackendAssignment":{"backend_id":"b","env":["sekret"]}}}`:                     "env: a JSON array",
		`{"message":{"BackendAssignment":{"backend_id":"b","fencing_token":1.5,"key":"sekret"}}}`:   "fencing_token is not an integer",
		`{"message":{"BackendAssignment":{"backend_id":"b","fencing_token":"12","key":"sekret"}}}`:  "fencing_token is not an integer",
		`{"message":{"BackendAssignment":{"backend_id":"b","fencing_token":1e400,"key":"sekret"}}}`: "fencing_token is not an integer",
	} {
		_, err := controlsock.Decode([]byte(line))
		require.ErrorIs(t, err, controlsock.ErrMalformed, line)
		assert.Contains(t, err.Error(), says, line)
		assert.NotContains(t, strings.ToLower(err.Error()), "sekret", line)
	}
}

func TestEncodeAssignmentIsTheOfficialShape(t *testing.T) {
	line := controlsock.EncodeAssignment(controlsock.Assignment{BackendID: "b-1", Key: "k"})
	require.True(t, strings.HasSuffix(string(line), "}\n"))
	assert.JSONEq(t, `{"message":{"BackendAssignment":{"backend_id":"b-1","key":"k","fencing_token":null,"static_token":null,"env":{}}}}`, string(line))

	a := controlsock.Assignment{BackendID: "b-2", Key: "k2", FencingToken: ptr(int64(-3)), StaticToken: ptr(""), Env: map[string]*string{"X": ptr("y"), "Z": nil}}
	m, err := controlsock.Decode(controlsock.EncodeAssignment(a))
	require.NoError(t, err)
	assert.Equal(t, &a, m.Assignment)
}

func TestReaderSplitsLinesAndBoundsThem(t *testing.T) {
	r := controlsock.NewReader(strings.NewReader("one\r\n\n   \ntwo\nthree"))
	for _, want := range []string{"one", "two", "three"} {
		line, err := r.Next()
		require.NoError(t, err)
		assert.Equal(t, want, string(line))
	}
	_, err := r.Next()
	assert.Equal(t, io.EOF, err)

	long := `{"message":"` + strings.Repeat("x", controlsock.MaxLine) + `"}` + "\n"
	r = controlsock.NewReader(strings.NewReader(long))
	_, err = r.Next()
	require.ErrorIs(t, err, controlsock.ErrMalformed)
	assert.Contains(t, err.Error(), "longer than")
	assert.NotContains(t, err.Error(), "xxx")
}

// The decoder never panics, never quotes a line it refuses, and an
// assignment it accepts survives the platform's encoder unchanged.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		controlsock.WarmedLine, controlsock.ReadyLine, `{"message":{}}`, `null`, `{"message":{"BackendAssignment":"x"}}`,
		`{"message":{"BackendAssignment":{"backend_id":"b","key":"k","fencing_token":12,"static_token":null,"env":{"A":"1","B":null}}}}`,
		`{"message":{"BackendAssignment":{"backend_id":"b","fencing_token":-9223372036854775808}}}`,
	} {
		f.Add([]byte(strings.TrimSpace(seed)))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := controlsock.Decode(line)
		if err != nil {
			require.ErrorIs(t, err, controlsock.ErrMalformed)
			if len(line) >= 12 {
				assert.NotContains(t, err.Error(), string(line))
			}
			return
		}
		if m.Kind != controlsock.Assigned {
			require.Nil(t, m.Assignment)
			return
		}
		again, err := controlsock.Decode(controlsock.EncodeAssignment(*m.Assignment))
		require.NoError(t, err)
		require.Equal(t, m, again)
		require.True(t, json.Valid(controlsock.EncodeAssignment(*m.Assignment)))
	})
}
