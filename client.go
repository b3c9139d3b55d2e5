package jamsocket

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jamsocket-go/jamsocket/types"
)

// Version is the SDK's version, sent in the default User-Agent.
const Version = "0.1.0"

// DefaultAPIURL is Jamsocket's hosted API.
const DefaultAPIURL = "https://api.jamsocket.com"

// DefaultDevPort is the port of a local dev server (`jamsocket dev`).
const DefaultDevPort = 8080

// devPlaceholder stands for account, service and token in dev mode, as the
// official SDK sends them; the dev server ignores all three.
const devPlaceholder = "-"

// Config says which Jamsocket API to talk to and as whom.
type Config struct {
	// Account, Token and Service identify the caller and the service whose
	// backends it spawns. All three are required unless Dev is set.
	Account, Token, Service string
	// Environment is the service environment to connect in, if not the
	// default one.
	Environment string
	// APIURL is the API's base URL; DefaultAPIURL when empty.
	APIURL string
	// Dev talks to a local dev server (`jamsocket dev` or the local plane) at
	// http://localhost:{DevPort}; account, service and token become "-".
	Dev bool
	// DevPort is the dev server's port; DefaultDevPort when 0.
	DevPort int
}

// String describes the configuration with the token redacted, so that %v and
// %+v never print it.
func (c Config) String() string {
	return fmt.Sprintf("{Account:%s Token:%s Service:%s Environment:%s APIURL:%s Dev:%t DevPort:%d}",
		c.Account, redactToken(c.Token), c.Service, c.Environment, c.APIURL, c.Dev, c.DevPort)
}

// GoString is String, so that %#v redacts too.
func (c Config) GoString() string { return "jamsocket.Config" + c.String() }

// LogValue logs the configuration with the token redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("account", c.Account), slog.String("token", redactToken(c.Token)),
		slog.String("service", c.Service), slog.String("environment", c.Environment),
		slog.String("api_url", c.APIURL), slog.Bool("dev", c.Dev),
	)
}

func redactToken(token string) string {
	if token == "" || token == devPlaceholder {
		return token
	}
	return types.Redacted
}

// Client calls the Jamsocket API (hosted, a dev server or the local plane)
// or a Plane controller. It is safe for concurrent use; make one and share it.
//
// The Client is portable: each target is a driver (the Jamsocket API's in
// driver_jamsocket.go, a dev server's in driver_dev.go, Plane's in
// driver_plane.go) behind the driver interface, and every method, streams
// included, goes through the driver, never asking which target it is on.
// All drivers send their requests through one caller, the request path.
type Client struct {
	driver driver
	// What the portable methods need of the configuration themselves.
	apiURL     string
	logger     *slog.Logger
	replayWait time.Duration
	// tel is the telemetry of the Client's operations, shared with the
	// caller, which traces retries and streams.
	tel *telemetry
}

// newClient is the Client over d, whose requests go through c.
func newClient(c *caller, d driver) *Client {
	return &Client{driver: d, apiURL: c.apiURL, logger: c.logger, replayWait: c.replayWait(), tel: c.tel}
}

// New returns a Client for cfg. It reports every missing field at once, and
// refuses to send a token over plain http:// to a host that is not loopback
// unless WithInsecureHTTP is given.
func New(cfg Config, opts ...Option) (*Client, error) {
	if cfg.Dev {
		port := cfg.DevPort
		if port == 0 {
			port = DefaultDevPort
		}
		if port < 0 || port > 65535 {
			return nil, fmt.Errorf("jamsocket: DevPort %d is not a port", cfg.DevPort)
		}
		cfg.Account, cfg.Service, cfg.Token = devPlaceholder, devPlaceholder, devPlaceholder
		if cfg.APIURL == "" {
			cfg.APIURL = "http://localhost:" + strconv.Itoa(port)
		}
	}
	var missing []string
	for _, f := range [...]struct{ name, value string }{
		{"Account", cfg.Account}, {"Token", cfg.Token}, {"Service", cfg.Service},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("jamsocket: Config is missing %s (or set Dev for a local dev server)", strings.Join(missing, ", "))
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	c, err := newCaller(cfg.APIURL, cfg.Token, opts)
	if err != nil {
		return nil, err
	}
	if cfg.Dev {
		return newClient(c, devDriver{newJamsocketDriver(c, cfg)}), nil
	}
	return newClient(c, newJamsocketDriver(c, cfg)), nil
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("jamsocket: API URL %q is not an absolute http(s) URL", redactURL(raw))
	}
	u.User = nil
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u, nil
}

// redactURL hides the user part of a URL, where a token may be carried
// (https://TOKEN@host).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err == nil {
		if u.User != nil {
			u.User = url.User(types.Redacted)
			return u.String()
		}
		return raw
	}
	// A URL that does not parse may still hold a user part: hide whatever
	// stands between the scheme and the last @ of the authority.
	rest, scheme := raw, ""
	if i := strings.Index(raw, "://"); i >= 0 {
		scheme, rest = raw[:i+3], raw[i+3:]
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		return scheme + types.Redacted + rest[at:]
	}
	return raw
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String describes the Client without its token.
func (c Client) String() string {
	var b strings.Builder
	b.WriteString("jamsocket.Client{APIURL:" + c.apiURL)
	for _, a := range c.driver.describe() {
		b.WriteString(" " + a.Key + ":" + a.Value.String())
	}
	return b.String() + "}"
}

// GoString is String, so that %#v does not print the token either.
func (c Client) GoString() string { return c.String() }

// LogValue logs the Client without its token.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(append([]slog.Attr{slog.String("api_url", c.apiURL)}, c.driver.describeLog()...)...)
}

// APIURL returns the base URL requests go to.
func (c *Client) APIURL() string { return c.apiURL }
