package jamsocket

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The environment variables FromEnv reads.
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
// missing variable.
func FromEnv(opts ...Option) (*Client, error) {
	if os.Getenv(EnvPlaneURL) != "" {
		cfg, err := PlaneConfigFromEnv()
		if err != nil {
			return nil, err
		}
		return NewPlane(cfg, opts...)
	}
	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	return New(cfg, opts...)
}

func configFromEnv(getenv func(string) string) (Config, error) {
	if dev := getenv(EnvDev); dev != "" {
		isDev, err := strconv.ParseBool(dev)
		if err != nil {
			return Config{}, fmt.Errorf("jamsocket: %s=%q is not true or false", EnvDev, dev)
		}
		if isDev {
			cfg := Config{Dev: true}
			if p := getenv(EnvDevPort); p != "" {
				port, err := strconv.Atoi(p)
				if err != nil {
					return Config{}, fmt.Errorf("jamsocket: %s=%q is not an integer", EnvDevPort, p)
				}
				cfg.DevPort = port
			}
			return cfg, nil
		}
	}
	cfg := Config{
		Account:     getenv(EnvAccount),
		Token:       getenv(EnvToken),
		Service:     getenv(EnvService),
		APIURL:      getenv(EnvAPIURL),
		Environment: getenv(EnvEnvironment),
	}
	var missing []string
	for _, v := range [...]struct{ name, value string }{
		{EnvAccount, cfg.Account}, {EnvToken, cfg.Token}, {EnvService, cfg.Service},
	} {
		if v.value == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return Config{}, fmt.Errorf("jamsocket: environment lacks %s (or set %s=true for a local dev server)",
			strings.Join(missing, ", "), EnvDev)
	}
	return cfg, nil
}
