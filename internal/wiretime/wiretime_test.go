package wiretime

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimeDecodesBothFormsAndEncodesISO(t *testing.T) {
	want := time.Date(2024, 11, 4, 20, 42, 21, 123e6, time.UTC)
	for _, in := range []string{`"2024-11-04T20:42:21.123Z"`, `"2024-11-04T21:42:21.123+01:00"`, `1730752941123`, ` "2024-11-04T20:42:21.123\u005a" `} {
		var got Time
		require.NoError(t, json.Unmarshal([]byte(in), &got), in)
		assert.True(t, want.Equal(time.Time(got)), in)
		out, err := json.Marshal(got)
		require.NoError(t, err)
		assert.Equal(t, `"2024-11-04T20:42:21.123Z"`, string(out))
	}
	var null Time
	require.NoError(t, json.Unmarshal([]byte(`null`), &null))
	assert.True(t, time.Time(null).IsZero())
	for _, bad := range []string{`"yesterday"`, `true`, `{}`, `1e300`, `"10000-01-01T00:00:00Z"`, `253402300800000`} {
		var got Time
		assert.Error(t, json.Unmarshal([]byte(bad), &got), bad)
	}
}

func TestEpochMillis(t *testing.T) {
	at := EpochMillis(time.UnixMilli(1730752941123))
	out, err := json.Marshal(at)
	require.NoError(t, err)
	assert.Equal(t, `1730752941123`, string(out))
	var back EpochMillis
	require.NoError(t, json.Unmarshal([]byte(`"2024-11-04T20:42:21.123Z"`), &back), "either form decodes")
	assert.Equal(t, int64(1730752941123), time.Time(back).UnixMilli())
}
