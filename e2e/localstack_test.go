package e2e_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// TestLocalStackDemo runs the README's "try it" command (go run ./localstack) in its --once mode
// on free ports: everything starts, and every demo capture ends as its path says.
func TestLocalStackDemo(t *testing.T) {
	port := func() string { a := freeAddr(t); return a[strings.LastIndex(a, ":")+1:] }
	cmd := exec.Command("go", "run", "../localstack", "--once", "--dir", t.TempDir(),
		"--temporal-port", port(), "--ui-port", port(),
		"--simulator", freeAddr(t), "--webhook", freeAddr(t), "--worker-metrics", freeAddr(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("localstack --once: %v\n%s", err, tail(string(out), 6000))
	}
	for _, want := range []string{"CAPTURED  resolved by response", "FAILED    resolved by response", "resolved by notification",
		"resolved by inquiry", "EXPIRED   resolved by deadline"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := strings.Count(string(out), "(as expected)"); n != 5 {
		t.Errorf("%d demo captures as expected, want 5\n%s", n, fmt.Sprint(tail(string(out), 3000)))
	}
}
