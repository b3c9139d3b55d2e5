package localplane

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jamsocket-go/jamsocket/internal/wire"
	"github.com/jamsocket-go/jamsocket/types"
)

// The service endpoints of the Jamsocket surface, served from a catalog in
// memory, so that the service commands of either CLI (create, list, info,
// images, use-image, delete) work against a local plane. The catalog is
// bookkeeping only: a connect runs the plane's one command (or handler)
// whatever service it names, whether the catalog has that service or not,
// and whatever image tag the service's environment names.

// Bounds on the catalog, so that requests cannot grow it without limit.
const (
	maxServices     = 1000
	maxEnvironments = 32
)

// Error codes of the service endpoints.
const (
	codeServiceExists = "ServiceExists"
	codeTooMany       = "TooMany"
)

// serviceCatalog holds the services created through the API. Its zero
// value is empty and ready.
type serviceCatalog struct {
	mu     sync.Mutex
	byName map[string]*catalogService // account + "/" + name
}

type catalogService struct {
	account, name string
	created       time.Time
	environments  map[string]*catalogEnvironment // "default" always
}

type catalogEnvironment struct {
	name, imageTag string
	created        time.Time
}

// servicesAPI is the service endpoints of the Jamsocket surface, over the
// catalog.
type servicesAPI struct {
	surface
	catalog *serviceCatalog
}

// routes registers the service endpoints on mux, behind Config.Token.
func (a servicesAPI) routes(mux *http.ServeMux) {
	for route, h := range map[string]http.HandlerFunc{
		"POST /v2/account/{account}/service":                        a.createService,
		"POST /v2/service/{account}/{service}/delete":               a.deleteService,
		"GET /v2/service/{account}/{service}":                       a.serviceInfo,
		"GET /v2/account/{account}/services":                        a.listServices,
		"GET /v2/service/{account}/{service}/images":                a.serviceImages,
		"POST /v2/service/{account}/{service}/update":               a.updateEnvironment,
		"POST /v2/service/{account}/{service}/{environment}/update": a.updateEnvironment,
	} {
		mux.HandleFunc(route, requireToken(a.cfg.Token, seen(a.core.reg, h), jamsocketUnauthorized))
	}
}

func (a servicesAPI) createService(w http.ResponseWriter, r *http.Request) {
	var req wire.CreateServiceRequest
	if !decodeJamsocketBody(w, r, &req) {
		return
	}
	account := r.PathValue("account")
	if !validName(w, "service", req.Name) {
		return
	}
	c := a.catalog
	c.mu.Lock()
	defer c.mu.Unlock()
	key := account + "/" + req.Name
	switch {
	case c.byName[key] != nil:
		jamsocketError(w, http.StatusConflict, codeServiceExists, "service "+strconv.Quote(req.Name)+" already exists")
		return
	case len(c.byName) >= maxServices:
		jamsocketError(w, http.StatusBadRequest, codeTooMany, "the local plane keeps at most 1000 services")
		return
	}
	if c.byName == nil {
		c.byName = map[string]*catalogService{}
	}
	now := time.Now().UTC()
	c.byName[key] = &catalogService{account: account, name: req.Name, created: now,
		environments: map[string]*catalogEnvironment{"default": {name: "default", imageTag: "latest", created: now}}}
	writeJSON(w, http.StatusOK, wire.StatusOK{Status: "ok"})
}

func (a servicesAPI) deleteService(w http.ResponseWriter, r *http.Request) {
	c := a.catalog
	c.mu.Lock()
	defer c.mu.Unlock()
	key := r.PathValue("account") + "/" + r.PathValue("service")
	if c.byName[key] == nil {
		noSuchService(w, r)
		return
	}
	delete(c.byName, key)
	writeJSON(w, http.StatusOK, wire.StatusOK{Status: "ok"})
}

func (a servicesAPI) serviceInfo(w http.ResponseWriter, r *http.Request) {
	c := a.catalog
	c.mu.Lock()
	defer c.mu.Unlock()
	svc := c.byName[r.PathValue("account")+"/"+r.PathValue("service")]
	if svc == nil {
		noSuchService(w, r)
		return
	}
	info := types.ServiceInfo{Name: svc.name, AccountName: svc.account, CreatedAt: svc.created,
		Environments: []types.ServiceEnvironment{}}
	if a.cfg.ImageRegistry != "" {
		info.ImageName = a.cfg.ImageRegistry + "/" + svc.account + "/" + svc.name
	}
	for _, e := range svc.environments {
		info.Environments = append(info.Environments, types.ServiceEnvironment{Name: e.name, ImageTag: e.imageTag, Cluster: "localplane", CreatedAt: e.created})
	}
	slices.SortFunc(info.Environments, func(a, b types.ServiceEnvironment) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.Name, b.Name))
	})
	writeJSON(w, http.StatusOK, info)
}

func (a servicesAPI) listServices(w http.ResponseWriter, r *http.Request) {
	account := r.PathValue("account")
	c := a.catalog
	c.mu.Lock()
	names := []string{}
	for _, svc := range c.byName {
		if svc.account == account {
			names = append(names, svc.name)
		}
	}
	c.mu.Unlock()
	slices.Sort(names)
	writeJSON(w, http.StatusOK, wire.ServiceList{Services: names})
}

// serviceImages answers an empty list for a known service: images pushed to
// Config.ImageRegistry go from the engine to the registry, and the plane
// does not see them.
func (a servicesAPI) serviceImages(w http.ResponseWriter, r *http.Request) {
	c := a.catalog
	c.mu.Lock()
	known := c.byName[r.PathValue("account")+"/"+r.PathValue("service")] != nil
	c.mu.Unlock()
	if !known {
		noSuchService(w, r)
		return
	}
	writeJSON(w, http.StatusOK, wire.ImageList{Images: []types.Image{}})
}

// updateEnvironment points an environment at an image tag, creating the
// environment if the service has none of that name.
func (a servicesAPI) updateEnvironment(w http.ResponseWriter, r *http.Request) {
	var req wire.UpdateEnvironmentRequest
	if !decodeJamsocketBody(w, r, &req) {
		return
	}
	if req.ImageTag == "" {
		jamsocketError(w, http.StatusBadRequest, codeBadRequest, "image_tag is required")
		return
	}
	env := r.PathValue("environment")
	if env == "" {
		env = "default"
	}
	if !validName(w, "environment", env) {
		return
	}
	c := a.catalog
	c.mu.Lock()
	defer c.mu.Unlock()
	svc := c.byName[r.PathValue("account")+"/"+r.PathValue("service")]
	switch {
	case svc == nil:
		noSuchService(w, r)
		return
	case svc.environments[env] == nil && len(svc.environments) >= maxEnvironments:
		jamsocketError(w, http.StatusBadRequest, codeTooMany, "the local plane keeps at most 32 environments per service")
		return
	case svc.environments[env] == nil:
		svc.environments[env] = &catalogEnvironment{name: env, created: time.Now().UTC()}
	}
	svc.environments[env].imageTag = req.ImageTag
	writeJSON(w, http.StatusOK, wire.StatusOK{Status: "ok"})
}

// validName answers 400 unless name can name a service (or an environment)
// and its image repository: lower-case letters, digits and separators.
func validName(w http.ResponseWriter, what, name string) bool {
	if len(name) > maxNameLength || !repositoryComponent.MatchString(name) {
		jamsocketError(w, http.StatusBadRequest, codeBadRequest,
			"a "+what+" name is lower-case letters and digits, with . _ - between them")
		return false
	}
	return true
}

func noSuchService(w http.ResponseWriter, r *http.Request) {
	jamsocketError(w, http.StatusNotFound, codeNotFound, "no service "+strconv.Quote(r.PathValue("service"))+" in account "+
		strconv.Quote(r.PathValue("account"))+" (the local plane knows the services made with service create)")
}
