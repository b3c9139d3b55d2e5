package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/jamsocket-go/jamsocket"
)

// The connect commands: ours (spawn) and the official CLI's (service
// connect, and its alias connect). Both build the same ConnectRequest from
// connectFlags; only the flag names and the output differ.

func (a *app) spawnCommand() *cobra.Command {
	var cf connectFlags
	cmd := &cobra.Command{
		Use:   "spawn",
		Short: "Spawn a backend, or connect to the one holding --key",
		Long: `Spawn a backend of the configured service (or connect to the live backend
holding --key) and print how to reach it. With --wait, follow its status until
it is ready, showing each status as it comes with the time since the spawn;
with --json, print the connect response once it is ready.

The official CLI's form of this command is "service connect SERVICE".`,
		Args: args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.connect(cmd, &cf, "", printSpawned)
		},
	}
	f := cmd.Flags()
	cf.addCommon(f, false)
	f.StringVar(&cf.lifetime, "lifetime", "", "lifetime limit, in seconds or as a duration (90, 1h)")
	f.StringVar(&cf.idle, "idle", "", "idle limit, in seconds or as a duration (300, 5m)")
	f.BoolVar(&cf.noSpawn, "no-spawn", false, "only connect to the backend holding --key; never spawn")
	return cmd
}

// connectCommand is the official CLI's `service connect`, also
// installed at the top level as `connect`, as the official CLI does.
func (a *app) connectCommand() *cobra.Command {
	var cf connectFlags
	cmd := &cobra.Command{
		Use:   "connect SERVICE[/ENVIRONMENT]",
		Short: "Get a connection URL for a backend of SERVICE, spawning one unless --key is held (official form)",
		Long: `Get a URL to connect to a session backend of SERVICE (or SERVICE/ENVIRONMENT).
A new backend is spawned unless a live backend holds --key; --no-spawn only
connects to the holder. With --wait, follow its status until it is ready.

Our shorter form of this command is "spawn", which takes the service from
--service or $JAMSOCKET_SERVICE.`,
		Example: `  jamsocket service connect my-service
  jamsocket service connect my-service -k my-key
  jamsocket service connect my-service -e SOME_ENV_VAR=foo -e ANOTHER_ENV_VAR=bar
  jamsocket service connect my-service -u my-user -a '{"foo":"my-json-data"}'`,
		Args: args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cf.noSpawn = !cf.spawn
			return a.connect(cmd, &cf, args[0], printConnected)
		},
	}
	f := cmd.Flags()
	cf.addCommon(f, true)
	f.StringVarP(&cf.idle, "max-idle-seconds", "i", "", "seconds without connections before the backend stops (a duration also works)")
	f.StringVarP(&cf.lifetime, "lifetime-limit-seconds", "l", "", "seconds the backend may run at most (a duration also works)")
	f.BoolVar(&cf.spawn, "spawn", true, "spawn a backend if none holds --key (--no-spawn: never spawn)")
	f.Bool("no-spawn", false, "only connect to the backend holding --key; never spawn")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if f.Changed("no-spawn") {
			v, _ := f.GetBool("no-spawn")
			cf.spawn = !v
		}
		return nil
	}
	return cmd
}

// connectFlags are the flags of the connect commands.
type connectFlags struct {
	key, tag, cluster, user, auth string
	lifetime, idle                string
	env                           []string
	spawn, noSpawn, wait          bool
	timeout                       time.Duration
}

// addCommon registers the flags every connect command has, under the
// official CLI's long names, and with its one-letter forms if official.
func (cf *connectFlags) addCommon(f *pflag.FlagSet, official bool) {
	short := func(c string) string {
		if official {
			return c
		}
		return ""
	}
	f.StringVarP(&cf.key, "key", short("k"), "", "key: connect to the backend holding it, or spawn one that holds it")
	f.StringVarP(&cf.tag, "tag", short("t"), "", "image tag or digest to spawn")
	f.StringVarP(&cf.cluster, "cluster", short("c"), "", "cluster to spawn the backend in (accounts with several clusters)")
	f.StringArrayVarP(&cf.env, "env", short("e"), nil, "environment variable KEY=VALUE for the backend (repeatable)")
	f.StringVarP(&cf.user, "user", short("u"), "", "user identity bound to the connection token")
	f.StringVarP(&cf.auth, "auth", short("a"), "", "JSON object bound to the connection token")
	f.BoolVar(&cf.wait, "wait", false, "wait until the backend is ready, showing each status")
	f.DurationVar(&cf.timeout, "timeout", 0, "give up after this long (0: no limit)")
}

// request builds the ConnectRequest the flags describe.
func (cf *connectFlags) request() (*jamsocket.ConnectRequest, error) {
	req := &jamsocket.ConnectRequest{Key: cf.key, User: cf.user, NoSpawn: cf.noSpawn}
	if cf.auth != "" {
		if err := json.Unmarshal([]byte(cf.auth), &req.Auth); err != nil || req.Auth == nil {
			return nil, usage("--auth must be a JSON object")
		}
	}
	spawn := &jamsocket.SpawnConfig{Tag: cf.tag, Cluster: cf.cluster}
	var err error
	if spawn.LifetimeLimitSeconds, err = seconds("the lifetime limit", cf.lifetime); err != nil {
		return nil, err
	}
	if spawn.MaxIdleSeconds, err = seconds("the idle limit", cf.idle); err != nil {
		return nil, err
	}
	if len(cf.env) > 0 {
		spawn.Executable = &jamsocket.Executable{Env: map[string]string{}}
		for _, kv := range cf.env {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, usage("--env %q is not KEY=VALUE", kv)
			}
			spawn.Executable.Env[k] = v
		}
	}
	if *spawn != (jamsocket.SpawnConfig{}) {
		req.Spawn = spawn
	}
	return req, nil
}

// connectPrinter shows a connect response to a person.
type connectPrinter func(a *app, resp *jamsocket.ConnectResponse, keyed, waited bool)

// connect runs a connect command: service is "SERVICE[/ENVIRONMENT]", or
// "" for the configured one.
func (a *app) connect(cmd *cobra.Command, cf *connectFlags, service string, show connectPrinter) error {
	req, err := cf.request()
	if err != nil {
		return err
	}
	if req.NoSpawn && req.Spawn != nil {
		a.warnf("the spawn options (--tag, --cluster, --env, the limits) are ignored with --no-spawn")
		req.Spawn = nil
	}
	name, environment, err := splitService(service)
	if err != nil {
		return err
	}
	c, err := a.clientFor(need{account: true, service: true, token: true}, name, environment)
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(a.ctx, cf.timeout)
	defer cancel()
	start := time.Now()
	resp, err := c.Spawn(ctx, req)
	if err != nil {
		return err
	}
	if cf.wait {
		if !a.json {
			show(a, resp, req.Key != "", true)
		}
		state, err := a.followUntilReady(ctx, c, resp.BackendID, start)
		if err != nil {
			return err
		}
		resp.Status = state.Status
	} else if !a.json {
		show(a, resp, req.Key != "", false)
	}
	if a.json {
		return a.printJSON(resp)
	}
	return nil
}

// printSpawned is our layout: one "name  value" line per field.
func printSpawned(a *app, resp *jamsocket.ConnectResponse, _, waited bool) {
	a.printf("backend_id  %s\nspawned     %t\nurl         %s\nstatus_url  %s\n", resp.BackendID, resp.Spawned, resp.URL, resp.StatusURL)
	if resp.ReadyURL != "" {
		a.printf("ready_url   %s\n", resp.ReadyURL)
	}
	if !waited {
		a.printf("status      %s\n", resp.Status)
	}
}

// printConnected is the official CLI's layout.
func printConnected(a *app, resp *jamsocket.ConnectResponse, keyed, _ bool) {
	a.printf("Backend spawned!\n")
	a.printf("backend id:      %s\n", resp.BackendID)
	a.printf("backend status:  %s\n", orDash(string(resp.Status)))
	a.printf("backend url:     %s\n", resp.URL)
	a.printf("status url:      %s\n", resp.StatusURL)
	a.printf("ready url:       %s\n", resp.ReadyURL)
	if keyed {
		a.printf("spawned:         %t\n", resp.Spawned)
	}
}

// splitService splits "SERVICE[/ENVIRONMENT]".
func splitService(s string) (service, environment string, err error) {
	service, environment, hasEnv := strings.Cut(s, "/")
	if (s != "" && service == "") || (hasEnv && (environment == "" || strings.Contains(environment, "/"))) {
		return "", "", usage("%q is not SERVICE or SERVICE/ENVIRONMENT", s)
	}
	return service, environment, nil
}

// followUntilReady shows each status of a backend (unless --json) until it
// is ready, and fails if it ends first.
func (a *app) followUntilReady(ctx context.Context, c *jamsocket.Client, id string, start time.Time) (*jamsocket.BackendState, error) {
	return c.WaitReady(ctx, id, &jamsocket.WaitOptions{OnStatus: func(state *jamsocket.BackendState) {
		if !a.json {
			a.printf("  %-16s +%s\n", state.Status, time.Since(start).Round(100*time.Microsecond))
		}
	}})
}

// seconds reads a limit given as a number of seconds or a duration.
func seconds(flag, v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return n, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0, usage("%s %q is neither seconds nor a duration of at least 1s", flag, v)
	}
	return int(d / time.Second), nil
}

func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
