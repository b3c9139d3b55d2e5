package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
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
}

// devCommand is `jamsocket dev`: the local plane as a dev server, running a
// command per session backend.
func (a *app) devCommand() *cobra.Command {
	var o devOptions
	cmd := &cobra.Command{
		Use:   "dev [flags] [--] [command [args...]]",
		Short: "Run a local dev server whose session backends are a local command",
		Long: `dev runs the local plane: a dev server speaking the API of Jamsocket's dev
server (and of Plane's controller) that runs each session backend as a
local process, with PORT, SESSION_BACKEND_ID and friends in its environment.

The command is given with --cmd (split like a shell splits simple quoting)
or after the flags:

  jamsocket dev --cmd "./my-backend --flag"
  jamsocket dev -- ./my-backend --flag

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
control routes need it and any origin that has it may use them.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			argv, err := devBackendCommand(o.command, cmd.Flags().Changed("cmd"), args)
			if err != nil {
				return err
			}
			if o.idle < 0 {
				return usage("--idle must not be negative")
			}
			if o.token, err = a.devToken(o.token); err != nil {
				return err
			}
			return a.runDev(o, argv)
		},
	}
	// Stop at the first argument that is not a flag, so that
	// `jamsocket dev ./my-backend --flag` passes --flag to the backend.
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
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
	return cmd
}

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
// closes it: every backend terminated and its processes gone.
func (a *app) runDev(o devOptions, argv []string) error {
	var v devView
	tty, fd := false, 0
	if f, ok := a.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty, fd = true, int(f.Fd())
	}
	switch {
	case a.json:
		v = &jsonView{w: a.stdout}
	case tty && !o.plain:
		v = newTableView(a.stdout, func() int {
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
	default:
		v = &plainView{w: a.stdout}
	}

	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(planeLogWriter{v}, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, at slog.Attr) slog.Attr {
			if len(groups) == 0 && at.Key == slog.TimeKey {
				return slog.Attr{} // the views stamp their own lines
			}
			return at
		},
	}))
	srv, err := localplane.New(localplane.Config{
		APIAddr:               o.apiAddr,
		ProxyAddr:             o.proxyAddr,
		Token:                 o.token,
		Command:               argv,
		PassEnv:               o.envPass,
		AllowOrigins:          o.allowOrigins,
		AllowHosts:            o.allowHosts,
		Dir:                   o.dir,
		StartupTimeout:        o.startupTimeout,
		GracePeriod:           o.grace,
		DefaultMaxIdleSeconds: o.idle,
		Logger:                logger,
		BackendOutput:         v.output,
		OnChange:              v.change,
	})
	if err != nil {
		return usage("%v", err) // a Config it cannot run: the command is not there
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("jamsocket dev: %w (see --api-addr and --proxy-addr)", err)
	}
	v.started(devBanner(srv.APIURL(), srv.ProxyURL(), argv, o.token != ""), srv)

	<-a.ctx.Done()
	v.stopping()
	err = srv.Close()
	v.stopped(len(srv.Backends()))
	return err
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
