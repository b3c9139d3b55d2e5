//go:build unix

package osproc

import (
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
)

// The guard is a small shell process, one per plane process, that kills the
// process groups of live backends once this process is gone. It reads
// "add PGID" and "del PGID" lines on its standard input; when the input
// ends (this process exited, or was killed: the kernel closes the pipe) it
// sends SIGKILL to every group still listed. It ignores the signals a
// terminal sends, so that closing the terminal does not end it before it
// has done its job, and sits in a process group of its own.
//
// The parent-death signal (Linux) kills a backend's own process at once;
// the guard also kills what that process started, and covers the systems
// without parent-death signals.
const guardScript = `trap '' HUP INT QUIT TERM PIPE
set=' '
while read -r op pgid; do
  case $op in
    add) set="$set$pgid " ;;
    del) case $set in *" $pgid "*) set="${set%% $pgid *} ${set#* $pgid }" ;; esac ;;
  esac
done
for p in $set; do kill -9 -"$p" 2>/dev/null; done
`

var guardian struct {
	once sync.Once
	mu   sync.Mutex
	w    *os.File // nil: no guard (no /bin/sh)
}

// guard adds the group pgid to the guard's list, starting the guard on first
// use. The guard is never waited for: it outlives this process by design.
func guard(pgid int) {
	guardian.once.Do(startGuard)
	send("add", pgid)
}

// unguard removes the group pgid, which has ended, from the guard's list.
func unguard(pgid int) { send("del", pgid) }

func send(op string, pgid int) {
	guardian.mu.Lock()
	defer guardian.mu.Unlock()
	if guardian.w != nil {
		guardian.w.WriteString(op + " " + strconv.Itoa(pgid) + "\n")
	}
}

func startGuard() {
	r, w, err := os.Pipe()
	if err != nil {
		return
	}
	defer r.Close()
	cmd := exec.Command("/bin/sh", "-c", guardScript)
	cmd.Stdin = r // an *os.File: no copying goroutine
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cmd.Start() != nil {
		w.Close()
		return
	}
	// Reap it if it ever ends while we live (its input is never closed, so
	// only an outside kill ends it), without a goroutine waiting meanwhile.
	cmd.Process.Release()
	guardian.w = w
}
