package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
)

func init() {
	extraCommands = append(extraCommands, (*app).devCommand)
}

// devOptions are the flags of `jamsocket dev`.
type devOptions struct {
	command               string
	apiAddr, proxyAddr    string
	dir, token            string
	startupTimeout, grace time.Duration
	idle                  int
	plain, verbose        bool
	envPass               []string
	allowOrigins          []string
	allowHosts            []string

	// The official CLI's flags.
	dockerfile, dockerfileOld, buildContext string
	watch                                   []string
	port                                    int
	interactive, noInteractive              bool
	network                                 string
	staticToken                             bool
	styleLog, noStyleLog                    bool
	// Ours: run an existing image; export the plane's spans; keep a warm pool.
	image    string
	otel     bool
	warmPool int
}

// devCommand is `jamsocket dev`: the local plane as a dev server, running a
// command per session backend.
func (a *app) devCommand() *cobra.Command {
	var o devOptions
	cmd := &cobra.Command{
		Use:   "dev [flags] [--] [command [args...]]",
		Short: "Run a local dev server: your Dockerfile, an image or a command per session backend",
		Long:  devLong,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.startDev(&o, cmd.Flags().Changed, args)
		},
	}
	// Stop at the first argument that is not a flag, so that
	// `jamsocket dev ./my-backend --flag` passes --flag to the backend.
	cmd.Flags().SetInterspersed(false)
	devFlags(cmd.Flags(), &o)
	officialDevFlags(cmd.Flags(), &o)
	return cmd
}

// startDev resolves what `jamsocket dev` runs from its flags (changed tells
// which were given), its arguments and the project configuration, and runs
// it.
func (a *app) startDev(o *devOptions, changed func(string) bool, args []string) error {
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	plan, err := resolveDev(o, changed, args, cwd)
	if err != nil {
		return err
	}
	if o.idle < 0 {
		return usage("--idle must not be negative")
	}
	if o.token, err = a.devToken(o.token); err != nil {
		return err
	}
	return a.runDev(*o, plan)
}

// devFlags are the flags of `jamsocket dev` that are ours.
func devFlags(f *pflag.FlagSet, o *devOptions) {
	f.StringVar(&o.command, "cmd", "", "the backend command, e.g. \"./my-backend --flag\"")
	f.StringVar(&o.apiAddr, "api-addr", localplane.DefaultAPIAddr, "where the API listens (port 0 picks a free port)")
	f.StringVar(&o.proxyAddr, "proxy-addr", localplane.DefaultProxyAddr, "where the proxy that connection URLs point at listens")
	f.StringVar(&o.dir, "dir", "", "working directory of the backend command (default the current one)")
	f.StringVar(&o.token, "token", "", "bearer token required on the control endpoints (default none, like the official dev server; visible in ps: prefer --token-file or $"+envDevToken+")")
	f.DurationVar(&o.startupTimeout, "startup-timeout", localplane.DefaultStartupTimeout, "time a backend gets to answer HTTP on $PORT")
	f.DurationVar(&o.grace, "grace-period", localplane.DefaultGracePeriod, "time between SIGTERM and SIGKILL on a soft terminate")
	f.IntVar(&o.idle, "idle", 300, "default max idle seconds of a backend (0: no limit)")
	f.StringArrayVar(&o.envPass, "env-pass", nil, "also pass this variable of the environment to backends (repeatable; PATH, HOME, LANG, TMPDIR and a few more always pass)")
	f.StringArrayVar(&o.allowOrigins, "allow-origin", nil, "let pages from this origin (e.g. http://myapp.test:3000, or *) spawn and terminate backends (repeatable)")
	f.StringArrayVar(&o.allowHosts, "allow-host", nil, "also answer requests for this host name, e.g. when reached over a LAN (repeatable)")
	f.BoolVar(&o.plain, "plain", false, "print a plain log even on a terminal")
	f.BoolVar(&o.verbose, "verbose", false, "also log the plane's informational messages")
	f.StringVar(&o.image, "image", "", "run this local image for each backend, without building (never pulled)")
	f.IntVar(&o.warmPool, "warm-pool", 0, "keep this many backends started before any connect asks (a warm pool; the backend must speak the control socket: package sessionbackend or @jamsocket/session-backend)")
	f.BoolVar(&o.otel, "otel", false, "export the plane's OpenTelemetry spans over OTLP/HTTP to $OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318)")
}

// officialDevFlags are the official CLI's flags of `jamsocket dev`, with
// its letters.
func officialDevFlags(f *pflag.FlagSet, o *devOptions) {
	f.StringVarP(&o.dockerfile, "dockerfile", "f", "", "path to the session backend's Dockerfile")
	f.StringVarP(&o.dockerfileOld, "dockerfileold", "d", "", "path to the session backend's Dockerfile")
	_ = f.MarkHidden("dockerfileold")
	f.StringVarP(&o.buildContext, "context", "c", "", "path to the build context for the Dockerfile (defaults to current working directory)")
	f.StringArrayVarP(&o.watch, "watch", "w", nil, "a file or directory to watch for changes: a change rebuilds the image (repeatable)")
	f.IntVarP(&o.port, "port", "p", 0, "the port to run the dev server's API on (defaults to 8080; same as --api-addr 127.0.0.1:PORT)")
	f.BoolVarP(&o.interactive, "interactive", "i", false, "enables TTY interactivity: keys b, t and ctrl-c (defaults to true on a terminal)")
	f.BoolVar(&o.noInteractive, "no-interactive", false, "disables TTY interactivity")
	f.StringVarP(&o.network, "docker-network", "n", "", "the Docker network session backend containers join")
	f.BoolVarP(&o.staticToken, "use-static-token", "s", false, "makes session backends use a static connection token instead of a new one with each spawn/connect request")
	f.BoolVar(&o.styleLog, "style-log-output", false, "styles log output from session backends for better readability (defaults to true)")
	f.BoolVar(&o.noStyleLog, "no-style-log-output", false, "prints session backends' log output unstyled")
}

// devLong is the help of `jamsocket dev`.
const devLong = `dev runs the local plane: a dev server speaking the API of Jamsocket's dev
server (and of Plane's controller) that runs each session backend as a
Docker container of your image, as Plane does, or as a local process, with
PORT, SESSION_BACKEND_ID and friends in its environment.

Exactly one of these says what a backend is:

  jamsocket dev -f Dockerfile [-c context] [-w src -w go.mod]
      build the Dockerfile with docker (again on a change under a --watch
      path, or on the b key), and run its image; as the official CLI,
      jamsocket.config.json in the current directory may give the same
      settings (flags win)
  jamsocket dev --image my-backend:dev
      run an image you have built
  jamsocket dev --cmd "./my-backend --flag"   (or: jamsocket dev -- ./my-backend --flag)
      run a local command (split like a shell splits simple quoting)

While a build runs or after one failed, a connect that would spawn answers
503 with the code NotReadyToSpawn. With a terminal, the keys b (rebuild), t
(terminate every backend) and ctrl-c (stop) work unless --no-interactive.

Point an app at it with JAMSOCKET_DEV=true (and JAMSOCKET_DEV_PORT when the
API does not listen on port 8080). Backend output is shown prefixed by the
backend's id. On a terminal a live table of the backends sits below the log;
otherwise (or with --plain) every status change is one log line, or one JSON
line with --json. SIGINT, SIGTERM, SIGHUP or SIGQUIT terminates every
backend and exits; if the dev server is killed outright, its backends and
their children are killed with it.

Backends get a clean environment: PORT, SESSION_BACKEND_ID and the rest of
what a Plane drone sets, the spawn's env, and only PATH, HOME, USER, SHELL,
TERM, TZ, TMPDIR, LANG, LC_* and Go's runtime variables from the dev
server's own environment (never JAMSOCKET_TOKEN); --env-pass NAME adds one.

By default (no token, like the official dev server) the API answers only
requests for a loopback host name or an IP address (--allow-host adds
names), and refuses a state change (connect, terminate) from a web page of
another site: pages from loopback origins and --allow-origin ones only.
With a token (--token-file F, $JAMSOCKET_DEV_TOKEN or --token T) the
control routes need it and any origin that has it may use them.

--otel exports the plane's OpenTelemetry spans (each connect, continuing
the caller's W3C traceparent; each backend's start, its runner's start and
its readiness probe) over OTLP/HTTP to the collector the standard
OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT names
(default http://localhost:4318), as service jamsocket-dev unless
OTEL_SERVICE_NAME says otherwise.`

// envDevToken names the variable that holds the dev server's token.
const envDevToken = "JAMSOCKET_DEV_TOKEN"

// devToken is the token the dev server requires: --token, else the
// --token-file's, else $JAMSOCKET_DEV_TOKEN, else none. The hosted API's
// $JAMSOCKET_TOKEN is never used.
func (a *app) devToken(flag string) (string, error) {
	switch {
	case flag != "":
		return flag, nil
	case a.tokenFile != "":
		return readTokenFile(a.tokenFile)
	}
	return strings.TrimSpace(a.getenv(envDevToken)), nil
}

// devBackendCommand is the backend's argv, from --cmd or from the
// positional arguments (exactly one of the two).
func devBackendCommand(cmdFlag string, cmdGiven bool, args []string) ([]string, error) {
	switch {
	case cmdGiven && len(args) > 0:
		return nil, usage("give the backend command either with --cmd or after --, not both")
	case len(args) > 0:
		return args, nil
	case !cmdGiven:
		return nil, usage(`jamsocket dev needs the backend command: --cmd "./my-backend" or -- ./my-backend`)
	}
	argv, err := splitCommand(cmdFlag)
	if err != nil {
		return nil, usage("--cmd: %v", err)
	}
	if len(argv) == 0 {
		return nil, usage("--cmd is empty")
	}
	return argv, nil
}

// splitCommand splits s into words as a POSIX shell would for simple
// quoting: blanks separate words; 'single quotes' keep everything literally;
// "double quotes" keep everything but \" \\ \$ and \` escapes; a backslash
// outside quotes keeps the next character. There is no expansion of any
// kind.
func splitCommand(s string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				if s[i] != '\n' { // backslash-newline continues the line
					cur.WriteByte(s[i])
				}
			}
		case c == '\'':
			inWord = true
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
		case c == '"':
			inWord = true
			closed := false
			for i++; i < len(s); i++ {
				if s[i] == '"' {
					closed = true
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if !closed {
				return nil, errors.New("unterminated double quote")
			}
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// runDev serves the local plane until the command's context is done, then
// closes it: every backend terminated and its processes (or containers)
// gone.
func (a *app) runDev(o devOptions, plan devPlan) error {
	ctx, cancel := context.WithCancel(a.ctx)
	defer cancel()
	v := a.devView(o, plan)
	var images *devImages // builds the Dockerfile, if there is one
	if plan.dockerfile != "" {
		images = newDevImages(devBuild{dockerfile: plan.dockerfile, context: plan.context}, v)
	}
	cfg := devPlaneConfig(o, plan, v, images)
	if o.otel {
		flush, err := devTracing(ctx, &cfg, cfg.Logger)
		if err != nil {
			return err
		}
		defer func() { // after the plane has closed: every span has ended
			if err := flush(); err != nil {
				a.warnf("--otel: exporting the last spans: %v", err)
			}
		}()
	}
	if plan.containers() {
		cli, err := devDockerClient(ctx, plan.network)
		if err != nil {
			return err
		}
		defer cli.Close()
		cfg.Container = &localplane.ContainerConfig{Image: plan.image, Network: plan.network, Client: cli}
	}
	srv, err := startDevPlane(cfg)
	if err != nil {
		return err
	}
	v.started(devStartInfo(srv, o, plan), srv)

	var loops sync.WaitGroup
	startImages(ctx, &loops, srv, plan, images, v)
	if restore := a.startDevKeys(plan, srv, images, v); restore != nil {
		defer restore()
	}

	<-ctx.Done()
	v.stopping()
	loops.Wait() // a running build is cancelled
	err = srv.Close()
	v.stopped(len(srv.Backends()))
	return err
}

// devPlaneConfig is the local plane's configuration for plan: its log and
// backends' output go to v, and images, if not nil, builds what it runs.
func devPlaneConfig(o devOptions, plan devPlan, v devView, images *devImages) localplane.Config {
	cfg := localplane.Config{
		APIAddr:               plan.apiAddr,
		ProxyAddr:             o.proxyAddr,
		Token:                 o.token,
		Command:               plan.argv,
		PassEnv:               o.envPass,
		AllowOrigins:          o.allowOrigins,
		AllowHosts:            o.allowHosts,
		Dir:                   o.dir,
		UseStaticToken:        plan.staticToken,
		StartupTimeout:        o.startupTimeout,
		GracePeriod:           o.grace,
		DefaultMaxIdleSeconds: o.idle,
		Logger:                devLogger(v, o.verbose),
		BackendOutput:         v.output,
		OnChange:              v.change,
		WarmPool:              o.warmPool,
		OnWarmPool:            v.warmPool,
	}
	if images != nil { // never a nil *devImages in the interface
		cfg.Builder = images
	}
	return cfg
}

// devLogger passes the plane's warnings (and with verbose its
// informational messages) to v, without times: the views stamp their own
// lines.
func devLogger(v devView, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(planeLogWriter{v}, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, at slog.Attr) slog.Attr {
			if len(groups) == 0 && at.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return at
		},
	}))
}

// startDevPlane creates the plane and starts serving it.
func startDevPlane(cfg localplane.Config) (*localplane.Server, error) {
	srv, err := localplane.New(cfg)
	if err != nil {
		return nil, usage("%v", err) // a Config it cannot run: the command is not there
	}
	if err := srv.Start(); err != nil {
		var opErr *net.OpError
		if errors.As(err, &opErr) {
			return nil, fmt.Errorf("jamsocket dev: %w (see --port, --api-addr and --proxy-addr)", err)
		}
		return nil, fmt.Errorf("jamsocket dev: %w", err)
	}
	return srv, nil
}

// devStartInfo is the banner of srv, saying what each backend runs.
func devStartInfo(srv *localplane.Server, o devOptions, plan devPlan) devInfo {
	info := devBanner(srv.APIURL(), srv.ProxyURL(), plan.argv, o.token != "")
	switch {
	case plan.dockerfile != "":
		info.Lines[0] = "jamsocket dev: building " + plan.dockerfile + " and running its image for each session backend"
	case plan.image != "":
		info.Lines[0] = "jamsocket dev: running the image " + plan.image + " for each session backend"
	}
	return info
}

// startImages starts the builds (the first at once) and the watch of
// plan's paths on loops, or with --image shows the image it runs.
func startImages(ctx context.Context, loops *sync.WaitGroup, srv *localplane.Server, plan devPlan, images *devImages, v devView) {
	if images == nil {
		if plan.image != "" {
			v.imageChanged(imageState{Image: plan.image})
		}
		return
	}
	loops.Go(func() { images.loop(ctx, srv) })
	images.Rebuild()
	if len(plan.watch) > 0 {
		loops.Go(func() {
			if err := watchPaths(ctx, plan.watch, watchDebounce, images.Rebuild); err != nil {
				v.plane("watch: " + err.Error())
			}
		})
	}
}

// startDevKeys makes the keys b (rebuild) and t (terminate every backend)
// work on an interactive terminal; it returns what restores the terminal,
// or nil.
func (a *app) startDevKeys(plan devPlan, srv *localplane.Server, images *devImages, v devView) (restore func()) {
	tty, ok := a.stdin.(*os.File)
	if !ok || !plan.interactive || !term.IsTerminal(int(tty.Fd())) {
		return nil
	}
	restore, err := startKeys(tty, func(key byte) {
		switch key {
		case 'b':
			if images != nil {
				images.Rebuild()
			}
		case 't':
			v.plane(fmt.Sprintf("terminating %d backends", terminateAll(srv)))
		}
	})
	if err != nil {
		v.plane("keys: " + err.Error())
		return nil
	}
	return restore
}

// devView picks the view for the dev server's output.
func (a *app) devView(o devOptions, plan devPlan) devView {
	tty, fd := false, 0
	if f, ok := a.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty, fd = true, int(f.Fd())
	}
	switch {
	case a.json:
		return &jsonView{w: a.stdout}
	case tty && !o.plain:
		v := newTableView(a.stdout, func() int {
			if w, _, err := term.GetSize(fd); err == nil {
				return w
			}
			return 80
		}, func() int {
			if _, h, err := term.GetSize(fd); err == nil {
				return h
			}
			return 24
		})
		v.style = plan.styleLog
		v.containers, v.building = plan.containers(), plan.dockerfile != ""
		if f, ok := a.stdin.(*os.File); ok && plan.interactive && term.IsTerminal(int(f.Fd())) {
			v.keys = true
		}
		return v
	}
	return &plainView{w: a.stdout}
}

// devInfo is what the dev server tells its user when it starts.
type devInfo struct {
	APIURL, ProxyURL string
	Command          []string
	// Env is what an app sets to use the dev server through the SDK.
	Env map[string]string
	// Lines is the human form.
	Lines []string
}

// devBanner says where the dev server listens and how to point an app at
// it. The token itself is never printed.
func devBanner(apiURL, proxyURL string, argv []string, withToken bool) devInfo {
	info := devInfo{APIURL: apiURL, ProxyURL: proxyURL, Command: argv, Env: map[string]string{}}
	port, loopback := "", false
	if u, err := url.Parse(apiURL); err == nil {
		port = u.Port()
		ip := net.ParseIP(u.Hostname())
		loopback = ip != nil && ip.IsLoopback()
	}
	var how string
	switch {
	case withToken || !loopback:
		// The SDK's dev mode sends no token and dials localhost: name the
		// API URL instead.
		info.Env[jamsocket.EnvAPIURL] = apiURL
		info.Env[jamsocket.EnvAccount] = "-"
		info.Env[jamsocket.EnvService] = "-"
		how = fmt.Sprintf("%s=%s %s=- %s=-", jamsocket.EnvAPIURL, apiURL, jamsocket.EnvAccount, jamsocket.EnvService)
		if withToken {
			how += " " + jamsocket.EnvToken + "=<the dev server's token>"
		}
	default:
		info.Env[jamsocket.EnvDev] = "true"
		how = jamsocket.EnvDev + "=true"
		if port != strconv.Itoa(jamsocket.DefaultDevPort) {
			info.Env[jamsocket.EnvDevPort] = port
			how += " " + jamsocket.EnvDevPort + "=" + port
		}
	}
	info.Lines = []string{
		"jamsocket dev: running " + quoteCommand(argv) + " for each session backend",
		"  API:   " + apiURL,
		"  proxy: " + proxyURL,
		"Point your app at it with " + how,
		"Watch and act on the backends in a browser: " + apiURL + "/",
		"Stop with Ctrl-C: every backend is terminated.",
	}
	return info
}

// quoteCommand shows argv the way splitCommand reads it back.
func quoteCommand(argv []string) string {
	words := make([]string, len(argv))
	for i, w := range argv {
		if w != "" && !strings.ContainsAny(w, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			words[i] = w
			continue
		}
		words[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(words, " ")
}

// devView shows what the dev server does: the banner, backend output, status
// changes. output and change are called from the plane's goroutines,
// possibly concurrently; the rest from runDev.
type devView interface {
	started(info devInfo, srv *localplane.Server)
	output(backendID, stream, line string)
	change(localplane.BackendView)
	// plane shows one log line of the plane itself.
	plane(line string)
	// stopping runs when a signal arrives, before the plane is closed.
	stopping()
	// stopped runs after the plane is closed.
	stopped(backends int)
	// buildOutput shows one line a build printed.
	buildOutput(line string)
	// imageChanged shows a change of the image backends run.
	imageChanged(imageState)
	// warmPool shows a change of the warm pool's counts (from the pool's
	// goroutines).
	warmPool(localplane.WarmPoolView)
}

// outputLine is a backend's output line as the plain log and the table view
// show it: prefixed, with control characters other than colours visible.
func outputLine(backendID, stream, line string) string {
	return outputPrefix(visible(backendID, false), stream) + " " + visible(line, true)
}

// outputPrefix is how a backend's output line starts: "[id]" for stdout,
// "[id stderr]" for stderr.
func outputPrefix(backendID, stream string) string {
	if stream == "" || stream == "stdout" {
		return "[" + backendID + "]"
	}
	return "[" + backendID + " " + stream + "]"
}

// planeLogWriter passes the plane's log records (one per Write, as
// slog.TextHandler writes them) to the view.
type planeLogWriter struct{ v devView }

func (w planeLogWriter) Write(p []byte) (int, error) {
	for line := range strings.Lines(string(p)) {
		w.v.plane(strings.TrimRight(line, "\r\n"))
	}
	return len(p), nil
}

// writeAll writes s, ignoring errors: a dev server whose stdout went away
// keeps serving, and is stopped by a signal.
func writeAll(w io.Writer, s string) {
	_, _ = io.WriteString(w, s)
}
