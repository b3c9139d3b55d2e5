// Package localplane is a local stand-in for Jamsocket and Plane: one server,
// in your process or in `jamsocket dev`, that speaks the HTTP API of
// Jamsocket's dev server and of Plane's controller, and runs each session
// backend as a local process, as an in-process http.Handler, or as a Docker
// container of an image.
//
// # Running one
//
//	srv, err := localplane.New(localplane.Config{
//		APIAddr:   "127.0.0.1:0", // free ports; read them back with APIURL/ProxyURL
//		ProxyAddr: "127.0.0.1:0",
//		Command:   []string{"./my-backend"}, // or Handler: func(b localplane.Backend) http.Handler {…}
//	})
//	if err != nil { … }
//	if err := srv.Start(); err != nil { … }
//	defer srv.Close()
//
// A command-line tool serves until a signal instead:
//
//	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	err := srv.ListenAndServe(ctx)
//
// # The API listener
//
// Jamsocket v2 (what the SDKs and the CLI call): POST
// /v2/service/{account}/{service}[/{environment}]/connect, GET
// /v2/backend/{id}/status and …/status/stream (public, CORS-enabled; the
// stream replays the history, ends after terminated and, like the official
// dev server's, sends data: lines only, no keep-alive comments), POST
// /v2/backend/{id}/terminate, GET /v2/backend/{id} (info with the history),
// GET /v2/account/{account}/backends, GET /v2/backend/{id}/logs/stream and
// …/metrics/stream, POST /service/{account}/{service}/terminate-backends and
// GET /auth. Errors have Jamsocket's {"error":{message,status,code,id}}
// shape. Keys are namespaced per account, service and environment
// ("default" when the path has none).
//
// The metrics stream sends a sample every Config.MetricsInterval from the
// operating system's accounting (Linux /proc; zeros elsewhere): mem_used is
// the resident set of the backend's process, mem_available the system's
// available memory, and cpu_used and sys_cpu the CPU time of the process and
// of all CPUs during the interval, in clock ticks. Handler backends run
// inside the plane, so their samples are the plane process's own numbers.
// The stream ends after terminated.
//
// Terminate-backends terminates the live backends of the service (all its
// environments) spawned before the body's before, oldest first, at most
// Config.TerminateBatchSize per call (is_complete is false while more
// remain); dry_run only counts. GET /auth answers {"status":"ok",
// "accounts":[…],"is_admin":false} with Config.Accounts, or else, as an
// admin ("is_admin":true: any account is taken), the first 64 accounts the
// Jamsocket surface has been asked about, or ["local"] (DefaultAccount)
// before any.
//
// The service endpoints (create, delete, info and list of services, images,
// update of an environment) keep a catalog in memory, so that the service
// commands of the CLIs work; images lists nothing (pushes go to a registry,
// not through the plane). The catalog is bookkeeping: a local plane runs the
// command or handler it was started with, whatever service a connect names.
// GET /service/{account}/{service}/image-name answers
// {"imageName":"ImageRegistry/account/service"} when Config.ImageRegistry is
// set, else 501 with code NotAvailableOnLocalPlane.
//
// Plane's controller: POST /ctrl/connect, GET /pub/b/{id}/status and
// …/status-stream (epoch-millisecond times, id: lines, Last-Event-ID, a
// keep-alive comment every 15 s, never closed by the server), POST /ctrl/b/{id}/soft-terminate and hard-terminate,
// GET /pub/health and /ctrl/status. Errors have Plane's {id,kind,message}
// shape; bodies that do not decode get axum's plain-text 400, 415 or 422.
// Keys are namespaced per Plane key namespace; a held key with another tag is
// KeyHeld. The executable's image is ignored: the configured runner runs.
//
// With Config.Token set, every control endpoint (connect, terminate, info,
// list, logs, metrics, terminate-backends, auth, the service endpoints,
// /ctrl/*) requires "Authorization: Bearer {Token}"; status
// endpoints and /pub/* stay public.
//
// # Browser safety
//
// The API is closed to web pages by default: it answers only a Host that is
// a loopback name, an IP address, the APIAddr host or in Config.AllowHosts
// (421 otherwise: DNS rebinding gets nothing); a state change (any method
// but GET and HEAD) needs a JSON body or none (415) and, without a token,
// an Origin that is absent, loopback or in Config.AllowOrigins (403); CORS
// is open only on the public status routes. A wrong method on a known path
// is 405 with Allow. Names, identities, tokens and backends are bounded in
// size and number, seconds fields are checked against Plane's i32 at
// decode, and both listeners have header, body and idle timeouts (event
// streams and WebSockets stay open). A non-loopback listener is logged as
// a warning naming what it exposes.
//
// # The web console
//
// GET / on the API listener serves a web console (Server.Console returns it
// as an http.Handler to mount elsewhere: its pages, its endpoints and the
// API routes they call, not the rest of the API): the backends live, one backend's timeline, logs
// (stdout and stderr apart), CPU and memory charts and actions, and a
// connect form. Its pages are embedded HTML, CSS and JavaScript, same-origin
// with the API; they read the API's own endpoints and event streams plus
// /console/info, /console/events (the backend list: a reset event, then a
// backend event per change and a forgotten event per dropped backend, with
// ids to resume), /console/backends/{id} (spawn config, user and auth),
// …/logs (lines as JSON with their stream) and POST …/open (a connection
// of the console's own), and /console/build (the image, the spawn hold and
// Config.Builder's latest build log; POST …/rebuild calls its Rebuild).
// They need the token like every control endpoint.
//
// # Backends
//
// Each connect either returns the live backend holding its key (spawned:
// false) or spawns one. A spawned backend goes through Plane's statuses in
// order: scheduled, loading, starting, waiting (running, its port not
// answering yet), ready (it answers HTTP), then terminating (SIGTERM, reason
// kept), hard-terminating (SIGKILL, after Config.GracePeriod or at once for a
// hard terminate) and terminated. A process that exits by itself is
// terminated with exit_error set from its exit code; one not ready within
// Config.StartupTimeout is terminated with reason startuptimeout; the spawn's
// max_idle_seconds (no proxied request or open connection for that long) and
// lifetime_limit_seconds sweep it (reason swept), both counted from the
// spawn as on Plane, so that a backend slow to start can be swept before it
// is ready. A backend that cannot start (its runner fails, or its
// resource_limits are ones Plane's drone cannot read: a negative cpu_period
// or cpu_time_limit, a cpu_period_percent outside 0-255) ends terminated
// with no reason and no kind, as on Plane: exit_error false on Plane's
// surface, absent on the Jamsocket surface, as the official dev server
// shows it. A terminated backend's status stays readable for
// Config.RetainTerminated.
//
// Process backends (Config.Command) get a clean environment: what a Plane
// drone gives a container, PORT (a free port), SESSION_BACKEND_ID,
// SESSION_BACKEND_KEY, SESSION_BACKEND_FENCING_TOKEN,
// SESSION_BACKEND_STATIC_TOKEN (static tokens only), JAMSOCKET_SERVICE
// (Jamsocket surface only) and the connect's executable.env, over only the
// variables of the plane's own environment that DefaultPassEnv and
// Config.PassEnv name. A spawn runs code as the plane's user, so a connect
// whose executable.env names a variable that loads code (LD_PRELOAD,
// NODE_OPTIONS, BASH_ENV, PATH, ... the README has the list) is refused
// with a 400 naming it. PORT is never one another live backend holds; a
// backend that dies because another program bound its port first
// ("address already in use") starts again on another, 3 starts at most. They run in their own process group, which is killed
// as a whole. If the plane's process dies without Close (kill -9), Linux
// kills each backend process (a parent-death signal) and a guard process
// kills their groups; elsewhere on Unix the guard alone does; Windows has
// neither, and leaves them running. Their stdout and
// stderr lines feed the logs stream and Config.BackendOutput; a backend
// keeps its latest 1,000 lines and 1 MiB, a line over 64 KiB cut there. On Linux,
// resource_limits become rlimits (RLIMIT_AS, RLIMIT_CPU, RLIMIT_FSIZE);
// elsewhere they are logged and ignored.
//
// Handler backends (Config.Handler) are served on their own loopback
// listener each; Backend tells the handler who it is. Terminating one shuts
// its server down.
//
// Container backends (Config.Container) are made as Plane's drone makes
// them: the same variables with PORT=8080 inside, port 8080 published on
// 127.0.0.1, memory_limit_bytes as the memory limit, cpu_period and
// cpu_period_percent as the CFS period and quota (range-checked first: a
// spawn outside them fails to start), cpu_time_limit as the cpu ulimit,
// disk_limit_bytes as the size storage option where the storage driver
// allows one (else logged), executable.mount as a bind mount of a directory
// directly in ContainerConfig.MountBase (one per escaped key, in a base
// only the developer may write) at /plane-data. Ready means the
// published port answers HTTP. A soft terminate stops the container with
// Config.GracePeriod, a hard one kills it; its exit code becomes exit_error
// and it is removed once it has ended. Its output feeds the logs stream and
// Config.BackendOutput, and the metrics stream reads the engine's stats.
// Every container carries labels naming its server (LabelOwner and
// friends); Start removes the containers of servers it can prove gone
// (after a kill -9), never those of a server in another PID namespace
// sharing the engine, and Close removes every container
// the server started. While Config.Builder holds spawns (its Image answers
// an error: building, or the last build failed), or a container plane has
// no image yet, a connect that would spawn
// answers 503, code NotReadyToSpawn (Plane's surface: 500, kind
// NoDroneAvailable, as Plane answers when it has no drone).
//
// # Warm pools
//
// With Config.WarmPool set to N (Command and Container planes), the plane
// keeps N backends started before any connect asks for one, each with a
// unix socket of its own that listens before the backend starts: a process
// finds its path in JAMSOCKET_CONTROL_SOCKET (a reserved name: a connect's
// executable.env cannot set it), a container at
// /jamsocket-control/jamsocket-sdk.sock (a host directory of its own,
// bind-mounted), where the official @jamsocket/session-backend looks. A warm
// backend starts with no id, key or env: only PORT (and, for a process, the
// pass-through part of the plane's environment). It counts as warm once it
// sends {"message":"Warmed"} (package sessionbackend does, in Assignment).
// A connect that would spawn takes the oldest warm backend: the lifecycle
// sends it one assignment line (its backend id, key, fencing token, static
// token, and as env the connect's executable.env and JAMSOCKET_SERVICE,
// so that, merged, the backend sees what a cold start's environment holds)
// and the backend is ready when it sends {"message":"Ready"}, with no HTTP
// probe. The statuses are a cold spawn's, in order (scheduled, loading,
// starting, waiting, ready), the connect's backend_id is the assignment's,
// and the pool refills in the background, one backend at a time. The rules:
//
//   - A warm backend is no backend of the plane until it is taken: it is
//     in no list, not swept, and counts against no bound; Server.WarmPool,
//     Config.OnWarmPool, the console and the dev table count the pool
//     (size, warming, ready).
//   - Concurrent connects each take a different warm backend, and no
//     backend is assigned twice: a backend leaves the pool under its lock.
//     Connects that find none ready start cold.
//   - A spawn with resource_limits (any field set) or executable.mount
//     starts cold, since a warm backend was started without them. Every
//     other field of a spawn (id, key, tag, static token, executable.env,
//     idle and lifetime limits, the image Plane's connect names, which the
//     local plane ignores anyway) is served warm.
//   - A backend that does not say Warmed within Config.StartupTimeout of
//     its start is killed and never counted warm; after 3 in a row end so
//     (or fail to start, or exit first), the pool stops warming, says so
//     once in the log ("warm pool off: …"), and connects start cold. A
//     connection that closes before the assignment (the backend gave up
//     waiting) makes it warming again; it may connect and say Warmed anew.
//   - A warm backend that dies or is killed before it is taken is replaced.
//   - While spawns are held (Config.Builder is building, or its last build
//     failed) the pool starts nothing and keeps what it has; once the
//     Builder names a new image, every warm backend not taken is killed
//     and the pool warms the new image (a pool that had stopped warming
//     tries again). A spawn never takes a backend of an older image.
//   - A taken backend that does not say Ready within Config.StartupTimeout
//     of its assignment is hard-terminated with reason startuptimeout, as
//     a cold one is.
//   - Close kills the warm backends with the others, and a kill -9 of the
//     plane's process leaves none: warm processes are started like the
//     others (their process group, the parent-death signal and the guard),
//     and warm containers carry the same owner labels (removed by the next
//     Start). Their containers are named jamsocket-local-warm-{random} and
//     keep an empty LabelBackend once assigned.
//
// # The proxy listener
//
// A connection URL is ProxyURL + "/{token}/". The proxy forwards
// /{token}/rest?q to the backend as /rest?q, HTTP and WebSocket, with
// x-verified-username, x-verified-user-data ("{}" without auth),
// x-verified-secret, x-verified-backend and x-verified-path set (inbound
// x-verified-* headers are dropped; a static token, as on Plane, sends no
// user data and an empty secret), and adds x-plane-backend-id and, unless
// the backend set its own, Plane's open CORS headers to the response. Every connect mints a fresh token and secret bound to its user
// and auth, which opens requests for Config.TokenTTL (an hour, as on Plane;
// open connections are not cut). A backend holds at most 1,024 unexpired
// tokens carrying 1 MiB of user and auth together; a connect beyond either
// answers 503 (a live token is never dropped). Unknown or expired tokens and terminating or
// terminated backends get 410 Gone; requests that arrive before ready wait up to
// Config.ProxyWaitTimeout. The proxy's own answers (400, 410, 502, 504)
// carry the same CORS headers, so that a page on another origin can read
// them.
//
// # Shutting down
//
// Close hard-terminates every backend, waits for every process group (and
// container) to be gone and closes the listeners, the streams and the proxied connections.
// Tokens and secrets are never logged.
//
// # Inside: the seams
//
// A request reads downward through four layers, each in files named after
// it, and nothing below calls back up:
//
//   - HTTP surfaces that only translate: api_jamsocket.go (Jamsocket v2),
//     api_plane.go (Plane's controller), api_account.go and api_services.go
//     (the account and service endpoints), proxy.go (the proxy listener),
//     behind browser.go's guard and api.go's routes. Each is a small type
//     holding what it needs; errors.go holds the one table from the core's
//     errors to both surfaces' statuses.
//   - The core (core.go, registry.go, lifecycle.go) owns backends, keys,
//     tokens and their lifecycles. One goroutine per backend (lifecycle.go)
//     is the only writer of its state; a backend record (backend.go) knows
//     nothing above it. core.admit is the one place a spawn asks whether
//     it may proceed, under the registry's lock (spawns.go's gate: the
//     Builder, the runner's image), and lifecycle.startProc the one place
//     it asks the warm pool (pool.go) for a running backend.
//   - A runner (runner.go's interface; runner_process.go, runner_handler.go,
//     runner_container.go) starts a plain runSpec and returns what it
//     started (port, pid, image, sampler). What only some runners can do
//     (mounts, an image it may not have yet, refused env, warm starts) is
//     an optional interface in runner.go.
//   - The OS layer: internal/osproc for processes, the Docker client for
//     containers.
package localplane
