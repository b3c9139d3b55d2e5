package localplane

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/jamsocket-go/jamsocket/internal/controlsock"
)

// A backend's environment, every rule in one place: the variables Plane's
// drone gives it (droneEnv, and PORT: runSpec.envAt), over the connect's
// executable.env, whose reserved names a connect may not set; what a
// process backend inherits from the plane (DefaultPassEnv, Config.PassEnv)
// and what a connect may not give it (codeLoadingEnv).

// droneEnv is the environment Plane's drone gives b, but PORT (the runner
// adds it: runSpec.envAt), over the connect's executable.env.
func (b *backend) droneEnv() map[string]string {
	env := make(map[string]string, len(b.spec.execEnv)+6)
	for k, v := range b.spec.execEnv {
		env[k] = v
	}
	env["SESSION_BACKEND_ID"] = b.id
	env["SESSION_BACKEND_KEY"] = b.spec.key
	env["SESSION_BACKEND_FENCING_TOKEN"] = strconv.FormatInt(b.created.UnixMilli(), 10)
	if b.staticToken != "" {
		env["SESSION_BACKEND_STATIC_TOKEN"] = b.staticToken
	}
	if b.spec.service != "" {
		env["JAMSOCKET_SERVICE"] = b.spec.service
	}
	return env
}

// assignment is what a warm backend taken for b is sent on its control
// socket: b's id, key, fencing token and static token, and as env the rest
// of droneEnv (the connect's executable.env, JAMSOCKET_SERVICE). A
// backend reads the same from either: sessionbackend (like the official
// package) lifts the four SESSION_BACKEND_* variables of a cold start out
// of its Env into the assignment's fields.
func (b *backend) assignment() controlsock.Assignment {
	env := map[string]*string{}
	for k, v := range b.droneEnv() {
		if !strings.HasPrefix(k, "SESSION_BACKEND_") {
			env[k] = &v
		}
	}
	fencing := b.created.UnixMilli()
	a := controlsock.Assignment{BackendID: b.id, Key: b.spec.key, FencingToken: &fencing, Env: env}
	if b.staticToken != "" {
		a.StaticToken = &b.staticToken
	}
	return a
}

// reservedEnv reports the first name in env that a backend's environment
// reserves, or "": PORT, JAMSOCKET_SERVICE, SESSION_BACKEND_* and the
// control socket's JAMSOCKET_CONTROL_SOCKET (a connect that could set it
// could point a cold backend at a socket of its choice).
func reservedEnv(env map[string]string) string {
	for k := range env {
		if k == "PORT" || k == "JAMSOCKET_SERVICE" || k == controlsock.EnvVar || strings.HasPrefix(k, "SESSION_BACKEND_") {
			return k
		}
	}
	return ""
}

// envAt is the backend's environment with PORT set to port.
func (s *runSpec) envAt(port int) map[string]string {
	env := make(map[string]string, len(s.env)+1)
	maps.Copy(env, s.env)
	env["PORT"] = strconv.Itoa(port)
	return env
}

// DefaultPassEnv is the part of the plane's environment every backend process
// inherits: what programs need to find things and speak the user's
// language. A name ending in "*" is a prefix.
func DefaultPassEnv() []string {
	return []string{
		"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ", "TMPDIR", "TMP", "TEMP",
		"LANG", "LANGUAGE", "LC_*", "SYSTEMROOT", "COMSPEC",
		"GODEBUG", "GOMAXPROCS", "GORACE", "GOTRACEBACK", "GOCOVERDIR",
	}
}

// passEnv is the part of environ (as os.Environ gives it) a backend
// process inherits.
func (cfg *Config) passEnv(environ []string) []string {
	names := append(DefaultPassEnv(), cfg.PassEnv...)
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		for _, n := range names {
			if n == name || (strings.HasSuffix(n, "*") && strings.HasPrefix(name, n[:len(n)-1])) {
				out = append(out, kv)
				break
			}
		}
	}
	return out
}

// A process backend runs on the host as the user of the dev server, so a
// connect that could choose its environment could choose code for it to
// run: LD_PRELOAD loads a library into it, NODE_OPTIONS=--require a
// script, BASH_ENV a file the shell sources. Process backends refuse those
// names in executable.env. Container backends do not (their environment
// reaches only code inside the container, which the image already
// chooses, as on Plane), nor handler backends (their Env is a map handed
// to a Go handler, not a process environment).

// errCodeLoadingEnv is the error of a connect whose executable.env sets a
// name of codeLoadingEnv.
var errCodeLoadingEnv = errors.New("executable.env may not set a variable that loads code into a process backend")

// codeLoadingEnv is the documented list of variables that make a program,
// its loader, its shell or its language runtime load or run code named in
// them, or change which program runs. A name ending in "*" is a prefix.
// Names match in any case (Windows reads them so). The README lists every
// entry (TestCodeLoadingEnvIsDocumented).
var codeLoadingEnv = [...]string{
	// The dynamic loader and the C library.
	"LD_*", "DYLD_*", "GLIBC_TUNABLES", "GCONV_PATH", "LOCPATH",
	"OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES",
	// Shells, and where programs look for programs and their configuration.
	"BASH_ENV", "ENV", "BASH_FUNC_*", "SHELLOPTS", "BASHOPTS", "PS4", "IFS", "ZDOTDIR",
	"PATH", "HOME", "XDG_CONFIG_HOME",
	// Language runtimes and their package managers.
	"NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE", "NPM_CONFIG_*",
	"PYTHON*",
	"PERL5*", "PERLLIB",
	"RUBYOPT", "RUBYLIB", "GEM_HOME", "GEM_PATH", "BUNDLE_GEMFILE",
	"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "JAVA_OPTS", "CLASSPATH",
	"DOTNET_*", "CORECLR_*", "COR_*",
	"GOFLAGS", "GOTOOLCHAIN", "GOENV", "GOROOT", "GOPATH", "GOWORK", "GOMODCACHE",
	"GOPROXY", "GOSUMDB", "GONOSUMDB", "GONOSUMCHECK", "GOPRIVATE", "GONOPROXY", "GOINSECURE",
	"CGO_*", "CC", "CXX",
	"PHPRC", "PHP_INI_SCAN_DIR",
	"LUA_*",
	"ERL_*", "ELIXIR_ERL_OPTIONS",
	"GIT_*",
}

// isCodeLoadingEnv reports whether name matches an entry of codeLoadingEnv.
func isCodeLoadingEnv(name string) bool {
	name = strings.ToUpper(name)
	for _, entry := range codeLoadingEnv {
		if prefix, ok := strings.CutSuffix(entry, "*"); ok && strings.HasPrefix(name, prefix) || name == entry {
			return true
		}
	}
	return false
}

// checkEnv refuses an executable.env that sets a name of codeLoadingEnv,
// naming the first such name in sorted order (never its value).
func (r *processRunner) checkEnv(env map[string]string) error {
	var refused []string
	for name := range env {
		if isCodeLoadingEnv(name) {
			refused = append(refused, name)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %q (a spawn runs the backend as the dev server's user; see the README for the list)",
		errCodeLoadingEnv, slices.Min(refused))
}
