//go:build unix

package fsowner

import (
	"io/fs"
	"syscall"
)

// owner is the uid fi belongs to.
func owner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// writableByOthers reports whether fi's group or others may write to it.
func writableByOthers(fi fs.FileInfo) bool { return fi.Mode().Perm()&0o022 != 0 }
