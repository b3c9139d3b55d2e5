package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jamsocket-go/jamsocket"
)

func (a *app) serviceCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "service", Short: "Manage services: connect, list, info, create, delete, images, use-image, terminate-all"}
	cmd.AddCommand(a.connectCommand(), a.serviceListCommand(), a.serviceInfoCommand(), a.serviceCreateCommand(), a.serviceDeleteCommand(),
		a.serviceImagesCommand(), a.serviceUseImageCommand(), a.serviceTerminateAllCommand())
	return cmd
}

// serviceArg is the SERVICE argument, or "" for the configured service.
func serviceArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return ""
}

func (a *app) serviceListCommand() *cobra.Command {
	return &cobra.Command{
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
	}
}

func (a *app) serviceInfoCommand() *cobra.Command {
	return &cobra.Command{
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
	}
}

func (a *app) serviceCreateCommand() *cobra.Command {
	return &cobra.Command{
		Use: "create SERVICE", Short: "Create a service", Args: args(1, 1),
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
			a.printf("Created service: %s\n", args[0])
			return nil
		},
	}
}

func (a *app) serviceDeleteCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete SERVICE",
		Short: "Delete a service (on a terminal, after typing its name; -y skips the question)",
		Args:  args(1, 1),
		RunE: func(_ *cobra.Command, args []string) error {
			c, err := a.client(need{account: true, token: true}, "")
			if err != nil {
				return err
			}
			if !yes && a.stdinIsTerminal() {
				a.printf("Type the service name (%s) to delete it; anything else aborts: ", args[0])
				answer, _ := bufio.NewReader(a.stdin).ReadString('\n')
				if strings.TrimSpace(answer) != args[0] {
					return errors.New("jamsocket: the name does not match; the service was not deleted")
				}
			}
			if err := c.DeleteService(a.ctx, args[0]); err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]string{"service": args[0], "status": "ok"})
			}
			a.printf("Deleted service: %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for the service name first")
	return cmd
}

// imagesAliasCommand is the official CLI's top-level alias of `service
// images`.
func (a *app) imagesAliasCommand() *cobra.Command { return a.serviceImagesCommand() }

func (a *app) serviceImagesCommand() *cobra.Command {
	return &cobra.Command{
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
			if len(images) == 0 {
				a.printf("No images found for this service.\n")
				return nil
			}
			a.printf("Found the following images:\n\n")
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "Digest\tTag\tUploaded\tRepository")
			for _, im := range images {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", im.Digest, orDash(im.Tag), im.UploadTime.UTC().Format(time.RFC3339), im.Repository)
			}
			return w.Flush()
		},
	}
}

func (a *app) serviceUseImageCommand() *cobra.Command {
	var image string
	cmd := &cobra.Command{
		Use:     "use-image SERVICE[/ENVIRONMENT] (-i IMAGE | IMAGE)",
		Short:   "Make new backends of a service environment run an image tag or digest",
		Example: "  jamsocket service use-image my-service -i latest\n  jamsocket service use-image my-service/staging sha256:0123…",
		Args:    args(1, 2),
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 2 {
				if image != "" {
					return usage("give the image either with -i or as an argument, not both")
				}
				image = args[1]
			}
			if image == "" {
				return usage("use-image needs an image tag or digest (-i TAG)")
			}
			service, environment, err := splitService(args[0])
			if err != nil {
				return err
			}
			c, err := a.client(need{account: true, service: true, token: true}, service)
			if err != nil {
				return err
			}
			if err := c.UpdateEnvironment(a.ctx, environment, image); err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]string{"service": service, "environment": environment, "image_tag": image, "status": "ok"})
			}
			a.printf("Updated %s to use image %s\n", args[0], image)
			return nil
		},
	}
	cmd.Flags().StringVarP(&image, "image", "i", "", "image tag or digest (see jamsocket service images)")
	return cmd
}

func (a *app) serviceTerminateAllCommand() *cobra.Command {
	var hard, dryRun bool
	var before string
	cmd := &cobra.Command{
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
	cmd.Flags().BoolVar(&hard, "hard", false, "kill the backends at once")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only count the backends that would be terminated")
	cmd.Flags().StringVar(&before, "before", "", "only backends spawned before this RFC 3339 time")

	return cmd
}

// printServiceInfo shows a service in the official CLI's layout.
func (a *app) printServiceInfo(info *jamsocket.ServiceInfo) {
	when := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	lastPush := "-"
	if info.LastImageUploadTime != nil {
		lastPush = orDash(info.LastImageDigest) + " (" + when(info.LastImageUploadTime) + ")"
	}
	a.printf("Service: %s\n", info.Name)
	a.printf("  account: %s\n", info.AccountName)
	a.printf("  created: %s\n", info.CreatedAt.UTC().Format(time.RFC3339))
	a.printf("  last spawn: %s\n", when(info.LastSpawnedAt))
	a.printf("  last image push: %s\n", lastPush)
	a.printf("  image name: %s\n", orDash(info.ImageName))
	if len(info.Environments) == 1 {
		a.printf("  cluster: %s\n", orDash(info.Environments[0].Cluster))
		a.printf("  image tag/digest: %s\n", orDash(info.Environments[0].ImageTag))
		return
	}
	a.printf("\nEnvironments:\n")
	for _, e := range info.Environments {
		a.printf("  %s\n    cluster: %s\n    image tag/digest: %s\n    last spawned: %s\n",
			e.Name, orDash(e.Cluster), orDash(e.ImageTag), when(e.LastSpawnedAt))
	}
}
