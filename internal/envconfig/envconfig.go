// Package envconfig parses a deployable's configuration from environment variables into a
// struct, once, at start-up. Fields carry `env:"NAME"` tags; `required:"true"` marks a value
// that must be set and `default:"v"` supplies one. Keys lists the names a struct reads, so tests
// can check that infrastructure sets exactly the variables the code reads.
package envconfig

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Getenv looks a variable up; os.Getenv fits, and tests pass a map's lookup.
type Getenv func(string) string

// MapEnv adapts a map to Getenv.
func MapEnv(m map[string]string) Getenv { return func(k string) string { return m[k] } }

// Load fills the struct that dst points to. Supported field kinds: string, bool, int, int64,
// float64, time.Duration and []string (comma-separated, blanks dropped). Nested structs without
// an env tag are walked. Every problem is reported, each naming its variable.
func Load(dst any, getenv Getenv) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("envconfig: Load needs a pointer to a struct, got %T", dst)
	}
	var errs []error
	load(v.Elem(), getenv, &errs)
	return errors.Join(errs...)
}

func load(v reflect.Value, getenv Getenv, errs *[]error) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, ok := f.Tag.Lookup("env")
		if !ok {
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]() {
				load(v.Field(i), getenv, errs)
			}
			continue
		}
		raw := strings.TrimSpace(getenv(name))
		if raw == "" {
			raw = f.Tag.Get("default")
		}
		if raw == "" {
			if f.Tag.Get("required") == "true" {
				*errs = append(*errs, fmt.Errorf("%s is required but not set", name))
			}
			continue
		}
		if err := set(v.Field(i), raw); err != nil {
			*errs = append(*errs, fmt.Errorf("%s=%q: %w", name, raw, err))
		}
	}
}

func set(fv reflect.Value, raw string) error {
	switch fv.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return err
		}
		fv.SetInt(int64(d))
		return nil
	case []string:
		var out []string
		for _, p := range strings.Split(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		fv.Set(reflect.ValueOf(out))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("not a boolean")
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return errors.New("not an integer")
		}
		fv.SetInt(n)
	case reflect.Float64:
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return errors.New("not a number")
		}
		fv.SetFloat(x)
	default:
		return fmt.Errorf("unsupported field type %s", fv.Type())
	}
	return nil
}

// Key describes one variable a config struct reads.
type Key struct {
	Name     string
	Required bool
	Default  string
}

// Keys lists the variables the struct type of cfg reads, in field order.
func Keys(cfg any) []Key {
	t := reflect.TypeOf(cfg)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []Key
	keys(t, &out)
	return out
}

func keys(t reflect.Type, out *[]Key) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, ok := f.Tag.Lookup("env")
		if !ok {
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]() {
				keys(f.Type, out)
			}
			continue
		}
		*out = append(*out, Key{Name: name, Required: f.Tag.Get("required") == "true", Default: f.Tag.Get("default")})
	}
}
