// Package fsowner tells whether a file or directory is safe to trust: it is
// not a symbolic link, it belongs to the user this process runs as, and,
// when it must be private, neither its group nor others may write to it.
// The dev server's container mounts and the CLI's credential file are kept
// only in places that pass, so that another user on the machine can neither
// plant what they hold nor read it.
package fsowner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrNotYours is what every refusal of Mine and Private matches (errors.Is).
var ErrNotYours = errors.New("not safe to trust")

// Error is a refusal: Path and why it cannot be trusted.
type Error struct {
	Path   string
	Reason string
}

func (e *Error) Error() string { return e.Path + " " + e.Reason }

// Unwrap makes every Error match ErrNotYours.
func (e *Error) Unwrap() error { return ErrNotYours }

// Mine returns nil if path exists, is not a symbolic link (path itself is
// not followed) and belongs to the user this process runs as; an *Error if
// not; the error of lstat if path cannot be read.
func Mine(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	return mine(path, fi)
}

// Private is Mine, and also refuses a path its group or others may write to.
func Private(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if err := mine(path, fi); err != nil {
		return err
	}
	if writableByOthers(fi) {
		return &Error{Path: path, Reason: fmt.Sprintf("is writable by its group or by others (mode %v)", fi.Mode().Perm())}
	}
	return nil
}

func mine(path string, fi fs.FileInfo) error {
	if fi.Mode()&fs.ModeSymlink != 0 {
		return &Error{Path: path, Reason: "is a symbolic link"}
	}
	if uid, ok := owner(fi); ok && uid != os.Geteuid() {
		return &Error{Path: path, Reason: fmt.Sprintf("belongs to another user (uid %d, not %d)", uid, os.Geteuid())}
	}
	return nil
}
