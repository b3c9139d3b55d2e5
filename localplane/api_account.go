package localplane

import (
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

// accountAPI is the account-level part of the Jamsocket surface.
type accountAPI struct{ surface }

// routes registers the account endpoints on mux, behind Config.Token.
func (a accountAPI) routes(mux *http.ServeMux) {
	named := func(h http.HandlerFunc) http.HandlerFunc {
		return requireToken(a.cfg.Token, seen(a.core.reg, h), jamsocketUnauthorized)
	}
	mux.HandleFunc("POST /service/{account}/{service}/terminate-backends", named(a.terminateAll))
	mux.HandleFunc("GET /auth", requireToken(a.cfg.Token, a.auth, jamsocketUnauthorized))
	mux.HandleFunc(imageNameRoute, named(a.imageName))
}

// imageName answers the image-name endpoint with
// Config.ImageRegistry/account/service, or 501 without a registry.
func (a accountAPI) imageName(w http.ResponseWriter, r *http.Request) {
	if a.cfg.ImageRegistry == "" {
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
	writeJSON(w, http.StatusOK, wire.ImageNameResponse{ImageName: a.cfg.ImageRegistry + "/" + account + "/" + service})
}

// DefaultAccount is the account GET /auth lists, without Config.Accounts,
// before any request has named one: `jamsocket login` against a fresh dev
// server saves it.
const DefaultAccount = "local"

// auth answers GET /auth: the configured accounts; without them, as
// an admin (the local plane takes any account), the first maxSeenAccounts
// accounts named so far, sorted, or DefaultAccount before any. A wrong
// token never gets here (401).
func (a accountAPI) auth(w http.ResponseWriter, r *http.Request) {
	accounts, admin := slices.Clone(a.cfg.Accounts), false
	if len(accounts) == 0 {
		accounts, admin = a.core.reg.seenAccounts(), true
	}
	if len(accounts) == 0 {
		accounts = []string{DefaultAccount}
	}
	slices.Sort(accounts)
	writeJSON(w, http.StatusOK, types.AuthInfo{Status: "ok", Accounts: accounts, IsAdmin: admin})
}

// terminateAll terminates the live backends of a service (every
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
func (a accountAPI) terminateAll(w http.ResponseWriter, r *http.Request) {
	account, service := r.PathValue("account"), r.PathValue("service")
	var req wire.TerminateBackendsRequest
	if !decodeJamsocketBody(w, r, &req) {
		return
	}
	before := time.Time(req.Before)
	if before.IsZero() {
		before = time.Now()
	}

	candidates := a.core.reg.backends(func(b *backend) bool {
		return b.spec.account == account && b.spec.service == service &&
			!b.created.Truncate(time.Millisecond).After(before) && b.terminable(req.Hard)
	})
	slices.SortFunc(candidates, func(a, b *backend) int { return a.created.Compare(b.created) })

	if req.DryRun {
		writeJSON(w, http.StatusOK, wire.TerminateBackendsResponse{BackendCount: len(candidates), IsComplete: true})
		return
	}
	batch := candidates[:min(len(candidates), a.cfg.TerminateBatchSize)]
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
