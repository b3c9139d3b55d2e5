package sessionbackend_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/jamsocket-go/jamsocket/sessionbackend"
)

// proxied is a request as the platform's proxy passes it on.
func proxied(headers map[string]string) *http.Request {
	r := httptest.NewRequest("GET", "/doc", nil)
	for name, value := range headers {
		r.Header.Set(name, value)
	}
	return r
}

type user struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
	Age   int      `json:"age"`
}

func TestIdentityOfReadsTheVerifiedHeaders(t *testing.T) {
	r := proxied(map[string]string{
		"x-verified-username": "ann", "x-verified-user-data": `{"name":"Ann","roles":["editor"]}`,
		"x-verified-secret": "sekret-token", "x-verified-backend": "b-1", "x-verified-path": "/tok123/doc",
	})
	id := sessionbackend.IdentityOf(r)
	assert.Equal(t, sessionbackend.Identity{
		User: "ann", UserData: json.RawMessage(`{"name":"Ann","roles":["editor"]}`), Secret: "sekret-token",
		BackendID: "b-1", Path: "/tok123/doc",
	}, id)

	// However it is printed or logged, the secret, the data and the path
	// (which holds the connection token) stay out.
	var logs strings.Builder
	newTextLogger(&logs).Info("request", "who", id)
	for _, shown := range []string{id.String(), fmt.Sprint(id), fmt.Sprintf("%+v", id), fmt.Sprintf("%#v", id), logs.String()} {
		assert.Contains(t, shown, "ann")
		for _, secret := range []string{"sekret", "editor", "tok123"} {
			assert.NotContains(t, shown, secret)
		}
	}

	got, err := sessionbackend.UserData[user](r)
	require.NoError(t, err)
	assert.Equal(t, user{Name: "Ann", Roles: []string{"editor"}}, got)
}

func TestUserDataErrors(t *testing.T) {
	_, err := sessionbackend.UserData[user](proxied(nil))
	require.ErrorIs(t, err, sessionbackend.ErrNoUserData, "a static token's requests carry none")

	for data, says := range map[string]string{
		`{"name": sekret}`:              "not JSON (error at byte 10)",
		`{"name":"Ann","age":"sekret"}`: `field "age" is a JSON string, not int`,
		`["sekret"]`:                    "is a JSON array, not sessionbackend_test.user",
	} {
		r := proxied(map[string]string{"x-verified-user-data": data, "x-verified-secret": "sekret-token"})
		got, err := sessionbackend.UserData[user](r)
		var ude *sessionbackend.UserDataError
		require.ErrorAs(t, err, &ude, data)
		assert.Equal(t, "sessionbackend_test.user", ude.Type)
		assert.Contains(t, err.Error(), says)
		assert.NotContains(t, err.Error(), "sekret", "neither the data nor the secret")
		assert.Zero(t, got, "no half-decoded value")
	}

	// The empty auth the proxy sends when the connect had none.
	got, err := sessionbackend.UserData[user](proxied(map[string]string{"x-verified-user-data": "{}"}))
	require.NoError(t, err)
	assert.Zero(t, got)
}
