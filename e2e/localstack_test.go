package e2e_test

import (
	"fmt"
	"os/exec"
	"regexp"
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
	// The S and F answers race Antom's notification of them: either may resolve the capture.
	for _, want := range []string{`S: captured at once +CAPTURED +resolved by (response|notification)`, `F: refused \(RISK_REJECT\) +FAILED +resolved by (response|notification)`,
		`U then notifyCapture +CAPTURED +resolved by notification`, `U then inquiryPayment +CAPTURED +resolved by inquiry`,
		`EXPIRED +resolved by deadline`, `UNRESOLVED +resolved by timeout`} {
		if !regexp.MustCompile(want).MatchString(string(out)) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := strings.Count(string(out), "(as expected)"); n != 6 {
		t.Errorf("%d demo captures as expected, want 6\n%s", n, fmt.Sprint(tail(string(out), 3000)))
	}
}
