package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jamsocket-go/jamsocket"
)

func (a *app) serviceCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "service", Short: "Manage services: list, info, create, delete, images, use-image, terminate-all"}

	// serviceArg is the SERVICE argument, or the configured service.
	serviceArg := func(args []string) string {
		if len(args) > 0 {
			return args[0]
		}
		return ""
	}
	var hard, dryRun bool
	var before string
	terminateAll := &cobra.Command{
		Use:   "terminate-all [SERVICE]",
		Short: "Terminate every backend of a service spawned before --before (default: now)",
		Args:  args(0, 1),
		RunE: func(_ *cobra.Command, args []string) error {
			req := jamsocket.TerminateAllRequest{Hard: hard, DryRun: dryRun}
			if before != "" {
				t, err := time.Parse(time.RFC3339, before)
				if err != nil {
					return usage("--before %q is not an RFC 3339 time", before)
				}
				req.Before = t
			}
			c, err := a.client(need{account: true, service: true, token: true}, serviceArg(args))
			if err != nil {
				return err
			}
			res, err := c.TerminateAll(a.ctx, req)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(res)
			}
			verb := "terminated"
			if dryRun {
				verb = "would terminate"
			}
			a.printf("%s %d backend(s) of %d in %d round(s)", verb, res.TerminatedCount, res.BackendCount, res.Rounds)
			if !res.IsComplete {
				a.printf("; not complete yet, run again")
			}
			a.printf("\n")
			return nil
		},
	}
	terminateAll.Flags().BoolVar(&hard, "hard", false, "kill the backends at once")
	terminateAll.Flags().BoolVar(&dryRun, "dry-run", false, "only count the backends that would be terminated")
	terminateAll.Flags().StringVar(&before, "before", "", "only backends spawned before this RFC 3339 time")

	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List the account's services", Args: args(0, 0),
			RunE: func(*cobra.Command, []string) error {
				c, err := a.client(need{account: true, token: true}, "")
				if err != nil {
					return err
				}
				names, err := c.ListServices(a.ctx)
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(nonNil(names))
				}
				for _, n := range names {
					a.printf("%s\n", n)
				}
				return nil
			},
		},
		&cobra.Command{
			Use: "info [SERVICE]", Short: "Show a service and its environments (default: the configured service)", Args: args(0, 1),
			RunE: func(_ *cobra.Command, args []string) error {
				c, err := a.client(need{account: true, service: true, token: true}, serviceArg(args))
				if err != nil {
					return err
				}
				info, err := c.Service(a.ctx, "")
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(info)
				}
				a.printServiceInfo(info)
				return nil
			},
		},
		&cobra.Command{
			Use: "create NAME", Short: "Create a service", Args: args(1, 1),
			RunE: func(_ *cobra.Command, args []string) error {
				c, err := a.client(need{account: true, token: true}, "")
				if err != nil {
					return err
				}
				if err := c.CreateService(a.ctx, args[0]); err != nil {
					return err
				}
				if a.json {
					return a.printJSON(map[string]string{"service": args[0], "status": "ok"})
				}
				a.printf("created service %s\n", args[0])
				return nil
			},
		},
		&cobra.Command{
			Use: "delete NAME", Short: "Delete a service", Args: args(1, 1),
			RunE: func(_ *cobra.Command, args []string) error {
				c, err := a.client(need{account: true, token: true}, "")
				if err != nil {
					return err
				}
				if err := c.DeleteService(a.ctx, args[0]); err != nil {
					return err
				}
				if a.json {
					return a.printJSON(map[string]string{"service": args[0], "status": "ok"})
				}
				a.printf("deleted service %s\n", args[0])
				return nil
			},
		},
		&cobra.Command{
			Use: "images [SERVICE]", Short: "List the images pushed for a service (default: the configured service)", Args: args(0, 1),
			RunE: func(_ *cobra.Command, args []string) error {
				c, err := a.client(need{account: true, service: true, token: true}, serviceArg(args))
				if err != nil {
					return err
				}
				images, err := c.Images(a.ctx, "")
				if err != nil {
					return err
				}
				if a.json {
					return a.printJSON(nonNil(images))
				}
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "TAG\tDIGEST\tUPLOADED\tREPOSITORY")
				for _, im := range images {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", orDash(im.Tag), im.Digest, im.UploadTime.UTC().Format(time.RFC3339), im.Repository)
				}
				return w.Flush()
			},
		},
		&cobra.Command{
			Use:   "use-image SERVICE[/ENVIRONMENT] TAG",
			Short: "Make new backends of a service environment run an image tag or digest",
			Args:  args(2, 2),
			RunE: func(_ *cobra.Command, args []string) error {
				service, environment, _ := strings.Cut(args[0], "/")
				if service == "" {
					return usage("use-image needs a service name")
				}
				c, err := a.client(need{account: true, service: true, token: true}, service)
				if err != nil {
					return err
				}
				if err := c.UpdateEnvironment(a.ctx, environment, args[1]); err != nil {
					return err
				}
				if a.json {
					return a.printJSON(map[string]string{"service": service, "environment": environment, "image_tag": args[1], "status": "ok"})
				}
				env := environment
				if env == "" {
					env = "default"
				}
				a.printf("service %s (environment %s) now uses %s\n", service, env, args[1])
				return nil
			},
		},
		terminateAll,
	)
	return cmd
}

func (a *app) printServiceInfo(info *jamsocket.ServiceInfo) {
	when := func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.UTC().Format(time.RFC3339)
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "name\t%s\n", info.Name)
	fmt.Fprintf(w, "account\t%s\n", info.AccountName)
	fmt.Fprintf(w, "created\t%s\n", info.CreatedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "last spawned\t%s\n", when(info.LastSpawnedAt))
	fmt.Fprintf(w, "last image upload\t%s\n", when(info.LastImageUploadTime))
	fmt.Fprintf(w, "last image digest\t%s\n", orDash(info.LastImageDigest))
	fmt.Fprintf(w, "image name\t%s\n", orDash(info.ImageName))
	fmt.Fprintln(w, "environments:")
	for _, e := range info.Environments {
		fmt.Fprintf(w, "  %s\ttag %s\tcluster %s\tlast spawned %s\n", e.Name, orDash(e.ImageTag), orDash(e.Cluster), when(e.LastSpawnedAt))
	}
	w.Flush()
}

func (a *app) authCommand() *cobra.Command {
	return &cobra.Command{
		Use: "auth", Short: "Check the token and show the accounts it may act on", Args: args(0, 0),
		RunE: func(*cobra.Command, []string) error {
			c, err := a.client(need{token: true}, "")
			if err != nil {
				return err
			}
			info, err := c.CheckAuth(a.ctx)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(info)
			}
			admin := ""
			if info.IsAdmin {
				admin = " (admin)"
			}
			a.printf("the token is valid%s; accounts: %s\n", admin, strings.Join(info.Accounts, ", "))
			return nil
		},
	}
}
