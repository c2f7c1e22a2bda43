package temporaltest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestPortsAreClaimedOnce: a port claimed by one test process is not another's until its claim
// is stale, and FreeAddr hands out claimed ports only.
func TestPortsAreClaimedOnce(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	const p = 20001
	if !claimPort(p) {
		t.Fatal("a port nobody claimed is refused")
	}
	if claimPort(p) {
		t.Fatal("a port claimed a moment ago is claimed again")
	}
	path := filepath.Join(os.TempDir(), "alipay-capture-ports", strconv.Itoa(p))
	old := time.Now().Add(-portClaim - time.Minute)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if !claimPort(p) {
		t.Fatal("a stale claim is not taken over")
	}
	if claimPort(p) {
		t.Fatal("a port taken over a moment ago is claimed again")
	}
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	port := addr[len("127.0.0.1:"):]
	if _, err := os.Stat(filepath.Join(os.TempDir(), "alipay-capture-ports", port)); err != nil {
		t.Errorf("FreeAddr returned %s without claiming it: %v", addr, err)
	}
}
