package fsowner_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/internal/fsowner"
)

// nobody is a uid that is not the test's (Debian's nobody).
const nobody = 65534

func TestCheck(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("owners and modes are unix ones")
	}
	dir := t.TempDir()
	path := func(name string, mode fs.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.Mkdir(p, mode))
		require.NoError(t, os.Chmod(p, mode)) // past the umask
		return p
	}
	private := path("private", 0o700)
	readable := path("readable", 0o755)
	groupWritable := path("group-writable", 0o770)
	worldWritable := path("world-writable", 0o1777)
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(private, link))
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))

	for _, tc := range []struct {
		name          string
		path          string
		mine, private string // the refusal's reason, "" if accepted
	}{
		{"a private directory", private, "", ""},
		{"a directory others may read", readable, "", ""},
		{"a private file", file, "", ""},
		{"a directory its group may write", groupWritable, "", "is writable by its group or by others (mode -rwxrwx---)"},
		{"a sticky world-writable directory", worldWritable, "", "is writable by its group or by others (mode -rwxrwxrwx)"},
		{"a link to a private directory", link, "is a symbolic link", "is a symbolic link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, check := range []struct {
				name   string
				fn     func(string) error
				reason string
			}{{"Mine", fsowner.Mine, tc.mine}, {"Private", fsowner.Private, tc.private}} {
				err := check.fn(tc.path)
				if check.reason == "" {
					assert.NoError(t, err, check.name)
					continue
				}
				assert.ErrorIs(t, err, fsowner.ErrNotYours, check.name)
				assert.EqualError(t, err, tc.path+" "+check.reason, check.name)
			}
		})
	}

	t.Run("another user's directory", func(t *testing.T) {
		other := path("other", 0o700)
		if err := os.Chown(other, nobody, nobody); err != nil {
			t.Skipf("giving a directory to another user needs root: %v", err)
		}
		for _, check := range []func(string) error{fsowner.Mine, fsowner.Private} {
			err := check(other)
			assert.ErrorIs(t, err, fsowner.ErrNotYours)
			assert.ErrorContains(t, err, "belongs to another user (uid 65534, not ")
		}
	})

	t.Run("a missing path", func(t *testing.T) {
		for _, check := range []func(string) error{fsowner.Mine, fsowner.Private} {
			err := check(filepath.Join(dir, "missing"))
			assert.ErrorIs(t, err, fs.ErrNotExist)
			assert.NotErrorIs(t, err, fsowner.ErrNotYours)
		}
	})
}
