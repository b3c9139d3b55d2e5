package jamsocket

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The environment variables FromEnv and ParseEnv read.
const (
	EnvAccount = "JAMSOCKET_ACCOUNT"
	EnvToken   = "JAMSOCKET_TOKEN"
	EnvService = "JAMSOCKET_SERVICE"
	EnvAPIURL  = "JAMSOCKET_API_URL"
	EnvDev     = "JAMSOCKET_DEV"
	EnvDevPort = "JAMSOCKET_DEV_PORT"
	// EnvEnvironment selects a service environment (optional).
	EnvEnvironment = "JAMSOCKET_ENVIRONMENT"
)

// FromEnv returns a Client configured from the environment, as the official
// SDK's fromEnv does: JAMSOCKET_DEV=true selects a local dev server on
// JAMSOCKET_DEV_PORT (default 8080); otherwise JAMSOCKET_ACCOUNT,
// JAMSOCKET_TOKEN and JAMSOCKET_SERVICE are required, and JAMSOCKET_API_URL
// and JAMSOCKET_ENVIRONMENT are optional. A Plane controller is selected by
// JAMSOCKET_PLANE_URL (see PlaneConfigFromEnv). The error names every
// missing variable. See ParseEnv for the rules.
func FromEnv(opts ...Option) (*Client, error) {
	env, err := ParseEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	if env.Plane != nil {
		return NewPlane(*env.Plane, opts...)
	}
	if !env.Config.Dev {
		if missing := env.missing(); len(missing) > 0 {
			return nil, fmt.Errorf("jamsocket: environment lacks %s (or set %s=true for a local dev server)",
				strings.Join(missing, ", "), EnvDev)
		}
	}
	return New(env.Config, opts...)
}

// EnvConfig is what the JAMSOCKET_* variables select: a Plane controller
// when Plane is set, the Jamsocket API described by Config otherwise.
type EnvConfig struct {
	// Config is the Jamsocket API configuration: a local dev server when
	// Config.Dev is set, the hosted API (or JAMSOCKET_API_URL) otherwise.
	// Its Account, Token and Service are what the environment holds, even
	// empty.
	Config Config
	// Plane is set when JAMSOCKET_PLANE_URL selects a Plane controller.
	Plane *PlaneConfig
}

// ParseEnv reads the JAMSOCKET_* variables through getenv (os.Getenv, or a
// lookup in a test or a command line that reads its environment its own
// way). It is the one place their rules live; FromEnv and the jamsocket
// command both use it.
//
// It reports a value that does not parse (JAMSOCKET_DEV not a boolean,
// JAMSOCKET_DEV_PORT not a number), JAMSOCKET_PLANE_URL together with
// JAMSOCKET_DEV=true (they select different targets), and a Plane selection
// without JAMSOCKET_PLANE_IMAGE. It does not require JAMSOCKET_ACCOUNT,
// JAMSOCKET_TOKEN and JAMSOCKET_SERVICE, which FromEnv requires and a caller
// that takes them from elsewhere (flags) may not. With JAMSOCKET_DEV=true,
// JAMSOCKET_API_URL is ignored, as the official SDK does.
func ParseEnv(getenv func(string) string) (EnvConfig, error) {
	dev := false
	if v := getenv(EnvDev); v != "" {
		var err error
		if dev, err = strconv.ParseBool(v); err != nil {
			return EnvConfig{}, fmt.Errorf("jamsocket: %s=%q is not true or false", EnvDev, v)
		}
	}
	if getenv(EnvPlaneURL) != "" {
		if dev {
			return EnvConfig{}, fmt.Errorf("jamsocket: %s and %s=true select different targets (a Plane controller, a local dev server); unset one",
				EnvPlaneURL, EnvDev)
		}
		cfg, err := envPlaneConfig(getenv)
		if err != nil {
			return EnvConfig{}, err
		}
		return EnvConfig{Plane: &cfg}, nil
	}
	cfg := Config{
		Account:     getenv(EnvAccount),
		Token:       getenv(EnvToken),
		Service:     getenv(EnvService),
		Environment: getenv(EnvEnvironment),
		Dev:         dev,
	}
	if dev {
		if p := getenv(EnvDevPort); p != "" {
			port, err := strconv.Atoi(p)
			if err != nil {
				return EnvConfig{}, fmt.Errorf("jamsocket: %s=%q is not an integer", EnvDevPort, p)
			}
			cfg.DevPort = port
		}
	} else {
		cfg.APIURL = getenv(EnvAPIURL)
	}
	return EnvConfig{Config: cfg}, nil
}

// missing names the required variables the environment lacks for the
// hosted API.
func (e EnvConfig) missing() []string {
	var missing []string
	for _, v := range [...]struct{ name, value string }{
		{EnvAccount, e.Config.Account}, {EnvToken, e.Config.Token}, {EnvService, e.Config.Service},
	} {
		if v.value == "" {
			missing = append(missing, v.name)
		}
	}
	return missing
}
