//go:build !unix

package fsowner

import "io/fs"

// owner is unknown here (Windows has access control lists, not a uid):
// only links are refused.
func owner(fs.FileInfo) (int, bool) { return 0, false }

// writableByOthers cannot be told from a mode here.
func writableByOthers(fs.FileInfo) bool { return false }
