//go:build !linux

package main

import (
	"errors"
	"os"
)

// startKeys is only implemented on Linux; elsewhere the dev server runs as
// with --no-interactive.
func startKeys(*os.File, func(byte)) (func(), error) {
	return nil, errors.New("interactive keys are only supported on Linux")
}
