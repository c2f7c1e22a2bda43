package workflows_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/capturekit/alipay-capture/workflows"
)

// TestContractDocumented: every name workflows/contract.go gives to something that crosses a
// process boundary (its exported string constants: types, ids, signals, queries, updates,
// search attributes, memo keys, error types, states, codes, metrics and labels) and every JSON
// field of the inputs, requests, replies and status appears in docs/contract.md.
func TestContractDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/contract.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := func(name string) bool {
		return strings.Contains(string(doc), "`"+name+"`") || strings.Contains(string(doc), `"`+name+`"`)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "contract.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !name.IsExported() || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				consts++
				if !documented(v) {
					t.Errorf("workflows.%s = %q is not in docs/contract.md", name.Name, v)
				}
			}
		}
	}
	if consts < 40 {
		t.Errorf("only %d string constants found in contract.go", consts)
	}
	for _, typ := range []any{workflows.CaptureInput{}, workflows.CaptureRequest{}, workflows.CaptureReply{}, workflows.CaptureRecord{}, workflows.Status{}, workflows.Policy{}} {
		rt := reflect.TypeOf(typ)
		for i := range rt.NumField() {
			tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			if !documented(tag) {
				t.Errorf("JSON field %s.%s (%q) is not in docs/contract.md", rt.Name(), rt.Field(i).Name, tag)
			}
		}
	}
}
