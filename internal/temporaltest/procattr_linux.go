package temporaltest

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the server killed when the process that started it dies (a test binary
// that panics or times out), so that no server outlives its test.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
