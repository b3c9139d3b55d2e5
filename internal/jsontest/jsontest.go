// Package jsontest checks wire types in fuzz targets: whatever decodes must
// encode, and encoding what it decodes back must be stable.
package jsontest

import (
	"bytes"
	"encoding/json"
	"testing"
)

// RoundTrip decodes in as a T and, if it decodes, checks that decode →
// encode → decode → encode gives the same bytes twice, and that auth is
// never encoded as null (Plane refuses it).
func RoundTrip[T any](t testing.TB, in []byte) {
	t.Helper()
	var v T
	if json.Unmarshal(in, &v) != nil {
		return
	}
	first, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%T decoded from %q does not encode: %v", v, in, err)
	}
	var again T
	if err := json.Unmarshal(first, &again); err != nil {
		t.Fatalf("%T: own encoding %s does not decode: %v", v, first, err)
	}
	second, err := json.Marshal(again)
	if err != nil {
		t.Fatalf("%T: %v", v, err)
	}
	if !bytes.Equal(first, second) {
		t.Fatalf("%T round trip not stable:\n%s\n%s", v, first, second)
	}
	if bytes.Contains(first, []byte(`"auth":null`)) {
		t.Fatalf("%T encodes auth as null: %s", v, first)
	}
}
