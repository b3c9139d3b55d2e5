package localplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/jamsocket-go/jamsocket/localplane/internal/osproc"
)

// ContainerConfig runs each backend as a Docker container of a local image,
// made the way Plane's drone makes them: PORT=8080 inside, the
// SESSION_BACKEND_* variables, JAMSOCKET_SERVICE and the connect's
// executable.env; port 8080 published on 127.0.0.1 on a port the engine
// picks; resource limits as engine limits; executable.mount as a bind mount
// at /plane-data. Images are never pulled. A container is removed once it
// has ended, and every container carries labels naming the server that
// started it, so that a server starting later removes those a killed server
// left behind (only those it can prove gone: see LabelOwnerBoot).
type ContainerConfig struct {
	// Image is the local image (name or id) backends run. Leave it empty
	// with a Config.Builder, which names the image at each spawn; with
	// neither, connects that would spawn are refused as not ready to spawn.
	Image string
	// Network is the Docker network containers join (the official CLI's
	// --docker-network); empty means the engine's default bridge.
	Network string
	// MountBase is the host directory in which executable.mount binds a
	// directory per key (or per relative path) at /plane-data in the
	// container: one directory directly in the base, named by the key
	// escaped as a URL path segment (key a/b is "a%2Fb"). The base must be
	// yours, not a symbolic link and writable by no one else (a mount that
	// finds it otherwise fails to start), and each directory in it yours
	// and not a link. Default: "jamsocket-go/mounts" in os.UserCacheDir(),
	// created with mode 0700.
	MountBase string
	// Client talks to the engine; nil means a client configured from the
	// environment (DOCKER_HOST and friends), which the server closes. The
	// client negotiates the API version down to the engine's.
	Client *client.Client
}

// Labels on every container the local plane starts.
const (
	// LabelOwner is the id of the Server instance that started the container.
	LabelOwner = "dev.jamsocket-go.owner"
	// LabelOwnerPID is the process id of that server, and LabelOwnerStart the
	// start time of that process (in clock ticks since boot, from
	// /proc/PID/stat), so that a reused pid is not mistaken for the owner.
	LabelOwnerPID   = "dev.jamsocket-go.owner-pid"
	LabelOwnerStart = "dev.jamsocket-go.owner-start"
	// LabelOwnerBoot is the boot the server ran in (Linux's
	// /proc/sys/kernel/random/boot_id) and LabelOwnerPIDNamespace its PID
	// namespace (the link /proc/self/ns/pid): the pid means something only
	// in both. A server starting removes another's containers only when
	// that server is provably gone: same boot and namespace and its process
	// gone, or another boot and the container stopped. A container without
	// these labels (from an earlier version) is never removed.
	LabelOwnerBoot         = "dev.jamsocket-go.owner-boot"
	LabelOwnerPIDNamespace = "dev.jamsocket-go.owner-pidns"
	// LabelBackend is the backend id the container serves: empty for a
	// warm backend's container (named jamsocket-local-warm-…), which keeps
	// the labels it was created with once assigned.
	LabelBackend = "dev.jamsocket-go.backend"
)

// containerPort is the port a backend listens on inside its container, as
// on Plane.
const containerPort = 8080

// containerDataDir is where executable.mount appears inside a container, as
// on Plane.
const containerDataDir = "/plane-data"

// containerControlDir is where a warm backend's control directory appears
// inside its container: the official package's socket is
// /jamsocket-control/jamsocket-sdk.sock.
const containerControlDir = "/jamsocket-control"

// engineTimeout bounds each engine call that is not a wait for the
// container itself.
const engineTimeout = 30 * time.Second

// containerRunner runs backends as containers through the engine API.
type containerRunner struct {
	cli       *client.Client
	ownClient bool // close cli at the end
	network   string
	mountBase string // "" when there is none
	grace     time.Duration
	instance  string
	owner     ownerID

	fixed   string  // ContainerConfig.Image
	builder Builder // names the image instead, when set
}

// errNoImage holds the spawns of a container plane that has no image.
var errNoImage = errors.New("no image to run yet")

func newContainerRunner(cfg ContainerConfig, grace time.Duration, builder Builder) (*containerRunner, error) {
	r := &containerRunner{
		cli: cfg.Client, network: cfg.Network, mountBase: cfg.MountBase, grace: grace,
		fixed: cfg.Image, builder: builder, instance: randomID(14), owner: currentOwner(),
	}
	if r.cli == nil {
		cli, err := client.New(client.FromEnv)
		if err != nil {
			return nil, fmt.Errorf("localplane: docker client: %w", err)
		}
		r.cli, r.ownClient = cli, true
	}
	if r.mountBase == "" {
		r.mountBase = defaultMountBase()
	}
	return r, nil
}

// image is the image a backend started now runs, or why none may start
// (imageRunner).
func (r *containerRunner) image() (string, error) {
	image, err := r.fixed, error(nil)
	if r.builder != nil {
		image, err = r.builder.Image()
	}
	if err == nil && image == "" {
		err = errNoImage
	}
	return image, err
}

// open checks that the engine answers and removes the containers of servers
// that are gone.
func (r *containerRunner) open(ctx context.Context, log logger) error {
	if _, err := r.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("localplane: no Docker engine answers: %w", err)
	}
	return r.removeLeftovers(ctx, log, r.owner.provesGone)
}

// shutdown removes any container of this server still there (every backend
// has ended by now, so normally none), and closes the client if it is ours.
func (r *containerRunner) shutdown(ctx context.Context, log logger) error {
	err := r.removeLeftovers(ctx, log, func(c container.Summary) bool {
		return c.Labels[LabelOwner] == r.instance
	})
	if r.ownClient {
		err = errors.Join(err, r.cli.Close())
	}
	return err
}

// removeLeftovers force-removes every local-plane container for which
// remove is true.
func (r *containerRunner) removeLeftovers(ctx context.Context, log logger, remove func(container.Summary) bool) error {
	list, err := r.cli.ContainerList(ctx, client.ContainerListOptions{
		All: true, Filters: client.Filters{}.Add("label", LabelOwner),
	})
	if err != nil {
		return fmt.Errorf("localplane: listing containers: %w", err)
	}
	var errs []error
	for _, c := range list.Items {
		if !remove(c) {
			continue
		}
		_, err := r.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		if cerrdefs.IsConflict(err) {
			// Someone else is removing it already (another server starting
			// at the same time, or the backend's own end): wait until it
			// is gone, so that no leftover remains once this returns.
			err = r.awaitRemoved(ctx, c.ID)
		}
		if err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, err)
			continue
		}
		log.Info("removed a container left behind", "container", c.ID[:min(12, len(c.ID))], "backend", c.Labels[LabelBackend])
	}
	return errors.Join(errs...)
}

// removalWait bounds how long removeLeftovers waits for a removal that
// someone else has begun.
const removalWait = 30 * time.Second

// awaitRemoved waits until the container is removed (a NotFound error means
// it already is).
func (r *containerRunner) awaitRemoved(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, removalWait)
	defer cancel()
	wait := r.cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionRemoved})
	select {
	case <-wait.Result:
		return nil
	case err := <-wait.Error:
		return err
	}
}

// containerProc is a running backend container.
type containerProc struct {
	r      *containerRunner
	id     string
	pid    int
	log    logger
	exited chan int

	stopOnce sync.Once
	killOnce sync.Once
}

func (p *containerProc) Exited() <-chan int { return p.exited }

// Signal stops the container with the grace period (soft: SIGTERM, SIGKILL
// when the grace period is over) or kills it (hard).
func (p *containerProc) Signal(hard bool) {
	if hard {
		p.killOnce.Do(func() {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
				defer cancel()
				_, _ = p.r.cli.ContainerKill(ctx, p.id, client.ContainerKillOptions{Signal: "SIGKILL"})
			}()
		})
		return
	}
	p.stopOnce.Do(func() {
		go func() {
			secs := int((p.r.grace + time.Second - 1) / time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), p.r.grace+engineTimeout)
			defer cancel()
			_, _ = p.r.cli.ContainerStop(ctx, p.id, client.ContainerStopOptions{Timeout: &secs})
		}()
	})
}

// takesMounts: the container runner binds executable.mount at /plane-data.
func (r *containerRunner) takesMounts() bool { return true }

func (r *containerRunner) start(spec runSpec) (proc, started, error) {
	return r.run(spec, "jamsocket-local-"+spec.id)
}

// startWarm starts a container for the warm pool, named
// jamsocket-local-warm-{random} and without LabelBackend's value (it has
// no id yet), with the control directory bound at /jamsocket-control.
func (r *containerRunner) startWarm(spec runSpec) (proc, started, error) {
	return r.run(spec, "jamsocket-local-warm-"+randomID(14))
}

// run creates and starts the container of spec, named name.
func (r *containerRunner) run(spec runSpec, name string) (proc, started, error) {
	image, err := r.image()
	if err != nil {
		return nil, started{}, fmt.Errorf("%w: %v", errNotReadyToSpawn, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	p, err := r.create(ctx, spec, image, name)
	if err != nil {
		return nil, started{}, err
	}
	logs, port, err := p.run(ctx)
	if err != nil {
		p.remove()
		return nil, started{}, err
	}
	go p.await(logs, spec.output)
	return p, started{port: port, pid: p.pid, samplePID: p.pid, image: image, stats: p, at: time.Now()}, nil
}

// create creates the container of spec, without a disk limit when the
// storage driver cannot apply one.
func (r *containerRunner) create(ctx context.Context, spec runSpec, image, name string) (*containerProc, error) {
	cfg, host, err := r.containerConfig(spec, image)
	if err != nil {
		return nil, err
	}
	created, err := r.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: host})
	if err != nil && host.StorageOpt != nil {
		// Most storage drivers (overlay2 off xfs, vfs off xfs) cannot cap a
		// container's disk: run it without, and say so.
		spec.log.Warn("disk_limit_bytes not applied: the storage driver cannot limit a container's size", "err", err)
		host.StorageOpt = nil
		created, err = r.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: host})
	}
	if err != nil {
		return nil, fmt.Errorf("creating the container: %w", err)
	}
	return &containerProc{r: r, id: created.ID, log: spec.log, exited: make(chan int, 1)}, nil
}

// run starts the container and follows its logs; it returns them and the
// host port its port 8080 is published on.
func (p *containerProc) run(ctx context.Context) (io.ReadCloser, int, error) {
	cli := p.r.cli
	if _, err := cli.ContainerStart(ctx, p.id, client.ContainerStartOptions{}); err != nil {
		return nil, 0, fmt.Errorf("starting the container: %w", err)
	}
	// Following the logs of a container that has not started ends at once;
	// after the start they come from the first line on (the engine keeps
	// them), even for a container that has already exited.
	logs, err := cli.ContainerLogs(context.Background(), p.id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		return nil, 0, fmt.Errorf("following the container's logs: %w", err)
	}
	inspect, err := cli.ContainerInspect(ctx, p.id, client.ContainerInspectOptions{})
	port := 0
	if err == nil {
		port, err = publishedPort(inspect.Container)
	}
	if err != nil {
		logs.Close()
		return nil, 0, fmt.Errorf("inspecting the container: %w", err)
	}
	if inspect.Container.State != nil {
		p.pid = inspect.Container.State.Pid
	}
	return logs, port, nil
}

// await copies the container's output into its log until it ends, then
// removes it and reports its exit code.
func (p *containerProc) await(logs io.ReadCloser, output func(stream, line string)) {
	stdout := &lineWriter{out: output, stream: "stdout"}
	stderr := &lineWriter{out: output, stream: "stderr"}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = stdcopy.StdCopy(stdout, stderr, logs)
		stdout.flush() // a last line without a newline still counts
		stderr.flush()
	}()
	wait := p.r.cli.ContainerWait(context.Background(), p.id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	code := 137
	select {
	case res := <-wait.Result:
		code = int(res.StatusCode)
	case err := <-wait.Error:
		p.log.Warn("waiting for the container", "err", err)
	}
	// The log stream ends with the container; bound the wait in case the
	// engine keeps it open.
	select {
	case <-copied:
	case <-time.After(2 * time.Second):
		logs.Close()
		<-copied
	}
	logs.Close()
	p.remove()
	p.exited <- code
}

// remove force-removes the container.
func (p *containerProc) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	if _, err := p.r.cli.ContainerRemove(ctx, p.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
		p.log.Warn("removing the container", "err", err)
	}
}

// containerConfig is the container spec runs in, as Plane's drone makes it.
func (r *containerRunner) containerConfig(spec runSpec, image string) (*container.Config, *container.HostConfig, error) {
	env := spec.envAt(containerPort)
	cfg := &container.Config{
		Image:        image,
		Env:          make([]string, 0, len(env)),
		ExposedPorts: network.PortSet{network.MustParsePort(strconv.Itoa(containerPort) + "/tcp"): {}},
		Labels:       map[string]string{LabelOwner: r.instance, LabelBackend: spec.id},
	}
	r.owner.addLabels(cfg.Labels)
	for k, v := range env {
		cfg.Env = append(cfg.Env, k+"="+v)
	}
	host := &container.HostConfig{
		PortBindings: network.PortMap{
			network.MustParsePort(strconv.Itoa(containerPort) + "/tcp"): {{HostIP: netip.MustParseAddr("127.0.0.1")}},
		},
		NetworkMode: container.NetworkMode(r.network),
	}
	if err := checkResourceLimits(spec.limits); err != nil {
		return nil, nil, err
	}
	if l := spec.limits; l != nil {
		host.Memory = l.MemoryLimitBytes
		host.CPUPeriod = l.CPUPeriod
		host.CPUQuota = cpuQuota(l.CPUPeriod, l.CPUPeriodPercent)
		if l.CPUTimeLimit > 0 {
			host.Ulimits = []*container.Ulimit{{Name: "cpu", Soft: l.CPUTimeLimit, Hard: l.CPUTimeLimit}}
		}
		if l.DiskLimitBytes > 0 {
			host.StorageOpt = map[string]string{"size": strconv.FormatInt(l.DiskLimitBytes, 10)}
		}
	}
	mounts, err := r.mounts(spec)
	if err != nil {
		return nil, nil, err
	}
	if spec.control != "" {
		mounts = append(mounts, mount.Mount{Type: mount.TypeBind, Source: spec.control, Target: containerControlDir})
	}
	host.Mounts = mounts
	return cfg, host, nil
}

// publishedPort is the host port the engine published container port 8080
// on.
func publishedPort(c container.InspectResponse) (int, error) {
	if c.NetworkSettings != nil {
		for _, pb := range c.NetworkSettings.Ports[network.MustParsePort(strconv.Itoa(containerPort)+"/tcp")] {
			if port, err := strconv.Atoi(pb.HostPort); err == nil && port > 0 {
				return port, nil
			}
		}
	}
	return 0, errors.New("port 8080 is not published (is --docker-network \"host\" or \"none\"?)")
}

// sample reads the engine's stats of the container: one sample, without
// the engine's one-second wait for a previous one. CPU times are in
// nanoseconds, turned into clock ticks (USER_HZ, 100 a second) like the
// process runner's.
func (p *containerProc) sample(ctx context.Context) (osproc.Sample, error) {
	res, err := p.r.cli.ContainerStats(ctx, p.id, client.ContainerStatsOptions{})
	if err != nil {
		return osproc.Sample{}, err
	}
	defer res.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return osproc.Sample{}, err
	}
	const nsPerTick = 10_000_000
	mem := st.MemoryStats.Usage
	// As `docker stats` shows it: without the page cache.
	if cache, ok := st.MemoryStats.Stats["inactive_file"]; ok && cache < mem {
		mem -= cache
	} else if cache, ok := st.MemoryStats.Stats["total_inactive_file"]; ok && cache < mem {
		mem -= cache
	}
	sm := osproc.Sample{
		ProcCPU: st.CPUStats.CPUUsage.TotalUsage / nsPerTick,
		SysCPU:  st.CPUStats.SystemUsage / nsPerTick,
		MemUsed: mem,
	}
	if st.MemoryStats.Limit > mem {
		sm.MemAvail = st.MemoryStats.Limit - mem
	}
	return sm, nil
}
