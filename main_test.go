package jamsocket

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: streams close their bodies,
// retry sleeps end with their context. The tests use httpmock transports,
// which keep no idle connections, so nothing needs ignoring.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
