package localplane

import "golang.org/x/sys/unix"

// bootID is the kernel's id of this boot, or "" if unreadable.
func bootID() string {
	id, err := unix.Sysctl("kern.bootsessionuuid")
	if err != nil {
		return ""
	}
	return id
}

// pidNamespace names the one pid space macOS has.
func pidNamespace() string { return "darwin" }
