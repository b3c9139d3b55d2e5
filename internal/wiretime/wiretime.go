// Package wiretime holds the time codecs of the Jamsocket and Plane wire:
// ISO-8601 strings (Jamsocket) and epoch milliseconds (Plane). Package types
// decodes its users' values with them, and the request path and the local
// plane encode their bodies with them; no user holds one.
package wiretime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// ISOLayout is the layout of times on Jamsocket's wire, that of
// JavaScript's Date.toISOString.
const ISOLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is a time that decodes from an ISO-8601 string or from a number of
// milliseconds since the Unix epoch, and encodes as an ISO-8601 string in UTC
// with millisecond precision. Null or absent decodes to the zero time.
type Time time.Time

// UnmarshalJSON accepts a string or a number.
func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*t = Time{}
		return nil
	case b[0] == '"':
		// The decoder hands over a valid JSON string; only one with
		// escapes needs unquoting.
		s := string(b[1 : len(b)-1])
		if bytes.IndexByte(b, '\\') >= 0 {
			if err := json.Unmarshal(b, &s); err != nil {
				return err
			}
		}
		parsed, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("time %q is not ISO-8601: %w", s, err)
		}
		if err := checkYear(parsed); err != nil {
			return err
		}
		*t = Time(parsed)
		return nil
	default:
		ms, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return fmt.Errorf("time %.40s is neither a string nor epoch milliseconds", b)
		}
		// Beyond ±2^62 ms the conversion to int64 is undefined; checkYear
		// refuses far less than that anyway.
		if ms > 1<<62 || ms < -(1<<62) {
			return fmt.Errorf("time %.40s is out of range", b)
		}
		parsed := time.UnixMilli(int64(ms)).UTC()
		if err := checkYear(parsed); err != nil {
			return err
		}
		*t = Time(parsed)
		return nil
	}
}

// checkYear refuses a time that MarshalJSON could not write back as
// ISO-8601: its year in UTC must have four digits.
func checkYear(t time.Time) error {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("time %s is out of range (years 0000 to 9999)", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// MarshalJSON encodes the time as an ISO-8601 string in UTC.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format(ISOLayout))
}

// EpochMillis is a time that encodes as milliseconds since the Unix epoch, the
// form Plane writes. It decodes from either form, like Time.
type EpochMillis time.Time

// MarshalJSON encodes the time as an integer of milliseconds.
func (t EpochMillis) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, time.Time(t).UnixMilli(), 10), nil
}

// UnmarshalJSON accepts a string or a number.
func (t *EpochMillis) UnmarshalJSON(b []byte) error {
	return (*Time)(t).UnmarshalJSON(b)
}
