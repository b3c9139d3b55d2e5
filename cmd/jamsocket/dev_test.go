package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket"
	"github.com/jamsocket-go/jamsocket/localplane"
	"github.com/jamsocket-go/jamsocket/sessionbackend"
	"github.com/jamsocket-go/jamsocket/types"
)

// runDevTestBackend is the session backend the dev tests run: the test
// binary, re-executed with devBackendArg. It prints its pid and arguments on
// stdout and a line on stderr, then answers every request on $PORT with
// "hello from {id}" until SIGTERM.
//
// With the argument "grandchild" it first starts a child of its own (the
// test binary again, with "sleep") and prints "grandchild pid=N"; with
// "sleep" it only waits to be killed. With "warm" it is written with package
// sessionbackend (it joins a warm pool) and, when $DEVTEST_PIDS names a
// directory, writes a file named after its pid there first.
func runDevTestBackend() int {
	if slices.Contains(os.Args[2:], "warm") {
		return runWarmDevTestBackend()
	}
	id := os.Getenv("SESSION_BACKEND_ID")
	if slices.Contains(os.Args[2:], "sleep") {
		select {}
	}
	if slices.Contains(os.Args[2:], "grandchild") {
		child := exec.Command(os.Args[0], devBackendArg, "sleep")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("grandchild pid=%d\n", child.Process.Pid)
	}
	fmt.Printf("dev test backend pid=%d args=%q\n", os.Getpid(), os.Args[2:])
	fmt.Fprintln(os.Stderr, "a line on stderr")
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello from "+id)
	})}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	srv.Serve(ln)
	return 0
}

// runWarmDevTestBackend is runDevTestBackend's "warm" mode.
func runWarmDevTestBackend() int {
	if dir := os.Getenv("DEVTEST_PIDS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	ctx := context.Background()
	sb := sessionbackend.New()
	sb.Host = "127.0.0.1"
	ln, err := sb.Listen(ctx)
	if err == nil {
		var a *sessionbackend.Assignment
		if a, err = sb.Assignment(ctx); err == nil {
			fmt.Printf("dev test backend pid=%d warm\n", os.Getpid())
			if err = a.Ready(); err == nil {
				err = sb.Serve(ctx, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					fmt.Fprint(w, "hello from "+a.BackendID)
				}))
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// devRun is `jamsocket dev` running in the background, in-process, with its
// stdout read line by line through a pipe.
type devRun struct {
	t      *testing.T
	cancel context.CancelFunc
	lines  chan string // stdout, closed once run has returned
	seen   []string    // every line read so far
	done   chan int    // run's exit status
	stderr bytes.Buffer
	code   int
	exited bool
}

// startDev runs `jamsocket dev` on free ports with more args.
func startDev(t *testing.T, more ...string) *devRun { return startDevEnv(t, nil, more...) }

// startDevEnv is startDev with the environment env.
func startDevEnv(t *testing.T, env map[string]string, more ...string) *devRun {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	d := &devRun{t: t, cancel: cancel, lines: make(chan string, 1024), done: make(chan int, 1)}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			d.lines <- sc.Text()
		}
		pr.CloseWithError(sc.Err())
		close(d.lines)
	}()
	args := append([]string{"dev", "--api-addr", "127.0.0.1:0", "--proxy-addr", "127.0.0.1:0"}, more...)
	go func() {
		code := run(ctx, args, pw, &d.stderr, func(k string) string { return env[k] })
		pw.Close()
		d.done <- code
	}()
	t.Cleanup(func() { d.stop() })
	return d
}

// stop cancels run's context (what SIGINT does), reads the rest of stdout
// and returns the exit status.
func (d *devRun) stop() int {
	if d.exited {
		return d.code
	}
	d.cancel()
	for line := range d.lines {
		d.seen = append(d.seen, line)
	}
	d.code, d.exited = <-d.done, true
	return d.code
}

// wait returns the submatches of the first stdout line matching pattern,
// reading more lines until one does.
func (d *devRun) wait(pattern string) []string {
	d.t.Helper()
	re := regexp.MustCompile(pattern)
	for _, l := range d.seen {
		if m := re.FindStringSubmatch(l); m != nil {
			return m
		}
	}
	// A guard against a hang, not a synchronisation: lines arrive or run
	// ends.
	guard := time.NewTimer(60 * time.Second)
	defer guard.Stop()
	for {
		select {
		case l, ok := <-d.lines:
			if !ok {
				d.t.Fatalf("no line matches %q in:\n%s\nstderr: %s", pattern, strings.Join(d.seen, "\n"), d.stderrText())
			}
			d.seen = append(d.seen, l)
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-guard.C:
			d.t.Fatalf("timed out waiting for %q in:\n%s", pattern, strings.Join(d.seen, "\n"))
		}
	}
}

func (d *devRun) stderrText() string {
	if !d.exited {
		return "(still running)"
	}
	return d.stderr.String()
}

// TestDev runs `jamsocket dev --cmd …` with the test binary as the backend,
// spawns through the SDK in dev mode, and checks the plain log: the banner,
// the backend's prefixed output and one line per status change; then stops
// it as SIGINT would and checks that the backend process is gone and nothing
// listens any more.
func TestDev(t *testing.T) {
	d := startDev(t, "--cmd", "'"+os.Args[0]+"' "+devBackendArg+` --flag "two words"`)
	apiPort := d.wait(`^  API:   http://127\.0\.0\.1:(\d+)$`)[1]
	proxyAddr := d.wait(`^  proxy: http://(127\.0\.0\.1:\d+)$`)[1]
	d.wait(`^Point your app at it with JAMSOCKET_DEV=true JAMSOCKET_DEV_PORT=` + apiPort + `$`)

	port, err := strconv.Atoi(apiPort)
	require.NoError(t, err)
	client, err := jamsocket.New(jamsocket.Config{Dev: true, DevPort: port})
	require.NoError(t, err)
	ctx := t.Context()
	resp, err := client.Spawn(ctx, &jamsocket.ConnectRequest{Key: "doc-1"})
	require.NoError(t, err)
	id := resp.BackendID
	_, err = client.WaitReady(ctx, id)
	require.NoError(t, err)

	pid, err := strconv.Atoi(d.wait(`^\[` + id + `\] dev test backend pid=(\d+) args=\["--flag" "two words"\]$`)[1])
	require.NoError(t, err)
	d.wait(`^\[` + id + ` stderr\] a line on stderr$`)
	for _, s := range []types.BackendStatus{types.StatusScheduled, types.StatusLoading, types.StatusStarting, types.StatusReady} {
		d.wait(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\S* ` + id + ` ` + string(s) + ` doc-1$`)
	}

	// The proxy listens where the banner says, and reaches the backend.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, resp.URL, nil)
	require.NoError(t, err)
	httpResp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(httpResp.Body)
	httpResp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "hello from "+id, string(body))
	assert.Contains(t, resp.URL, proxyAddr)
	http.DefaultClient.CloseIdleConnections()

	require.Equal(t, 0, d.stop(), d.stderr.String())
	assert.Empty(t, d.stderr.String())
	d.wait(`^\S+ ` + id + ` terminated doc-1 \(external\)$`)
	assert.Equal(t, "jamsocket dev: stopped", d.seen[len(d.seen)-1])

	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "the backend process is gone")
	for _, addr := range []string{"127.0.0.1:" + apiPort, proxyAddr} {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections", addr)
		}
	}
}

// TestDevJSON runs `jamsocket dev --json -- command args`: every line of
// stdout is a JSON event.
func TestDevJSON(t *testing.T) {
	d := startDev(t, "--json", "--idle", "0", "--", os.Args[0], devBackendArg)
	var listening devEvent
	require.NoError(t, json.Unmarshal([]byte(d.wait(`^\{"type":"listening".*`)[0]), &listening))
	assert.Equal(t, "true", listening.Env["JAMSOCKET_DEV"])
	port, err := strconv.Atoi(listening.Env["JAMSOCKET_DEV_PORT"])
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("http://127.0.0.1:%d", port), listening.APIURL)

	client, err := jamsocket.New(jamsocket.Config{Dev: true, DevPort: port})
	require.NoError(t, err)
	resp, err := client.Spawn(t.Context(), nil)
	require.NoError(t, err)
	_, err = client.WaitReady(t.Context(), resp.BackendID)
	require.NoError(t, err)
	d.wait(`^\{"type":"status".*"backend_id":"` + resp.BackendID + `","status":"ready"`)
	d.wait(`^\{"type":"output".*"backend_id":"` + resp.BackendID + `","stream":"stdout","line":"dev test backend pid=`)

	require.Equal(t, 0, d.stop(), d.stderr.String())
	var types []string
	for _, l := range d.seen {
		var e devEvent
		require.NoError(t, json.Unmarshal([]byte(l), &e), l)
		types = append(types, e.Type)
		if e.Type == "status" && e.Status == "terminated" {
			assert.Equal(t, resp.BackendID, e.BackendID)
		}
	}
	assert.Equal(t, "stopped", types[len(types)-1])
	assert.Contains(t, types, "stopping")
}

// TestDevUsage checks that a missing or doubled backend command, and a bad
// one, are usage errors, and that a port in use is an error naming it.
func TestDevUsage(t *testing.T) {
	r := cli(t, map[string]string{}, "dev", "--cmd", "/nonexistent/backend")
	assert.Contains(t, r.stderr, "/nonexistent/backend: no such file or directory", "fails at start, naming the command")
	for _, args := range [][]string{
		{"dev"},
		{"dev", "--cmd", "./x", "--", "./y"},
		{"dev", "--cmd", "./x 'oops"},
		{"dev", "--cmd", "  "},
		{"dev", "--cmd", "./x", "--idle", "-1"},
		{"dev", "--cmd", "/nonexistent/backend"},
	} {
		r := cli(t, map[string]string{}, args...)
		assert.Equal(t, exitUsage, r.code, "%q: %s", args, r.stderr)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	r = cli(t, map[string]string{}, "dev", "--api-addr", ln.Addr().String(), "--proxy-addr", "127.0.0.1:0", "--", os.Args[0], devBackendArg)
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "address already in use")
	assert.Contains(t, r.stderr, "--api-addr")
}

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		"./my-backend --flag":           {"./my-backend", "--flag"},
		"  a\t b  ":                     {"a", "b"},
		`a 'b c' "d e"`:                 {"a", "b c", "d e"},
		`a 'it'\''s' "say \"hi\" \n"`:   {"a", "it's", `say "hi" \n`},
		`a\ b c\\d`:                     {"a b", `c\d`},
		`x"y"'z' ''`:                    {"xyz", ""},
		`node server.js --port="$PORT"`: {"node", "server.js", "--port=$PORT"},
		"":                              nil,
	} {
		got, err := splitCommand(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{`a 'b`, `a "b`, `"a\"`} {
		_, err := splitCommand(in)
		assert.Error(t, err, in)
	}
	// quoteCommand is read back by splitCommand.
	argv := []string{"./b", "two words", "it's", "", `a"b`}
	got, err := splitCommand(quoteCommand(argv))
	require.NoError(t, err)
	assert.Equal(t, argv, got)
}

func TestDevBackendCommand(t *testing.T) {
	got, err := devBackendCommand("", false, []string{"./b", "--flag"})
	require.NoError(t, err)
	assert.Equal(t, []string{"./b", "--flag"}, got)
	got, err = devBackendCommand(`./b "x y"`, true, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"./b", "x y"}, got)
	var u *usageError
	_, err = devBackendCommand("./b", true, []string{"./c"})
	assert.True(t, errors.As(err, &u))
}

// tableRows are three backends, 5s, 2m and 1h old at tableNow.
var (
	tableNow  = time.Date(2024, 8, 21, 17, 0, 0, 0, time.UTC)
	tableRows = []localplane.BackendView{
		{ID: "oldterminated1", Key: "doc-old", Status: types.StatusTerminated, TerminationReason: types.ReasonSwept,
			Terminated: true, CreatedAt: tableNow.Add(-time.Hour - 2*time.Minute)},
		{ID: "readybackend12", Key: "doc-1", Status: types.StatusReady, CreatedAt: tableNow.Add(-2*time.Minute - 3*time.Second)},
		{ID: "newbackend1234", Key: "lk-" + strings.Repeat("k", 60), Status: types.StatusWaiting, CreatedAt: tableNow.Add(-5 * time.Second)},
	}
)

func TestRenderTable(t *testing.T) {
	got := strings.Join(renderTable(tableRows, tableNow, 100, 20), "\n")
	want := strings.Join([]string{
		"── backends: 2 live, 1 terminated ─────────────────────────────────────────────────────────────────",
		"ID              STATUS              KEY                                         AGE",
		"oldterminated1  terminated (swept)  doc-old                                   1h02m",
		"readybackend12  ready               doc-1                                     2m03s",
		"newbackend1234  waiting             lk-kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk…     5s",
	}, "\n")
	assert.Equal(t, want, got)

	// Too many rows: the terminated one is left out first, then the oldest
	// live one; narrow: lines are cut.
	got = strings.Join(renderTable(tableRows, tableNow, 40, 4), "\n")
	want = strings.Join([]string{
		"── backends: 2 live, 1 terminated ─────",
		"ID              STATUS   KEY           ",
		"newbackend1234  waiting  lk-kkkkkkkkkkk",
		"… 2 more not shown",
	}, "\n")
	assert.Equal(t, want, got)
	for _, l := range renderTable(tableRows, tableNow, 40, 4) {
		assert.Less(t, len([]rune(l)), 40)
	}

	assert.Equal(t, []string{"── no backends yet ─────"}, renderTable(nil, tableNow, 25, 10))
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 0: "0s", 59 * time.Second: "59s", 61 * time.Second: "1m01s",
		time.Hour + 59*time.Second: "1h00m", 50 * time.Hour: "2d02h",
	} {
		assert.Equal(t, want, formatAge(d), d)
	}
}

// TestTableView checks the terminal drawing: a log line erases the table
// (cursor up over it, clear to the end of the screen), is printed, and the
// table is drawn again below it.
func TestTableView(t *testing.T) {
	var buf bytes.Buffer
	v := newTableView(&buf, func() int { return 100 }, func() int { return 40 })
	v.now = func() time.Time { return tableNow }
	v.print("banner")
	assert.Equal(t, "banner\n── no backends yet "+strings.Repeat("─", 80)+"\n", buf.String())

	buf.Reset()
	v.rows = tableRows
	v.output("readybackend12", "stderr", "oops")
	table := strings.Join(renderTable(tableRows, tableNow, 100, 20), "\n") + "\n"
	assert.Equal(t, "\r\x1b[1A\x1b[J[readybackend12 stderr] oops\n"+table, buf.String())

	buf.Reset()
	v.print("next")
	assert.Equal(t, "\r\x1b[5A\x1b[Jnext\n"+table, buf.String())

	// change never blocks, however many arrive before a redraw.
	for range 10 {
		v.change(tableRows[0])
	}
}

func TestStatusLine(t *testing.T) {
	at := time.Date(2024, 8, 21, 17, 21, 15, 123e6, time.UTC)
	assert.Equal(t, "2024-08-21T17:21:15.123Z b1 ready doc-1",
		statusLine(at, localplane.BackendView{ID: "b1", Key: "doc-1", Status: types.StatusReady}))
	assert.Equal(t, "2024-08-21T17:21:15.123Z b1 terminated doc-1 (startuptimeout)",
		statusLine(at, localplane.BackendView{ID: "b1", Key: "doc-1", Status: types.StatusTerminated,
			TerminationReason: types.ReasonStartupTimeout, Terminated: true}))
	assert.Equal(t, "2024-08-21T17:21:15.123Z b1 forgotten doc-1 (swept)",
		statusLine(at, localplane.BackendView{ID: "b1", Key: "doc-1", Status: types.StatusTerminated,
			TerminationReason: types.ReasonSwept, Terminated: true, Forgotten: true}))
}

func TestDevBanner(t *testing.T) {
	info := devBanner("http://127.0.0.1:8080", "http://127.0.0.1:9090", []string{"./b"}, false)
	assert.Equal(t, map[string]string{"JAMSOCKET_DEV": "true"}, info.Env, "no port on the default one")
	assert.Contains(t, info.Lines, "Point your app at it with JAMSOCKET_DEV=true")
	assert.Contains(t, info.Lines, "Watch and act on the backends in a browser: http://127.0.0.1:8080/")

	// With a token, the SDK's dev mode (which sends none) cannot be used.
	info = devBanner("http://127.0.0.1:8081", "http://127.0.0.1:9090", []string{"./b"}, true)
	assert.Equal(t, "http://127.0.0.1:8081", info.Env["JAMSOCKET_API_URL"])
	assert.NotContains(t, info.Env, "JAMSOCKET_DEV")
	assert.Contains(t, info.Lines[3], "JAMSOCKET_TOKEN=<the dev server's token>")
}

// The dev server's token comes from --token-file or $JAMSOCKET_DEV_TOKEN,
// so that it need not be on the command line; never from $JAMSOCKET_TOKEN.
func TestDevToken(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte("from-file\n"), 0o600))
	for name, tc := range map[string]struct {
		env   map[string]string
		args  []string
		token string
	}{
		"file":        {env: map[string]string{envDevToken: "from-env"}, args: []string{"--token-file", file}, token: "from-file"},
		"environment": {env: map[string]string{envDevToken: "from-env", "JAMSOCKET_TOKEN": "hosted"}, token: "from-env"},
		"none":        {env: map[string]string{"JAMSOCKET_TOKEN": "hosted"}},
	} {
		t.Run(name, func(t *testing.T) {
			args := append(tc.args, "--json", "--", os.Args[0], devBackendArg)
			d := startDevEnv(t, tc.env, args...)
			var listening devEvent
			require.NoError(t, json.Unmarshal([]byte(d.wait(`^.*"type":"listening".*$`)[0]), &listening))
			connect := func(token string) int {
				req, err := http.NewRequest(http.MethodPost, listening.APIURL+"/v2/service/-/-/connect", strings.NewReader("{}"))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/json")
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				return resp.StatusCode
			}
			if tc.token == "" {
				assert.Equal(t, http.StatusOK, connect(""), "no token: open, like the official dev server")
			} else {
				assert.Equal(t, http.StatusUnauthorized, connect(""))
				assert.Equal(t, http.StatusUnauthorized, connect("hosted"))
				assert.Equal(t, http.StatusOK, connect(tc.token))
			}
			http.DefaultClient.CloseIdleConnections()
		})
	}
}

// The real dev server, in its plain log: a key that tries to forge a status
// line or clear the screen is shown escaped; a page from another site cannot
// spawn unless --allow-origin names it.
func TestDevRefusesWhatPagesAndKeysTry(t *testing.T) {
	d := startDev(t, "--allow-origin", "http://app.example:3000", "--", os.Args[0], devBackendArg)
	apiURL := d.wait(`^  API:   (http://127\.0\.0\.1:\d+)$`)[1]
	connect := func(origin, body string) int {
		req, err := http.NewRequest(http.MethodPost, apiURL+"/v2/service/-/-/connect", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusForbidden, connect("http://evil.example", `{"key":"a"}`))
	assert.Equal(t, http.StatusOK, connect("http://app.example:3000", `{"key":"b"}`))
	assert.Equal(t, http.StatusOK, connect("", `{"key":"k\n2024-01-01T00:00:00.000Z forged ready admin\u001b[2J"}`))
	line := d.wait(`^\S+ \S+ scheduled k\\n2024-01-01T00:00:00\.000Z forged ready admin\\x1b\[2J$`)[0]
	assert.NotContains(t, line, "\x1b")
	http.DefaultClient.CloseIdleConnections()
	require.Equal(t, 0, d.stop(), d.stderr.String())
	for _, l := range d.seen {
		assert.False(t, strings.HasPrefix(l, "2024-01-01"), "no forged line: %q", l)
		assert.NotContains(t, l, "\x1b[2J")
	}
}

// devEvents reads the JSON lines of `jamsocket dev --json`: the function it
// returns gives the next event that match accepts, and fails the test when
// the output ends first, with stderr (if not nil) in the message.
func devEvents(t *testing.T, stdout io.Reader, stderr *bytes.Buffer) func(match func(devEvent) bool) devEvent {
	events := bufio.NewScanner(stdout)
	return func(match func(devEvent) bool) devEvent {
		t.Helper()
		for events.Scan() {
			var e devEvent
			require.NoError(t, json.Unmarshal(events.Bytes(), &e), events.Text())
			if match(e) {
				return e
			}
		}
		if stderr != nil {
			t.Fatalf("the dev server's output ended; stderr: %s", stderr.String())
		}
		t.Fatal("the dev server's output ended")
		return devEvent{}
	}
}
