package e2e_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestLocalStackDemo runs the README's "try it" command (go run ./localstack) in its --once mode
// on free ports: everything starts, and every demo capture ends as its path says; then the same
// demo on the PostgreSQL-backed server (--postgres). Two merchant accounts run side by side.
func TestLocalStackDemo(t *testing.T) {
	for name, mode := range map[string][]string{"dev server": nil, "--postgres": {"--postgres"}} {
		t.Run(name, func(t *testing.T) {
			port := func() string { a := freeAddr(t); return a[strings.LastIndex(a, ":")+1:] }
			args := append([]string{"run", "../localstack", "--once", "--dir", t.TempDir(),
				"--temporal-port", port(), "--ui-port", port(),
				"--simulator", freeAddr(t), "--webhook", freeAddr(t), "--worker-metrics", freeAddr(t)}, mode...)
			out, err := exec.Command("go", args...).CombinedOutput()
			if err != nil {
				t.Fatalf("localstack --once %v: %v\n%s", mode, err, tail(string(out), 6000))
			}
			// The S and F answers race Antom's notification of them: either may resolve the capture.
			for _, want := range []string{`S: captured at once +CAPTURED +resolved by (response|notification)`, `F: refused \(RISK_REJECT\) +FAILED +resolved by (response|notification)`,
				`U then notifyCapture +CAPTURED +resolved by notification`, `U then inquiryPayment +CAPTURED +resolved by inquiry`,
				`EXPIRED +resolved by deadline`, `UNRESOLVED +resolved by timeout`,
				`split shipment: 40 % then the rest +CAPTURED +resolved by (response|notification)`,
				`authorized, never shipped: voided +CANCELLED +resolved by deadline`,
				`shipment racing authorize: one capture +CAPTURED`,
				`second account \(europe\): S +CAPTURED +resolved by (response|notification)`,
				`second account: U then notifyCapture +CAPTURED +resolved by notification`} {
				if !regexp.MustCompile(want).MatchString(string(out)) {
					t.Errorf("output lacks %q", want)
				}
			}
			if n := strings.Count(string(out), "(as expected)"); n != 11 {
				t.Errorf("%d demo captures as expected, want 11\n%s", n, tail(string(out), 3000))
			}
			if len(mode) > 0 && !strings.Contains(string(out), "temporal-server on PostgreSQL") {
				t.Errorf("--postgres did not start temporal-server on PostgreSQL:\n%s", tail(string(out), 3000))
			}
		})
	}
}
