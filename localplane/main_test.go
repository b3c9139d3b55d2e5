package localplane_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// backendArg, as the first argument, makes the test binary act as a session
// backend (see testbackend_test.go) instead of running tests.
const backendArg = "localplane-test-backend"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == backendArg {
		os.Exit(runTestBackend())
	}
	if len(os.Args) > 1 && os.Args[1] == sweepArg {
		os.Exit(runSweep())
	}
	code := m.Run()
	closeBrowser() // the console tests' Chromium, shared by the package
	if code == 0 {
		// After refusing an oversized body, net/http's server lingers up to
		// 500 ms before closing the connection (closeWriteAndWait); that
		// goroutine belongs to the standard library and ends on its own.
		if err := goleak.Find(goleak.IgnoreAnyFunction("net/http.(*conn).closeWriteAndWait")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
