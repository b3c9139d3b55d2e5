package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jamsocket-go/jamsocket"
)

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

// terminateCommand is both our `terminate` and the official CLI's
// `backend terminate` (whose alias `terminate` it also is): several ids at
// once, --force or our --hard to kill at once.
func (a *app) terminateCommand() *cobra.Command {
	var hard bool
	cmd := &cobra.Command{
		Use:   "terminate BACKEND...",
		Short: "Ask for one or more backends to stop (--force or --hard: kill them at once)",
		Long: `Ask for each backend to stop. A backend that has already terminated is
skipped with a warning; when another fails, the rest are still terminated and
the command fails at the end, naming each failure. With --json, one line per
backend: {"backend_id", "hard", "status"} with status "ok",
"already terminated" or "error" (and "error").`,
		Example: "  jamsocket backend terminate abc123 def456\n  jamsocket terminate abc123 --force",
		Args:    args(1, maxArgs),
		RunE: func(_ *cobra.Command, ids []string) error {
			c, err := a.client(need{token: true}, "")
			if err != nil {
				return err
			}
			var failed []string
			for _, id := range ids {
				out := terminateOut{BackendID: id, Hard: hard, Status: "ok"}
				// Terminate is idempotent (an ended backend is success), so
				// the status says whether there is anything to stop.
				var err error
				alreadyEnded := false
				if st, statusErr := c.Status(a.ctx, id); statusErr == nil && st.Status.IsTerminal() {
					alreadyEnded = true
				} else {
					err = c.Terminate(a.ctx, id, &jamsocket.TerminateOptions{Hard: hard})
				}
				switch {
				case alreadyEnded:
					out.Status = "already terminated"
					a.warnf("backend %s has already terminated; skipping", id)
				case a.ctx.Err() != nil:
					return err
				case err != nil:
					out.Status, out.Error = "error", a.errorLine(err)
					failed = append(failed, id+": "+strings.TrimPrefix(out.Error, "jamsocket: "))
				case !a.json:
					a.printf("Termination requested for backend: %s\n", id)
				}
				if a.json {
					if err := a.printJSON(out); err != nil {
						return err
					}
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("jamsocket: could not terminate %d of %d backend(s): %s", len(failed), len(ids), strings.Join(failed, "; "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&hard, "force", "f", false, "kill the backends at once instead of asking them to stop")
	cmd.Flags().BoolVar(&hard, "hard", false, "the same as --force")
	return cmd
}

// terminateOut is one line of `terminate --json`.
type terminateOut struct {
	BackendID string `json:"backend_id"`
	Hard      bool   `json:"hard"`
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
}

func (a *app) backendCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "backend", Short: "Inspect and end backends: info, list, logs, metrics, terminate"}
	cmd.AddCommand(a.backendInfoCommand(), a.backendListCommand(), a.backendLogsCommand(), a.backendMetricsCommand(),
		a.terminateCommand())
	return cmd
}

func (a *app) backendInfoCommand() *cobra.Command {
	return &cobra.Command{
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
	}
}

func (a *app) backendListCommand() *cobra.Command {
	return &cobra.Command{
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
			if len(list) == 0 {
				a.printf("No running backends found.\n")
				return nil
			}
			a.printf("Found the following running backends:\n\n")
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tCreated\tAccount\tService\tStatus\tKey (aka Lock)")
			for _, b := range list {
				status := "-"
				if b.Status != nil {
					status = fmt.Sprintf("%s (%s)", b.Status.Status, b.Status.Time.UTC().Format(time.RFC3339))
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.CreatedAt.UTC().Format(time.RFC3339), b.AccountName, b.ServiceName, status, b.Key)
			}
			return w.Flush()
		},
	}
}

// logsAliasCommand is the official CLI's top-level alias of `backend logs`.
func (a *app) logsAliasCommand() *cobra.Command { return a.backendLogsCommand() }

func (a *app) backendLogsCommand() *cobra.Command {
	return &cobra.Command{
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
	}
}

func (a *app) backendMetricsCommand() *cobra.Command {
	return &cobra.Command{
		Use: "metrics BACKEND", Short: "Stream a backend's memory and CPU use until it terminates", Args: args(1, 1),
		RunE: func(_ *cobra.Command, args []string) error {
			c, err := a.client(need{token: true}, "")
			if err != nil {
				return err
			}
			header := false
			for m, err := range c.Metrics(a.ctx, args[0]) {
				if err != nil {
					return err
				}
				if !a.json && !header {
					a.printf("cpu util\tmem used\tmem avail\n")
					header = true
				}
				if a.json {
					if err := a.printJSON(metricsOut{Metrics: m, CPUPercent: m.CPUPercent()}); err != nil {
						return err
					}
					continue
				}
				a.printf("%-8s\t%-8s\t%s\n", fmt.Sprintf("%.1f%%", m.CPUPercent()), bytesIEC(m.MemUsed), bytesIEC(m.MemAvailable))
			}
			return nil
		},
	}
}

// metricsOut is a metrics sample with its CPU percentage, for --json.
type metricsOut struct {
	jamsocket.Metrics
	CPUPercent float64 `json:"cpu_percent"`
}

// printBackendInfo shows a backend in the official CLI's layout.
func (a *app) printBackendInfo(info *jamsocket.BackendInfo) {
	a.printf("Info for backend: %s\n", info.ID)
	a.printf("created:      %s\n", info.CreatedAt.UTC().Format(time.RFC3339))
	a.printf("service:      %s\n", info.ServiceName)
	a.printf("account:      %s\n", info.AccountName)
	a.printf("cluster:      %s\n", orDash(info.ClusterName))
	a.printf("image digest: %s\n", orDash(info.ImageDigest))
	if info.Key != "" {
		a.printf("key:          %s\n", info.Key)
	}
	if info.EnvironmentName != "" && info.EnvironmentName != "default" {
		a.printf("environment:  %s\n", info.EnvironmentName)
	}
	if info.MaxMemBytes != nil {
		a.printf("mem usage:    %s\n", bytesIEC(float64(*info.MaxMemBytes)))
	}
	a.printf("\nStatuses:\n")
	if len(info.Statuses) == 0 {
		a.printf("backend has no statuses\n")
	}
	for _, s := range info.Statuses {
		extra := termination(s.TerminationReason, s.TerminationKind)
		if s.ExitCode != nil {
			extra += fmt.Sprintf(" exit code %d", *s.ExitCode)
		}
		a.printf("%s  %s%s\n", s.Time.UTC().Format(time.RFC3339), s.Status, extra)
	}
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
