package localplane

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/types"
)

// The account-level endpoints of the Jamsocket surface: the auth check,
// terminate-all and the image name (the service endpoints are in
// api_services.go).

// codeNotAvailable is the error code of the endpoints a local plane does not
// serve.
const codeNotAvailable = "NotAvailableOnLocalPlane"

// imageNameRoute is the endpoint that names a service's image repository.
const imageNameRoute = "GET /service/{account}/{service}/image-name"

// repositoryComponent is one path component of an image repository name,
// as the distribution spec allows it.
var repositoryComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)

// jamsocketImageName answers the image-name endpoint with
// Config.ImageRegistry/account/service, or 501 without a registry.
func (s *Server) jamsocketImageName(w http.ResponseWriter, r *http.Request) {
	if s.cfg.ImageRegistry == "" {
		jamsocketError(w, http.StatusNotImplemented, codeNotAvailable,
			"this local plane has no image registry (Config.ImageRegistry); services and images are managed by Jamsocket")
		return
	}
	account, service := r.PathValue("account"), r.PathValue("service")
	for _, name := range []string{account, service} {
		if !repositoryComponent.MatchString(name) {
			jamsocketError(w, http.StatusBadRequest, codeBadRequest,
				"account and service must be lower-case letters, digits and . _ - separators to name an image repository")
			return
		}
	}
	writeJSON(w, http.StatusOK, wire.ImageNameResponse{ImageName: s.cfg.ImageRegistry + "/" + account + "/" + service})
}

// Bounds on what requests can make the plane keep.
const (
	// maxNameLength bounds account, service and environment names, in
	// bytes (Jamsocket's own names are far shorter).
	maxNameLength = 128
	// maxSeenAccounts bounds the accounts GET /auth remembers.
	maxSeenAccounts = 64
)

// seen checks the names a Jamsocket request's path gives (400 when one is
// too long) and records its account for GET /auth, up to maxSeenAccounts.
func (s *Server) seen(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, part := range []string{"account", "service", "environment"} {
			if len(r.PathValue(part)) > maxNameLength {
				jamsocketError(w, http.StatusBadRequest, codeBadRequest,
					fmt.Sprintf("the %s name is longer than %d bytes", part, maxNameLength))
				return
			}
		}
		if account := r.PathValue("account"); account != "" {
			s.reg.seeAccount(account)
		}
		h(w, r)
	}
}

// DefaultAccount is the account GET /auth lists, without Config.Accounts,
// before any request has named one: `jamsocket login` against a fresh dev
// server saves it.
const DefaultAccount = "local"

// jamsocketAuth answers GET /auth: the configured accounts; without them, as
// an admin (the local plane takes any account), the first maxSeenAccounts
// accounts named so far, sorted, or DefaultAccount before any. A wrong
// token never gets here (401).
func (s *Server) jamsocketAuth(w http.ResponseWriter, r *http.Request) {
	accounts, admin := slices.Clone(s.cfg.Accounts), false
	if len(accounts) == 0 {
		accounts, admin = s.reg.seenAccounts(), true
	}
	if len(accounts) == 0 {
		accounts = []string{DefaultAccount}
	}
	slices.Sort(accounts)
	writeJSON(w, http.StatusOK, types.AuthInfo{Status: "ok", Accounts: accounts, IsAdmin: admin})
}

// jamsocketTerminateAll terminates the live backends of a service (every
// environment) that were spawned before the request's time, oldest first,
// at most Config.TerminateBatchSize per call.
//
// backend_count is how many backends the call selected: all of them for a
// dry run, this call's batch otherwise; terminated_count is how many of
// those it terminated (one that ended meanwhile is not counted). So over
// the rounds of one TerminateAll the counts add up to the dry run's count.
// is_complete is false while more backends remain. A missing before means
// now. Times are compared at millisecond precision, the wire's, so a
// backend spawned in the same millisecond as before counts as before it.
func (s *Server) jamsocketTerminateAll(w http.ResponseWriter, r *http.Request) {
	account, service := r.PathValue("account"), r.PathValue("service")
	var req wire.TerminateBackendsRequest
	if !decodeJamsocketBody(w, r, &req) {
		return
	}
	before := time.Time(req.Before)
	if before.IsZero() {
		before = time.Now()
	}

	candidates := s.reg.backends(func(b *backend) bool {
		return b.spec.account == account && b.spec.service == service &&
			!b.created.Truncate(time.Millisecond).After(before) && b.terminable(req.Hard)
	})
	slices.SortFunc(candidates, func(a, b *backend) int { return a.created.Compare(b.created) })

	if req.DryRun {
		writeJSON(w, http.StatusOK, wire.TerminateBackendsResponse{BackendCount: len(candidates), IsComplete: true})
		return
	}
	batch := candidates[:min(len(candidates), s.cfg.TerminateBatchSize)]
	terminated := 0
	for _, b := range batch {
		if b.terminate(req.Hard, types.ReasonExternal) == nil {
			terminated++
		}
	}
	writeJSON(w, http.StatusOK, wire.TerminateBackendsResponse{
		BackendCount:    len(batch),
		TerminatedCount: terminated,
		IsComplete:      len(batch) == len(candidates),
	})
}
