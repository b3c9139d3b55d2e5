package sessionbackend

import (
	"fmt"
	"maps"
	"strconv"
)

// The variables the platform sets for a backend it starts with its
// assignment (Plane's drone; the local plane).
const (
	envBackendID    = "SESSION_BACKEND_ID"
	envKey          = "SESSION_BACKEND_KEY"
	envFencingToken = "SESSION_BACKEND_FENCING_TOKEN"
	envStaticToken  = "SESSION_BACKEND_STATIC_TOKEN"
)

// EnvError is a variable of the environment that does not hold what it
// must: PORT a port, SESSION_BACKEND_FENCING_TOKEN an integer.
type EnvError struct {
	// Name and Value are the variable's (neither is a secret).
	Name, Value string
	Err         error
}

func (e *EnvError) Error() string {
	return fmt.Sprintf("sessionbackend: %s=%q: %v", e.Name, e.Value, e.Err)
}

func (e *EnvError) Unwrap() error { return e.Err }

// assignmentFromEnv is the assignment of a backend started with it, as the
// official package reads it (main.ts:84-93): the four SESSION_BACKEND_*
// variables, and the rest of the environment as Env.
func assignmentFromEnv(env map[string]string) (*Assignment, error) {
	a := &Assignment{
		BackendID:   env[envBackendID],
		Key:         env[envKey],
		StaticToken: env[envStaticToken],
		Env:         maps.Clone(env),
	}
	if a.Env == nil {
		a.Env = map[string]string{}
	}
	if s := env[envFencingToken]; s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, &EnvError{Name: envFencingToken, Value: s, Err: err}
		}
		a.FencingToken = n
	}
	for _, name := range []string{envBackendID, envKey, envFencingToken, envStaticToken} {
		delete(a.Env, name)
	}
	return a, nil
}
