package localplane

import (
	"os"
	"strconv"

	"github.com/moby/moby/api/types/container"
)

// A container's owner labels name the server process that started it. A
// pid names a process only within one boot of one kernel and within one PID
// namespace: a dev server in a devcontainer, a second WSL distribution or
// any other container sharing the engine sees other pids than the host's.
// So the labels carry the boot and the PID namespace too, and a server
// removes another's container only when it can prove that server gone.

// ownerID is what names a server process across the engine's users.
type ownerID struct {
	pid   int
	start string // processStart(pid)
	boot  string // bootID(), "" if unknown
	pidNS string // pidNamespace(), "" if unknown
}

// currentOwner is this process.
func currentOwner() ownerID {
	pid := os.Getpid()
	return ownerID{pid: pid, start: processStart(pid), boot: bootID(), pidNS: pidNamespace()}
}

// addLabels adds o's labels to labels.
func (o ownerID) addLabels(labels map[string]string) {
	labels[LabelOwnerPID] = strconv.Itoa(o.pid)
	labels[LabelOwnerStart] = o.start
	labels[LabelOwnerBoot] = o.boot
	labels[LabelOwnerPIDNamespace] = o.pidNS
}

// provesGone reports whether o (this server) can prove that the server which labelled
// c has ended:
//   - in o's boot and PID namespace: its pid is gone, or names a process
//     started at another time (a reused pid);
//   - in another boot: the machine has restarted since, provided c has
//     stopped (a container still running means the engine has not
//     restarted: the owner runs on another kernel sharing this engine, and
//     may live).
//
// Anything else, it cannot prove: another PID namespace on this boot (the
// pid means nothing here), labels from a version without the boot and the
// namespace, a system that cannot tell its own. Such containers are kept.
func (o ownerID) provesGone(c container.Summary) bool {
	labels := c.Labels
	pid, err := strconv.Atoi(labels[LabelOwnerPID])
	boot, pidNS := labels[LabelOwnerBoot], labels[LabelOwnerPIDNamespace]
	switch {
	case err != nil || pid <= 0:
		return false
	case boot == "" || pidNS == "" || o.boot == "" || o.pidNS == "":
		return false
	case boot != o.boot:
		return c.State == container.StateExited || c.State == container.StateDead
	case pidNS != o.pidNS:
		return false
	case !processAlive(pid):
		return true
	}
	start, now := labels[LabelOwnerStart], processStart(pid)
	return start != "" && now != "" && start != now
}
