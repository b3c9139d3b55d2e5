package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// The official CLI's project configuration: jamsocket.config.json in the
// current directory configures `jamsocket dev`, and flags win over it.

// Names of the official CLI's project configuration files.
const (
	devConfigJSON = "jamsocket.config.json"
	devConfigJS   = "jamsocket.config.js"
)

// The official CLI's errors about the project configuration, word for word.
var (
	errDevConfigBoth    = errors.New("Both jamsocket.config.js and jamsocket.config.json files exist. Please remove one of them.")                       //lint:ignore ST1005 the official CLI's message
	errDevConfigInvalid = errors.New("Invalid jamsocket.config.json file. Please see https://docs.jamsocket.com/platform/dev-cli for more information.") //lint:ignore ST1005 the official CLI's message
)

// devProjectConfig is jamsocket.config.json. A field left out (or, as the
// official CLI reads it, given as false, 0 or "") is unset.
type devProjectConfig struct {
	Dockerfile     string
	Watch          []string
	Port           int
	Interactive    *bool
	UseStaticToken bool
	StyleLogOutput *bool
	ContextPath    string // dockerOptions.path
	Network        string // dockerOptions.network
}

// loadDevProjectConfig reads the project configuration of dir, if there is
// one (nil, nil when there is none). A jamsocket.config.js cannot be read
// here (it is JavaScript): it is an error that says to use the JSON file.
func loadDevProjectConfig(dir string) (*devProjectConfig, error) {
	jsonPath, jsPath := filepath.Join(dir, devConfigJSON), filepath.Join(dir, devConfigJS)
	_, errJSON := os.Stat(jsonPath)
	_, errJS := os.Stat(jsPath)
	switch {
	case errJSON == nil && errJS == nil:
		return nil, errDevConfigBoth
	case errJS == nil:
		return nil, fmt.Errorf("%s is JavaScript, which this jamsocket cannot run: write the same object as %s", devConfigJS, devConfigJSON)
	case errJSON != nil:
		return nil, nil
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		return nil, err
	}
	return parseDevProjectConfig(data)
}

// parseDevProjectConfig validates as the official CLI does: the file is a
// JSON object; each field, when truthy, has its type (dockerfile a string,
// watch a string or an array, port a number, interactive, useStaticToken
// and styleLogOutput booleans, dockerOptions an object whose path and
// network are strings).
func parseDevProjectConfig(data []byte) (*devProjectConfig, error) {
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return nil, errDevConfigInvalid
	}
	var (
		c devProjectConfig
		r truthyReader
	)
	c.Dockerfile = r.str(raw["dockerfile"])
	c.Watch = r.strs(raw["watch"])
	c.Port = r.port(raw["port"])
	c.Interactive = r.boolean(raw["interactive"])
	if b := r.boolean(raw["useStaticToken"]); b != nil {
		c.UseStaticToken = *b
	}
	c.StyleLogOutput = r.boolean(raw["styleLogOutput"])
	if d := raw["dockerOptions"]; truthy(d) {
		opts, isObj := d.(map[string]any)
		r.check(isObj)
		c.ContextPath = r.str(opts["path"])
		c.Network = r.str(opts["network"])
	}
	if r.bad {
		return nil, errDevConfigInvalid
	}
	return &c, nil
}

// truthyReader reads decoded JSON values as the official CLI does: a falsy
// value is unset whatever its type, a truthy one must have the type asked
// for. bad records a value that did not.
type truthyReader struct{ bad bool }

func (r *truthyReader) check(ok bool) { r.bad = r.bad || !ok }

// str reads a string.
func (r *truthyReader) str(v any) string {
	if !truthy(v) {
		return ""
	}
	s, ok := v.(string)
	r.check(ok)
	return s
}

// strs reads a string or an array of strings.
func (r *truthyReader) strs(v any) []string {
	switch v := v.(type) {
	case string:
		if v != "" {
			return []string{v}
		}
	case []any:
		var out []string
		for _, e := range v {
			s, ok := e.(string)
			r.check(ok)
			out = append(out, s)
		}
		return out
	default:
		r.check(!truthy(v))
	}
	return nil
}

// port reads a port number, 1 to 65535.
func (r *truthyReader) port(v any) int {
	if !truthy(v) {
		return 0
	}
	f, ok := v.(float64)
	r.check(ok && f == float64(int(f)) && f > 0 && f < 65536)
	return int(f)
}

// boolean reads a boolean: nil when unset, and an explicit false still
// counts as set.
func (r *truthyReader) boolean(v any) *bool {
	b, ok := v.(bool)
	if !truthy(v) {
		if ok {
			return &b
		}
		return nil
	}
	r.check(ok)
	return &b
}

// truthy is JavaScript's truthiness of a decoded JSON value.
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case float64:
		return v != 0
	case string:
		return v != ""
	}
	return true // objects and arrays, even empty
}

// devPlan is what `jamsocket dev` runs, from its flags and the project
// configuration: exactly one of argv (a command), dockerfile (built) and
// image.
type devPlan struct {
	argv                []string
	dockerfile, context string
	image               string
	watch               []string
	network             string
	apiAddr             string
	interactive         bool
	staticToken         bool
	styleLog            bool
}

// containers reports whether backends are containers.
func (p devPlan) containers() bool { return p.dockerfile != "" || p.image != "" }

// devNoRunner is what `jamsocket dev` says when nothing tells it what a
// backend is.
const devNoRunner = `jamsocket dev needs to know what a session backend is. Start from the example backend:

  jamsocket dev -f examples/backend/Dockerfile

or give your own: -f/--dockerfile PATH (built with docker; also "dockerfile" in jamsocket.config.json),
--image NAME (an image you have built), or --cmd "./my-backend" (a local command)`

// resolveDev merges the flags (changed tells which were given) with the
// project configuration of cwd, flags winning, and checks that exactly one
// runner is chosen.
func resolveDev(o *devOptions, changed func(string) bool, args []string, cwd string) (devPlan, error) {
	cfg, err := loadDevProjectConfig(cwd)
	if err != nil {
		return devPlan{}, err
	}
	if cfg == nil {
		cfg = &devProjectConfig{}
	}
	plan := devPlan{image: o.image, apiAddr: o.apiAddr, network: o.network, staticToken: o.staticToken || cfg.UseStaticToken}
	if err := plan.chooseRunner(o, cfg, changed, args); err != nil {
		return devPlan{}, err
	}
	if err := plan.resolveBuild(o, cfg, cwd); err != nil {
		return devPlan{}, err
	}
	if err := plan.resolveNetwork(cfg); err != nil {
		return devPlan{}, err
	}
	if err := plan.resolveAPIAddr(o.port, cfg.Port, changed); err != nil {
		return devPlan{}, err
	}
	plan.interactive = flagOrConfig(changed, "interactive", o.interactive, cfg.Interactive)
	plan.styleLog = flagOrConfig(changed, "style-log-output", o.styleLog, cfg.StyleLogOutput)
	return plan, nil
}

// chooseRunner sets what a backend is: the command (--cmd or the
// arguments), the Dockerfile or the image, exactly one of them, the
// configuration's Dockerfile when no flag names one.
func (p *devPlan) chooseRunner(o *devOptions, cfg *devProjectConfig, changed func(string) bool, args []string) error {
	p.dockerfile = o.dockerfile
	if p.dockerfile == "" {
		p.dockerfile = o.dockerfileOld
	}
	cmdGiven := changed("cmd") || len(args) > 0
	chosen := 0
	for _, given := range []bool{cmdGiven, p.dockerfile != "", p.image != ""} {
		if given {
			chosen++
		}
	}
	switch {
	case chosen > 1:
		return usage("give only one of --dockerfile, --image and --cmd (or a command after --)")
	case chosen == 0 && cfg.Dockerfile != "":
		p.dockerfile = cfg.Dockerfile
	case chosen == 0:
		return usage("%s", devNoRunner)
	}
	if !cmdGiven {
		return nil
	}
	var err error
	p.argv, err = devBackendCommand(o.command, changed("cmd"), args)
	return err
}

// resolveBuild sets the Dockerfile's build context and watched paths,
// absolute, from the flags or else the configuration; without a
// Dockerfile, --watch and --context are refused.
func (p *devPlan) resolveBuild(o *devOptions, cfg *devProjectConfig, cwd string) error {
	if p.dockerfile == "" {
		if len(o.watch) > 0 || o.buildContext != "" {
			return usage("--watch and --context are about building a Dockerfile: they need --dockerfile")
		}
		return nil
	}
	abs := func(path string) string {
		if path == "" || filepath.IsAbs(path) {
			return path
		}
		return filepath.Join(cwd, path)
	}
	p.dockerfile = abs(p.dockerfile)
	p.context = cmp.Or(o.buildContext, cfg.ContextPath, cwd)
	p.context = abs(p.context)
	watch := o.watch
	if len(watch) == 0 {
		watch = cfg.Watch
	}
	for _, w := range watch {
		p.watch = append(p.watch, abs(w))
	}
	return nil
}

// resolveNetwork takes the configuration's network unless a flag gave
// one; only container backends join one.
func (p *devPlan) resolveNetwork(cfg *devProjectConfig) error {
	p.network = cmp.Or(p.network, cfg.Network)
	if p.network != "" && !p.containers() {
		return usage("--docker-network is for container backends: it needs --dockerfile or --image")
	}
	return nil
}

// resolveAPIAddr puts the API on 127.0.0.1:port when --port or the
// configuration's port gives one and --api-addr does not.
func (p *devPlan) resolveAPIAddr(flagPort, cfgPort int, changed func(string) bool) error {
	port := flagPort
	if !changed("port") {
		port = cfgPort
	}
	switch {
	case changed("port") && changed("api-addr"):
		return usage("give either --port or --api-addr, not both")
	case changed("port") && (port <= 0 || port > 65535):
		return usage("--port must be between 1 and 65535")
	case port > 0 && !changed("api-addr"):
		p.apiAddr = "127.0.0.1:" + strconv.Itoa(port)
	}
	return nil
}

// flagOrConfig is a switch that is on by default: --no-NAME turns it off,
// --NAME says what flag says, and else the configuration's value counts.
func flagOrConfig(changed func(string) bool, name string, flag bool, cfg *bool) bool {
	switch {
	case changed("no-" + name):
		return false
	case changed(name):
		return flag
	case cfg != nil:
		return *cfg
	}
	return true
}
