package localplane

import (
	"strconv"
	"strings"
)

// A backend's environment: the variables Plane's drone gives it, over the
// connect's executable.env, whose reserved names a connect may not set.
// (What a process backend inherits from the plane is Config.PassEnv; what
// it may not be given is runner_process_env.go's.)

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

// reservedEnv reports the first name in env that a backend's environment
// reserves, or "".
func reservedEnv(env map[string]string) string {
	for k := range env {
		if k == "PORT" || k == "JAMSOCKET_SERVICE" || strings.HasPrefix(k, "SESSION_BACKEND_") {
			return k
		}
	}
	return ""
}
