package jamsocket

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clearEnv empties every variable FromEnv reads, for this test only.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, v := range []string{EnvAccount, EnvToken, EnvService, EnvAPIURL, EnvDev, EnvDevPort, EnvEnvironment,
		EnvPlaneURL, EnvPlaneToken, EnvPlaneImage, EnvPlaneCluster, EnvPlanePool, EnvPlaneNamespace} {
		t.Setenv(v, "")
	}
}

func TestFromEnv(t *testing.T) {
	t.Run("hosted", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvAccount, "acme")
		t.Setenv(EnvToken, testToken)
		t.Setenv(EnvService, "editor")
		c, err := FromEnv()
		require.NoError(t, err)
		assert.Equal(t, DefaultAPIURL, c.APIURL())
		assert.Equal(t, "acme", c.driver.(*jamsocketDriver).cfg.Account)
		assert.Equal(t, "editor", c.driver.(*jamsocketDriver).cfg.Service)
		assert.Equal(t, testToken, callerOf(t, c).token)
	})
	t.Run("hosted with API URL and environment", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvAccount, "acme")
		t.Setenv(EnvToken, testToken)
		t.Setenv(EnvService, "editor")
		t.Setenv(EnvAPIURL, "https://api.staging.example")
		t.Setenv(EnvEnvironment, "staging")
		t.Setenv(EnvDev, "false")
		c, err := FromEnv()
		require.NoError(t, err)
		assert.Equal(t, "https://api.staging.example", c.APIURL())
		assert.Equal(t, "staging", c.driver.(*jamsocketDriver).cfg.Environment)
	})
	t.Run("every missing variable is named", func(t *testing.T) {
		clearEnv(t)
		_, err := FromEnv()
		require.Error(t, err)
		for _, v := range []string{EnvAccount, EnvToken, EnvService} {
			assert.Contains(t, err.Error(), v)
		}
		t.Setenv(EnvToken, testToken)
		_, err = FromEnv()
		require.Error(t, err)
		assert.Contains(t, err.Error(), EnvAccount)
		assert.Contains(t, err.Error(), EnvService)
		assert.NotContains(t, err.Error(), EnvToken+",")
		assert.NotContains(t, err.Error(), testToken)
	})
	t.Run("dev mode", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvDev, "true")
		c, err := FromEnv()
		require.NoError(t, err)
		assert.Equal(t, "http://localhost:8080", c.APIURL())
		t.Setenv(EnvDevPort, "9123")
		c, err = FromEnv()
		require.NoError(t, err)
		assert.Equal(t, "http://localhost:9123", c.APIURL())
		assert.Equal(t, "-", c.driver.(devDriver).cfg.Account)
	})
	t.Run("dev mode errors", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvDev, "maybe")
		_, err := FromEnv()
		require.ErrorContains(t, err, EnvDev)
		t.Setenv(EnvDev, "1")
		t.Setenv(EnvDevPort, "eighty")
		_, err = FromEnv()
		require.ErrorContains(t, err, EnvDevPort)
		t.Setenv(EnvDevPort, "123456")
		_, err = FromEnv()
		require.Error(t, err)
	})
	t.Run("plane", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvPlaneURL, "http://127.0.0.1:8080")
		t.Setenv(EnvPlaneImage, "ghcr.io/acme/editor:v1")
		t.Setenv(EnvPlaneToken, testToken)
		t.Setenv(EnvPlaneCluster, "localhost:9090")
		t.Setenv(EnvPlanePool, "gpu")
		t.Setenv(EnvPlaneNamespace, "editor")
		// Plane wins even when the hosted variables are set too.
		t.Setenv(EnvAccount, "acme")
		c, err := FromEnv()
		require.NoError(t, err)
		require.IsType(t, &planeDriver{}, c.driver)
		assert.Equal(t, "http://127.0.0.1:8080", c.APIURL())
		assert.Equal(t, PlaneConfig{ControllerURL: "http://127.0.0.1:8080", Token: testToken,
			Executable: PlaneExecutable{Image: "ghcr.io/acme/editor:v1"}, Cluster: "localhost:9090", Pool: "gpu", Namespace: "editor"}, c.driver.(*planeDriver).cfg)
		assert.Equal(t, testToken, callerOf(t, c).token)
	})
	t.Run("plane missing image", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvPlaneURL, "http://127.0.0.1:8080")
		_, err := FromEnv()
		require.ErrorContains(t, err, EnvPlaneImage)
		_, err = PlaneConfigFromEnv()
		require.ErrorContains(t, err, EnvPlaneImage)
		assert.NotContains(t, err.Error(), EnvPlaneURL)
	})
	t.Run("options apply", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvAccount, "acme")
		t.Setenv(EnvToken, testToken)
		t.Setenv(EnvService, "editor")
		t.Setenv(EnvAPIURL, "http://api.internal")
		_, err := FromEnv()
		require.Error(t, err, "token over plain http to a remote host")
		_, err = FromEnv(WithInsecureHTTP())
		require.NoError(t, err)
	})
}

func TestParseEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	t.Run("plane and dev together is an error naming both", func(t *testing.T) {
		_, err := ParseEnv(env(map[string]string{EnvPlaneURL: "http://127.0.0.1:1", EnvPlaneImage: "x", EnvDev: "true"}))
		require.Error(t, err)
		assert.Contains(t, err.Error(), EnvPlaneURL)
		assert.Contains(t, err.Error(), EnvDev)
	})
	t.Run("plane with dev false is plane", func(t *testing.T) {
		e, err := ParseEnv(env(map[string]string{EnvPlaneURL: "http://127.0.0.1:1", EnvPlaneImage: "x", EnvDev: "false"}))
		require.NoError(t, err)
		require.NotNil(t, e.Plane)
		assert.Equal(t, "x", e.Plane.Executable.Image)
	})
	t.Run("missing hosted variables are not ParseEnv's error", func(t *testing.T) {
		e, err := ParseEnv(env(map[string]string{EnvAccount: "acme", EnvAPIURL: "https://api.example"}))
		require.NoError(t, err)
		assert.Equal(t, Config{Account: "acme", APIURL: "https://api.example"}, e.Config)
		assert.Nil(t, e.Plane)
	})
	t.Run("dev ignores the API URL", func(t *testing.T) {
		e, err := ParseEnv(env(map[string]string{EnvDev: "1", EnvDevPort: "9000", EnvAPIURL: "https://api.example"}))
		require.NoError(t, err)
		assert.Equal(t, Config{Dev: true, DevPort: 9000}, e.Config)
	})
}
