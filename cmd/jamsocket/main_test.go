package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// devBackendArg, as the first argument, makes the test binary act as the
// session backend of the `jamsocket dev` tests (see runDevTestBackend)
// instead of running tests.
const devBackendArg = "jamsocket-dev-test-backend"

// mainArg, as the first argument, makes the test binary act as the
// jamsocket command itself, signal handling included (see runMain).
const mainArg = "jamsocket-main"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == devBackendArg {
		os.Exit(runDevTestBackend())
	}
	if len(os.Args) > 1 && os.Args[1] == mainArg {
		os.Exit(runMain(os.Args[2:]))
	}
	goleak.VerifyTestMain(m)
}
