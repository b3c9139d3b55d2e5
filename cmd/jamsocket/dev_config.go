package main

import (
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
	var c devProjectConfig
	ok := true
	str := func(v any, dst *string) {
		if !truthy(v) {
			return
		}
		s, isStr := v.(string)
		ok = ok && isStr
		*dst = s
	}
	boolean := func(v any) *bool {
		if !truthy(v) {
			if b, isBool := v.(bool); isBool {
				return &b // an explicit false still counts as set
			}
			return nil
		}
		b, isBool := v.(bool)
		ok = ok && isBool
		return &b
	}
	str(raw["dockerfile"], &c.Dockerfile)
	switch w := raw["watch"].(type) {
	case string:
		if w != "" {
			c.Watch = []string{w}
		}
	case []any:
		for _, e := range w {
			s, isStr := e.(string)
			ok = ok && isStr
			c.Watch = append(c.Watch, s)
		}
	default:
		ok = ok && !truthy(w)
	}
	if p := raw["port"]; truthy(p) {
		f, isNum := p.(float64)
		ok = ok && isNum && f == float64(int(f)) && f > 0 && f < 65536
		c.Port = int(f)
	}
	c.Interactive = boolean(raw["interactive"])
	if b := boolean(raw["useStaticToken"]); b != nil {
		c.UseStaticToken = *b
	}
	c.StyleLogOutput = boolean(raw["styleLogOutput"])
	if d := raw["dockerOptions"]; truthy(d) {
		opts, isObj := d.(map[string]any)
		ok = ok && isObj
		str(opts["path"], &c.ContextPath)
		str(opts["network"], &c.Network)
	}
	if !ok {
		return nil, errDevConfigInvalid
	}
	return &c, nil
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
	plan.dockerfile = o.dockerfile
	if plan.dockerfile == "" {
		plan.dockerfile = o.dockerfileOld
	}
	cmdGiven := changed("cmd") || len(args) > 0
	chosen := 0
	for _, given := range []bool{cmdGiven, plan.dockerfile != "", plan.image != ""} {
		if given {
			chosen++
		}
	}
	switch {
	case chosen > 1:
		return devPlan{}, usage("give only one of --dockerfile, --image and --cmd (or a command after --)")
	case chosen == 0 && cfg.Dockerfile != "":
		plan.dockerfile = cfg.Dockerfile
	case chosen == 0:
		return devPlan{}, usage("%s", devNoRunner)
	}
	if cmdGiven {
		if plan.argv, err = devBackendCommand(o.command, changed("cmd"), args); err != nil {
			return devPlan{}, err
		}
	}

	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(cwd, p)
	}
	if plan.dockerfile != "" {
		plan.dockerfile = abs(plan.dockerfile)
		plan.context = o.buildContext
		if plan.context == "" {
			plan.context = cfg.ContextPath
		}
		if plan.context == "" {
			plan.context = cwd
		}
		plan.context = abs(plan.context)
		watch := o.watch
		if len(watch) == 0 {
			watch = cfg.Watch
		}
		for _, w := range watch {
			plan.watch = append(plan.watch, abs(w))
		}
	} else if len(o.watch) > 0 || o.buildContext != "" {
		return devPlan{}, usage("--watch and --context are about building a Dockerfile: they need --dockerfile")
	}
	if plan.network == "" {
		plan.network = cfg.Network
	}
	if plan.network != "" && !plan.containers() {
		return devPlan{}, usage("--docker-network is for container backends: it needs --dockerfile or --image")
	}

	port := o.port
	if !changed("port") {
		port = cfg.Port
	}
	switch {
	case changed("port") && changed("api-addr"):
		return devPlan{}, usage("give either --port or --api-addr, not both")
	case changed("port") && (port <= 0 || port > 65535):
		return devPlan{}, usage("--port must be between 1 and 65535")
	case port > 0 && !changed("api-addr"):
		plan.apiAddr = "127.0.0.1:" + strconv.Itoa(port)
	}

	plan.interactive = true
	switch {
	case changed("no-interactive"):
		plan.interactive = false
	case changed("interactive"):
		plan.interactive = o.interactive
	case cfg.Interactive != nil:
		plan.interactive = *cfg.Interactive
	}
	plan.styleLog = true
	switch {
	case changed("no-style-log-output"):
		plan.styleLog = false
	case changed("style-log-output"):
		plan.styleLog = o.styleLog
	case cfg.StyleLogOutput != nil:
		plan.styleLog = *cfg.StyleLogOutput
	}
	return plan, nil
}
