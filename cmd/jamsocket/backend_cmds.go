package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jamsocket-go/jamsocket"
)

func (a *app) spawnCommand() *cobra.Command {
	var (
		key, tag, user, auth, lifetime, idle string
		env                                  []string
		noSpawn, wait                        bool
		timeout                              time.Duration
	)
	cmd := &cobra.Command{
		Use:   "spawn",
		Short: "Spawn a backend, or connect to the one holding --key",
		Long: `Spawn a backend of the configured service (or connect to the live backend
holding --key) and print how to reach it. With --wait, follow its status until
it is ready, showing each status as it comes with the time since the spawn;
with --json, print the connect response once it is ready.`,
		Args: args(0, 0),
		RunE: func(*cobra.Command, []string) error {
			req := &jamsocket.ConnectRequest{Key: key, User: user, NoSpawn: noSpawn}
			if auth != "" {
				if err := json.Unmarshal([]byte(auth), &req.Auth); err != nil || req.Auth == nil {
					return usage("--auth must be a JSON object")
				}
			}
			spawn := &jamsocket.SpawnConfig{Tag: tag}
			var err error
			if spawn.LifetimeLimitSeconds, err = seconds("--lifetime", lifetime); err != nil {
				return err
			}
			if spawn.MaxIdleSeconds, err = seconds("--idle", idle); err != nil {
				return err
			}
			if len(env) > 0 {
				spawn.Executable = &jamsocket.Executable{Env: map[string]string{}}
				for _, kv := range env {
					k, v, ok := strings.Cut(kv, "=")
					if !ok || k == "" {
						return usage("--env %q is not KEY=VALUE", kv)
					}
					spawn.Executable.Env[k] = v
				}
			}
			if *spawn != (jamsocket.SpawnConfig{}) {
				req.Spawn = spawn
			}
			c, err := a.client(need{account: true, service: true, token: true}, "")
			if err != nil {
				return err
			}
			ctx, cancel := withTimeout(a.ctx, timeout)
			defer cancel()
			start := time.Now()
			resp, err := c.Spawn(ctx, req)
			if err != nil {
				return err
			}
			if !a.json {
				a.printf("backend_id  %s\nspawned     %t\nurl         %s\nstatus_url  %s\n", resp.BackendID, resp.Spawned, resp.URL, resp.StatusURL)
				if resp.ReadyURL != "" {
					a.printf("ready_url   %s\n", resp.ReadyURL)
				}
			}
			if wait {
				state, err := a.followUntilReady(ctx, c, resp.BackendID, start)
				if err != nil {
					return err
				}
				resp.Status = state.Status
			} else if !a.json {
				a.printf("status      %s\n", resp.Status)
			}
			if a.json {
				return a.printJSON(resp)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&key, "key", "", "key: connect to the backend holding it, or spawn one that holds it")
	f.StringVar(&tag, "tag", "", "image tag or digest to spawn")
	f.StringArrayVar(&env, "env", nil, "environment variable KEY=VALUE for the backend (repeatable)")
	f.StringVar(&user, "user", "", "user identity bound to the connection token")
	f.StringVar(&auth, "auth", "", "JSON object bound to the connection token")
	f.StringVar(&lifetime, "lifetime", "", "lifetime limit, in seconds or as a duration (90, 1h)")
	f.StringVar(&idle, "idle", "", "idle limit, in seconds or as a duration (300, 5m)")
	f.BoolVar(&noSpawn, "no-spawn", false, "only connect to the backend holding --key; never spawn")
	f.BoolVar(&wait, "wait", false, "wait until the backend is ready, showing each status")
	f.DurationVar(&timeout, "timeout", 0, "give up after this long (0: no limit)")
	return cmd
}

// followUntilReady shows each status of a backend (unless --json) until it
// is ready, and fails if it ends first.
func (a *app) followUntilReady(ctx context.Context, c *jamsocket.Client, id string, start time.Time) (*jamsocket.BackendState, error) {
	for state, err := range c.StatusStream(ctx, id) {
		if err != nil {
			return nil, err
		}
		if !a.json {
			a.printf("  %-16s +%s\n", state.Status, time.Since(start).Round(100*time.Microsecond))
		}
		switch {
		case state.Status == jamsocket.StatusReady:
			return state, nil
		case state.Status.IsEnding():
			return nil, &jamsocket.BackendTerminatedError{BackendID: id, State: state}
		}
	}
	return nil, fmt.Errorf("jamsocket: the status stream of backend %s ended before it was ready", id)
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

func (a *app) statusCommand() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "status BACKEND",
		Short: "Show a backend's status; --follow streams each change until terminated",
		Args:  args(1, 1),
		RunE: func(_ *cobra.Command, args []string) error {
			c, err := a.client(need{}, "")
			if err != nil {
				return err
			}
			// The current status first: it fails for an unknown backend,
			// whose stream Plane would keep open forever.
			state, err := c.Status(a.ctx, args[0])
			if err != nil {
				return err
			}
			if !follow || state.Status.IsTerminal() {
				return a.printState(state)
			}
			for state, err := range c.StatusStream(a.ctx, args[0]) {
				if err != nil {
					return err
				}
				if err := a.printState(state); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "stream every status until the backend is terminated")
	return cmd
}

func (a *app) printState(s *jamsocket.BackendState) error {
	if a.json {
		return a.printJSON(s)
	}
	a.printf("%-16s %s%s\n", s.Status, s.Time.UTC().Format(time.RFC3339), termination(s.TerminationReason, s.TerminationKind))
	return nil
}

func termination(reason jamsocket.TerminationReason, kind jamsocket.TerminationKind) string {
	var parts []string
	if reason != "" {
		parts = append(parts, "reason "+string(reason))
	}
	if kind != "" {
		parts = append(parts, string(kind))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func (a *app) waitCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait BACKEND",
		Short: "Wait until a backend is ready; fails if it terminates first",
		Args:  args(1, 1),
		RunE: func(_ *cobra.Command, args []string) error {
			c, err := a.client(need{}, "")
			if err != nil {
				return err
			}
			ctx, cancel := withTimeout(a.ctx, timeout)
			defer cancel()
			start := time.Now()
			state, err := c.WaitReady(ctx, args[0])
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(state)
			}
			a.printf("%s is ready (waited %.1fs)\n", args[0], time.Since(start).Seconds())
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0: no limit)")
	return cmd
}

func (a *app) terminateCommand() *cobra.Command {
	var hard bool
	cmd := &cobra.Command{
		Use:   "terminate BACKEND",
		Short: "Ask for a backend to stop (--hard: kill it at once)",
		Args:  args(1, 1),
		RunE: func(_ *cobra.Command, args []string) error {
			c, err := a.client(need{token: true}, "")
			if err != nil {
				return err
			}
			if err := c.Terminate(a.ctx, args[0], &jamsocket.TerminateOptions{Hard: hard}); err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]any{"backend_id": args[0], "hard": hard, "status": "ok"})
			}
			a.printf("termination requested for backend %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&hard, "hard", false, "kill the backend at once instead of asking it to stop")
	return cmd
}

func (a *app) backendCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "backend", Short: "Inspect backends: info, list, logs, metrics"}
	cmd.AddCommand(
		&cobra.Command{
			Use: "info BACKEND", Short: "Show a backend's details and status history", Args: args(1, 1),
			RunE: func(_ *cobra.Command, args []string) error {
				c, err := a.client(need{token: true}, "")
				if err != nil {
					return err
				}
				info, err := c.Backend(a.ctx, args[0])
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(info)
				}
				a.printBackendInfo(info)
				return nil
			},
		},
		&cobra.Command{
			Use: "list", Short: "List the account's running backends", Args: args(0, 0),
			RunE: func(*cobra.Command, []string) error {
				c, err := a.client(need{account: true, token: true}, "")
				if err != nil {
					return err
				}
				list, err := c.ListBackends(a.ctx)
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(nonNil(list))
				}
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tSTATUS\tSERVICE\tCLUSTER\tKEY\tCREATED")
				for _, b := range list {
					status := "-"
					if b.Status != nil {
						status = string(b.Status.Status)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, status, b.ServiceName, b.ClusterName, orDash(b.Key), b.CreatedAt.UTC().Format(time.RFC3339))
				}
				return w.Flush()
			},
		},
		&cobra.Command{
			Use: "logs BACKEND", Short: "Stream a backend's output until it terminates", Args: args(1, 1),
			RunE: func(_ *cobra.Command, args []string) error {
				c, err := a.client(need{token: true}, "")
				if err != nil {
					return err
				}
				for line, err := range c.Logs(a.ctx, args[0]) {
					if err != nil {
						return err
					}
					if a.json {
						if err := a.printJSON(line); err != nil {
							return err
						}
						continue
					}
					a.printf("%s\n", line.Text)
				}
				return nil
			},
		},
		&cobra.Command{
			Use: "metrics BACKEND", Short: "Stream a backend's memory and CPU use until it terminates", Args: args(1, 1),
			RunE: func(_ *cobra.Command, args []string) error {
				c, err := a.client(need{token: true}, "")
				if err != nil {
					return err
				}
				for m, err := range c.Metrics(a.ctx, args[0]) {
					if err != nil {
						return err
					}
					if a.json {
						if err := a.printJSON(metricsOut{Metrics: m, CPUPercent: m.CPUPercent()}); err != nil {
							return err
						}
						continue
					}
					a.printf("mem %s / %s  cpu %.1f%%\n", bytesIEC(m.MemUsed), bytesIEC(m.MemAvailable), m.CPUPercent())
				}
				return nil
			},
		},
	)
	return cmd
}

// metricsOut is a metrics sample with its CPU percentage, for --json.
type metricsOut struct {
	jamsocket.Metrics
	CPUPercent float64 `json:"cpu_percent"`
}

func (a *app) printBackendInfo(info *jamsocket.BackendInfo) {
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "id\t%s\n", info.ID)
	fmt.Fprintf(w, "service\t%s\n", info.ServiceName)
	if info.EnvironmentName != "" {
		fmt.Fprintf(w, "environment\t%s\n", info.EnvironmentName)
	}
	fmt.Fprintf(w, "account\t%s\n", info.AccountName)
	fmt.Fprintf(w, "cluster\t%s\n", info.ClusterName)
	fmt.Fprintf(w, "created\t%s\n", info.CreatedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "image\t%s\n", orDash(info.ImageDigest))
	fmt.Fprintf(w, "key\t%s\n", orDash(info.Key))
	if info.MaxMemBytes != nil {
		fmt.Fprintf(w, "max memory\t%s\n", bytesIEC(float64(*info.MaxMemBytes)))
	}
	fmt.Fprintln(w, "statuses:")
	for _, s := range info.Statuses {
		extra := termination(s.TerminationReason, s.TerminationKind)
		if s.ExitCode != nil {
			extra += fmt.Sprintf(" exit code %d", *s.ExitCode)
		}
		fmt.Fprintf(w, "  %s\t%s%s\n", s.Time.UTC().Format(time.RFC3339), s.Status, extra)
	}
	w.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// nonNil makes an empty list print as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// bytesIEC formats a byte count with binary units.
func bytesIEC(b float64) string {
	const unit = 1024
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for b >= unit && i < len(units)-1 {
		b /= unit
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}
