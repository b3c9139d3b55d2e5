package main

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDevWarnsOfAllowOriginStar: --allow-origin '*' opens the API and the
// console to every web page the developer opens. It is documented, and now
// also said when the dev server starts; a listed origin is not warned of.
func TestDevWarnsOfAllowOriginStar(t *testing.T) {
	backend := "'" + os.Args[0] + "' " + devBackendArg
	warning := regexp.MustCompile(`^\[plane\] level=WARN msg="allow-origin \\"\*\\": every web page open in your browser can `)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		says string // "" for no warning
	}{
		{"any origin", nil, []string{"--allow-origin", "*"}, "use this API and its console as you can: spawn and terminate backends"},
		{"any origin, with a token", map[string]string{"JAMSOCKET_DEV_TOKEN": "dev.token-for-origins"}, []string{"--allow-origin", "*"},
			"send requests to this API and read the answers; only the token keeps them out"},
		{"a listed origin", nil, []string{"--allow-origin", "http://myapp.test:3000"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDevEnv(t, tc.env, append(tc.args, "--cmd", backend)...)
			d.wait(`^  API:   http://`) // the banner comes once the server has started
			require.Equal(t, 0, d.stop(), d.stderr.String())
			var warned []string
			for _, line := range d.seen {
				if warning.MatchString(line) {
					warned = append(warned, line)
				}
			}
			if tc.says == "" {
				assert.Empty(t, warned)
				return
			}
			require.Len(t, warned, 1, "one warning, in the dev log")
			assert.Contains(t, warned[0], tc.says)
		})
	}
}
