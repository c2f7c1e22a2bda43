package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestEnvironmentDocumented: every variable a process reads (the envconfig names of its
// configuration) is in docs/contract.md's table.
func TestEnvironmentDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/contract.md")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			if name := f.Tag.Get("envconfig"); name != "" {
				names = append(names, name)
			} else if f.Type.Kind() == reflect.Struct {
				walk(f.Type)
			}
		}
	}
	for _, c := range []any{Worker{}, Webhook{}, Starter{}, Simulator{}, CodecServer{}} {
		walk(reflect.TypeOf(c))
	}
	if len(names) < 30 {
		t.Fatalf("only %d variables found", len(names))
	}
	for _, n := range names {
		if !strings.Contains(string(doc), "`"+n+"`") {
			t.Errorf("%s is read by a process but not in docs/contract.md", n)
		}
	}
}
